"""load_vlm: Auto classes by path or id, dtype/attention options, LoRA, clear errors."""

from __future__ import annotations

import huggingface_hub.constants
import pytest
import torch
from peft import LoraConfig, PeftModel

from perceptrl.errors import PerceptrlError
from perceptrl.models import QwenVLImageOnlyProcessor, load_vlm


def _trainable(model) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


@pytest.mark.parametrize("fixture", ["tiny_qwen25vl_dir", "tiny_qwen2vl_dir"])
def test_load_local_dir(fixture, request):
    path = request.getfixturevalue(fixture)
    model, proc = load_vlm(path)
    assert isinstance(proc, QwenVLImageOnlyProcessor)
    assert model.dtype == torch.float32
    assert _trainable(model) == sum(p.numel() for p in model.parameters())


def test_dtype_attention_and_processor_options(tiny_qwen2vl_dir):
    model, proc = load_vlm(
        str(tiny_qwen2vl_dir),
        dtype="bfloat16",
        attn_implementation="eager",
        device_map="cpu",
        processor_kwargs={"max_pixels": 28 * 28 * 16, "padding_side": "right"},
    )
    assert model.dtype == torch.bfloat16
    assert model.config._attn_implementation == "eager"
    assert proc.image_processor.size.longest_edge == 28 * 28 * 16
    assert proc.tokenizer.padding_side == "right"
    with pytest.raises(PerceptrlError, match="unknown dtype"):
        load_vlm(tiny_qwen2vl_dir, dtype="float33")


@pytest.mark.parametrize("as_config", [False, True])
def test_lora_wraps_language_model_only(tiny_qwen25vl_dir, as_config):
    full, _ = load_vlm(tiny_qwen25vl_dir)
    lora = {"r": 4, "lora_alpha": 8}
    if as_config:
        lora = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM")
    model, _ = load_vlm(tiny_qwen25vl_dir, lora=lora)
    assert isinstance(model, PeftModel)
    names = [n for n, p in model.named_parameters() if p.requires_grad]
    assert names and all("lora_" in n for n in names)
    assert not any("visual" in n for n in names)  # the vision tower stays frozen
    assert 0 < _trainable(model) < _trainable(full) / 10
    if not as_config:  # the default targets: attention and MLP projections of every layer
        layers = full.config.text_config.num_hidden_layers
        assert len([n for n in names if "lora_A" in n]) == 7 * layers


def test_bad_lora_argument(tiny_qwen2vl_dir):
    with pytest.raises(PerceptrlError, match="LoRA"):
        load_vlm(tiny_qwen2vl_dir, lora={"rank": 4})
    with pytest.raises(PerceptrlError, match="LoRA") as e:
        load_vlm(tiny_qwen2vl_dir, lora={"target_modules": ["no_such_layer"]})
    assert "target_modules" in e.value.fix
    with pytest.raises(PerceptrlError, match="LoraConfig"):
        load_vlm(tiny_qwen2vl_dir, lora=4)


def test_missing_directory_names_path_and_fix(tmp_path):
    missing = tmp_path / "no" / "such-model"
    with pytest.raises(PerceptrlError) as e:
        load_vlm(missing)
    assert str(missing) in str(e.value) and "does not exist" in str(e.value) and "build-tiny" in e.value.fix
    (tmp_path / "model.safetensors").write_bytes(b"")
    with pytest.raises(PerceptrlError, match="is a file"):
        load_vlm(tmp_path / "model.safetensors")


def test_directory_without_config(tmp_path):
    (tmp_path / "weights.bin").write_bytes(b"")
    with pytest.raises(PerceptrlError, match="no config.json") as e:
        load_vlm(tmp_path)
    assert e.value.where == str(tmp_path)


def test_corrupt_config_and_missing_processor(tiny_qwen2vl_dir, tmp_path):
    import shutil

    for name in ("config.json", "model.safetensors", "generation_config.json"):
        shutil.copy(tiny_qwen2vl_dir / name, tmp_path / name)
    with pytest.raises(PerceptrlError, match="cannot load the processor") as e:
        load_vlm(tmp_path)
    assert "processor.save_pretrained" in e.value.fix
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(PerceptrlError, match="config") as e:
        load_vlm(tmp_path)
    assert e.value.where.endswith("config.json")


def test_unreachable_hub_id_offline(monkeypatch):
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(PerceptrlError) as e:
        load_vlm("perceptrl-test/no-such-model")
    assert e.value.where == "perceptrl-test/no-such-model"
    assert "local directory" in e.value.fix


def test_text_only_model_is_refused(tmp_path):
    from transformers import Qwen2Config, Qwen2ForCausalLM

    cfg = Qwen2Config(vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2)
    Qwen2ForCausalLM(cfg).save_pretrained(tmp_path)
    with pytest.raises(PerceptrlError, match="not an image-text-to-text model"):
        load_vlm(tmp_path)
