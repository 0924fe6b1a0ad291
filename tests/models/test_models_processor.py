"""The image-only Qwen2-VL-family processor: Auto round trip, token expansion, no torchvision, TRL."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys

import pytest
import torch
from PIL import Image
from transformers import AutoProcessor

from perceptrl.models import QwenVLImageOnlyProcessor, load_vlm
from perceptrl.models.loading import load_processor

CHAT = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "What is the red number?"}]}]


def test_torchvision_is_absent_and_never_imported(tiny_qwen25vl_dir):
    """The project's promise: everything here works without torchvision installed."""
    assert subprocess.run([sys.executable, "-c", "import torchvision"], capture_output=True).returncode != 0
    assert importlib.util.find_spec("torchvision") is None
    proc = AutoProcessor.from_pretrained(tiny_qwen25vl_dir)
    proc(text=[proc.apply_chat_template(CHAT, tokenize=False)], images=[Image.new("RGB", (64, 64))])
    assert "torchvision" not in sys.modules


def test_importing_perceptrl_models_is_enough_for_auto_processor(tiny_qwen2vl_dir):
    """In a fresh interpreter, ``import perceptrl.models`` alone registers the processor."""
    code = (
        "import sys, perceptrl.models\n"
        "from transformers import AutoProcessor\n"
        f"p = AutoProcessor.from_pretrained({str(tiny_qwen2vl_dir)!r})\n"
        "assert 'perceptrl.models.loading' not in sys.modules and 'torchvision' not in sys.modules\n"
        "print(type(p).__name__)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "QwenVLImageOnlyProcessor"


@pytest.mark.parametrize("fixture", ["tiny_qwen25vl_dir", "tiny_qwen2vl_dir"])
def test_auto_processor_round_trip(fixture, request, tmp_path):
    path = request.getfixturevalue(fixture)
    proc = AutoProcessor.from_pretrained(path)
    assert type(proc) is QwenVLImageOnlyProcessor
    assert type(proc.image_processor).__name__ == "Qwen2VLImageProcessorPil"
    assert not hasattr(proc, "video_processor")
    names = proc.model_input_names
    assert len(names) == len(set(names)) and {"pixel_values", "image_grid_thw", "mm_token_type_ids"} <= set(names)
    proc.save_pretrained(tmp_path)
    assert json.loads((tmp_path / "processor_config.json").read_text())["processor_class"] == type(proc).__name__
    again = AutoProcessor.from_pretrained(tmp_path)
    assert type(again) is QwenVLImageOnlyProcessor
    assert again.chat_template == proc.chat_template
    assert again.image_processor.size == proc.image_processor.size
    assert again.tokenizer.get_vocab() == proc.tokenizer.get_vocab()
    image = Image.new("RGB", (123, 77), "green")
    text = proc.apply_chat_template(CHAT, add_generation_prompt=True, tokenize=False)
    a = proc(text=[text], images=[image], return_tensors="pt")
    b = again(text=[text], images=[image], return_tensors="pt")
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_image_pad_expansion_matches_grid(tiny_qwen25vl_dir):
    proc = AutoProcessor.from_pretrained(tiny_qwen25vl_dir)
    text = proc.apply_chat_template(CHAT, add_generation_prompt=True, tokenize=False)
    assert text.count("<|image_pad|>") == 1
    assert text.endswith("<|im_start|>assistant\n")
    images = [Image.new("RGB", (200, 150)), Image.new("RGB", (30, 500)), Image.new("RGBA", (1000, 1000))]
    texts = [text, text.replace("<|image_pad|>", "<|image_pad|>x<|vision_start|><|image_pad|>")]
    out = proc(text=texts, images=[[images[0]], images[1:]], return_tensors="pt", padding=True)
    grid = out["image_grid_thw"]
    assert grid.shape == (3, 3)
    n_tokens = (grid.prod(-1) // 4).tolist()  # spatial merge 2x2
    pad_id = proc.image_token_id
    assert (out["input_ids"][0] == pad_id).sum() == n_tokens[0]
    assert (out["input_ids"][1] == pad_id).sum() == sum(n_tokens[1:])
    assert out["pixel_values"].shape[0] == int(grid.prod(-1).sum())
    assert torch.equal(out["mm_token_type_ids"].bool(), out["input_ids"] == pad_id)
    # Pixel bounds: every image is resized into [56*56, 224*224] pixels.
    pixels = (grid[:, 1] * grid[:, 2] * 14 * 14).tolist()
    assert all(56 * 56 <= p <= 224 * 224 for p in pixels), pixels
    # Left padding (batched generation), as TRL expects.
    assert proc.tokenizer.padding_side == "left"
    assert out["attention_mask"][0, 0] == 0 or out["attention_mask"][1, 0] == 0


def test_mismatched_images_and_videos_are_refused(tiny_qwen2vl_dir):
    proc = AutoProcessor.from_pretrained(tiny_qwen2vl_dir)
    text = proc.apply_chat_template(CHAT, tokenize=False)
    with pytest.raises(ValueError, match="same as the number of images"):
        proc(text=[text], images=[Image.new("RGB", (64, 64))] * 2)
    with pytest.raises(ValueError, match="images only"):
        proc(text=["hi"], videos=[[Image.new("RGB", (64, 64))] * 2])


def test_decode_keeps_reasoning_tags_and_drops_control_tokens(tiny_qwen25vl_dir):
    proc = AutoProcessor.from_pretrained(tiny_qwen25vl_dir)
    s = "<think> number on the red circle = 7 </think><answer>\\boxed{7}</answer><|im_end|>"
    ids = proc.tokenizer(s, return_tensors="pt")["input_ids"]
    assert proc.batch_decode(ids, skip_special_tokens=True) == [s.removesuffix("<|im_end|>")]
    assert proc.batch_decode(ids, skip_special_tokens=False) == [s]
    assert proc.tokenizer.eos_token == "<|im_end|>" and proc.tokenizer.pad_token == "<|endoftext|>"


def test_stock_qwen_checkpoint_layout_loads_without_torchvision(tiny_qwen25vl_dir, tmp_path):
    """A released Qwen2.5-VL repo names the stock processor (which needs torchvision for its video
    processor) and the torchvision image processor; load_vlm falls back to the image-only one."""
    ckpt = tmp_path / "stock"
    shutil.copytree(tiny_qwen25vl_dir, ckpt)
    image_cfg = json.loads((ckpt / "processor_config.json").read_text())["image_processor"]
    image_cfg.update(processor_class="Qwen2_5_VLProcessor", image_processor_type="Qwen2VLImageProcessor")
    (ckpt / "preprocessor_config.json").write_text(json.dumps(image_cfg))
    (ckpt / "processor_config.json").unlink()
    tok_cfg = json.loads((ckpt / "tokenizer_config.json").read_text())
    (ckpt / "tokenizer_config.json").write_text(json.dumps({**tok_cfg, "processor_class": "Qwen2_5_VLProcessor"}))

    with pytest.raises(ImportError, match="[Tt]orchvision"):
        AutoProcessor.from_pretrained(ckpt)  # what a user hits without perceptrl
    for proc in (load_processor(ckpt, model_type="qwen2_5_vl"), load_processor(ckpt)):
        assert type(proc) is QwenVLImageOnlyProcessor
    assert type(proc.image_processor).__name__ == "Qwen2VLImageProcessorPil"
    model, proc2 = load_vlm(ckpt)
    assert type(proc2) is QwenVLImageOnlyProcessor
    inputs = proc2.apply_chat_template(
        [
            {
                "role": "user",
                "content": [{"type": "image", "image": Image.new("RGB", (90, 90))}, {"type": "text", "text": "?"}],
            }
        ],
        add_generation_prompt=True,
        tokenize=True,
        return_dict=True,
        return_tensors="pt",
    )
    assert model.generate(**inputs, max_new_tokens=2, min_new_tokens=2).shape[1] == inputs["input_ids"].shape[1] + 2


def _vision_rows(n: int):
    import numpy as np

    rng = np.random.default_rng(0)
    return [
        {
            "prompt": [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": f"What is {i} + 1?"}]}],
            "image": Image.fromarray(rng.integers(0, 255, (56 + 14 * i, 84, 3), dtype=np.uint8)),
            "answer": str(i + 1),
        }
        for i in range(n)
    ]


def test_trl_grpo_trainer_builds_the_processor_and_trains(tiny_qwen2vl_dir, tmp_path):
    """GRPOTrainer given only the model path loads the processor with AutoProcessor (left padding,
    truncation side) and runs generation + a training step with images."""
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    def reward(completions, answer, **_):
        # Varies across a group even for an untrained model, so advantages (and the update) are non-zero.
        texts = [c[0]["content"] for c in completions]
        return [len(set(t)) + float(a in t) for t, a in zip(texts, answer, strict=True)]

    args = GRPOConfig(
        output_dir=str(tmp_path),
        max_steps=1,
        per_device_train_batch_size=4,
        num_generations=4,
        max_completion_length=8,
        learning_rate=1e-3,
        report_to=[],
        use_cpu=True,
        save_strategy="no",
        logging_steps=1,
    )
    trainer = GRPOTrainer(
        model=str(tiny_qwen2vl_dir), reward_funcs=reward, args=args, train_dataset=Dataset.from_list(_vision_rows(4))
    )
    assert type(trainer.processing_class) is QwenVLImageOnlyProcessor
    assert trainer.processing_class.tokenizer.padding_side == "left"
    before = {n: p.detach().clone() for n, p in trainer.model.named_parameters()}
    trainer.train()
    logs = trainer.state.log_history[0]
    assert logs["completions/mean_length"] > 0 and "rewards/reward/mean" in logs
    assert any(not torch.equal(before[n], p) for n, p in trainer.model.named_parameters())


def test_trl_sft_trainer_with_images(tiny_qwen25vl_dir, tmp_path):
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    model, proc = load_vlm(tiny_qwen25vl_dir)
    rows = [
        {
            "messages": r["prompt"]
            + [{"role": "assistant", "content": [{"type": "text", "text": f"<answer>{r['answer']}</answer>"}]}],
            "images": [r["image"]],
        }
        for r in _vision_rows(4)
    ]
    args = SFTConfig(
        output_dir=str(tmp_path),
        max_steps=4,
        per_device_train_batch_size=2,
        learning_rate=3e-3,
        report_to=[],
        use_cpu=True,
        save_strategy="no",
        logging_steps=1,
        max_length=None,
        assistant_only_loss=True,  # possible thanks to the template's {% generation %} markers
    )
    trainer = SFTTrainer(model=model, processing_class=proc, args=args, train_dataset=Dataset.from_list(rows))
    trainer.train()
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    assert len(losses) == 4 and losses[-1] < losses[0]
