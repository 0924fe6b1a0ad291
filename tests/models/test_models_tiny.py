"""Tiny VLM builder: build, save, reload through the Auto classes, generate, cache."""

from __future__ import annotations

import threading
import time

import pytest
import torch
from PIL import Image
from transformers import AutoModelForImageTextToText, AutoProcessor

from perceptrl.errors import PerceptrlError
from perceptrl.models import QwenVLImageOnlyProcessor, build_tiny_vlm, tiny_model_dir
from perceptrl.models.sizes import TinyVLMSize

ARCHS = ["qwen2_5_vl", "qwen2_vl"]


def _chat(image: Image.Image) -> list[dict]:
    return [
        {
            "role": "user",
            "content": [
                {"type": "image", "image": image},
                {"type": "text", "text": "How many circles are in the image?"},
            ],
        }
    ]


@pytest.mark.parametrize("arch", ARCHS)
def test_build_save_reload_generate_under_5s(arch, tmp_path):
    """The issue's bar: build, save, reload via Auto classes, generate from image + text, < 5 s."""
    t0 = time.perf_counter()
    model, processor = build_tiny_vlm(arch, out_dir=tmp_path)
    t_build = time.perf_counter() - t0

    t0 = time.perf_counter()
    proc2 = AutoProcessor.from_pretrained(tmp_path)
    model2 = AutoModelForImageTextToText.from_pretrained(tmp_path)
    t_load = time.perf_counter() - t0

    t0 = time.perf_counter()
    inputs = proc2.apply_chat_template(
        _chat(Image.new("RGB", (200, 150), "red")),
        add_generation_prompt=True,
        tokenize=True,
        return_dict=True,
        return_tensors="pt",
    )
    out = model2.generate(**inputs, max_new_tokens=32, min_new_tokens=32, do_sample=False)
    t_gen = time.perf_counter() - t0

    total = t_build + t_load + t_gen
    print(f"{arch}: build+save {t_build:.2f}s, reload {t_load:.2f}s, generate 32 tokens {t_gen:.2f}s")
    assert total < 5.0, f"{arch}: build {t_build:.2f}s + reload {t_load:.2f}s + generate {t_gen:.2f}s >= 5 s"

    assert type(proc2) is QwenVLImageOnlyProcessor
    assert model2.config.model_type == arch
    assert out.shape[1] == inputs["input_ids"].shape[1] + 32
    # Same weights after the round trip.
    for (name, p1), (_, p2) in zip(model.state_dict().items(), model2.state_dict().items(), strict=True):
        assert torch.equal(p1, p2), name
    # A few M parameters (the default size).
    n = sum(p.numel() for p in model.parameters())
    assert 0.5e6 < n < 5e6, n
    # The vision placeholders are never generated (they would break the next forward pass).
    vision_ids = {model.config.image_token_id, model.config.video_token_id}
    assert not vision_ids & set(out[0, inputs["input_ids"].shape[1] :].tolist())


@pytest.mark.parametrize("arch", ARCHS)
def test_forward_with_labels_after_generate(arch, tiny_qwen25vl_dir, tiny_qwen2vl_dir):
    """TRL generates, then runs a training forward over prompt+completion with labels: the M-RoPE
    positions (rope_deltas cached by generate) must be recomputed for the new batch."""
    path = tiny_qwen25vl_dir if arch == "qwen2_5_vl" else tiny_qwen2vl_dir
    model = AutoModelForImageTextToText.from_pretrained(path)
    proc = AutoProcessor.from_pretrained(path)
    convs = [
        [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "Count the shapes."}]}],
        [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "Compare"}, {"type": "image"}]}],
    ]
    images = [[Image.new("RGB", (200, 150), "red")], [Image.new("RGB", (60, 300), "blue"), Image.new("L", (90, 90))]]
    texts = [proc.apply_chat_template(c, add_generation_prompt=True, tokenize=False) for c in convs]
    inp = proc(text=texts, images=images, return_tensors="pt", padding=True)
    with torch.no_grad():
        out = model.generate(**inp, max_new_tokens=8, min_new_tokens=8, do_sample=True)
    completion = out[:, inp["input_ids"].shape[1] :]
    ids = torch.cat([inp["input_ids"], completion], 1)
    mask = torch.cat([inp["attention_mask"], torch.ones_like(completion)], 1)
    mm = torch.cat([inp["mm_token_type_ids"], torch.zeros_like(completion)], 1)
    labels = ids.masked_fill(mask == 0, -100)
    model.train()
    res = model(
        input_ids=ids,
        attention_mask=mask,
        mm_token_type_ids=mm,
        pixel_values=inp["pixel_values"],
        image_grid_thw=inp["image_grid_thw"],
        labels=labels,
    )
    # Random init: the loss is near ln(vocab), and gradients reach both towers.
    vocab = model.config.text_config.vocab_size
    assert abs(res.loss.item() - torch.log(torch.tensor(float(vocab))).item()) < 1.0
    res.loss.backward()
    grads = {n: p.grad for n, p in model.named_parameters()}
    assert any(g is not None and g.abs().sum() > 0 for n, g in grads.items() if "visual" in n)
    assert any(g is not None and g.abs().sum() > 0 for n, g in grads.items() if "language_model" in n)
    # Single-sample forward right after (batch size changed): no stale rope_deltas crash.
    n0 = int(inp["image_grid_thw"][0].prod())
    res1 = model(
        input_ids=ids[:1],
        attention_mask=mask[:1],
        mm_token_type_ids=mm[:1],
        pixel_values=inp["pixel_values"][:n0],
        image_grid_thw=inp["image_grid_thw"][:1],
        labels=labels[:1],
    )
    assert torch.isfinite(res1.loss)


def test_size_overrides_and_seed(tmp_path):
    m1, p1 = build_tiny_vlm("qwen2_vl", hidden_size=64, layers=1, heads=2, kv_heads=1, vision_layers=1, seed=1)
    m2, _ = build_tiny_vlm("qwen2_vl", hidden_size=64, layers=1, heads=2, kv_heads=1, vision_layers=1, seed=1)
    m3, _ = build_tiny_vlm("qwen2_vl", hidden_size=64, layers=1, heads=2, kv_heads=1, vision_layers=1, seed=2)
    assert m1.config.text_config.hidden_size == 64 and m1.config.text_config.num_hidden_layers == 1
    w = "model.language_model.layers.0.mlp.up_proj.weight"
    assert torch.equal(m1.state_dict()[w], m2.state_dict()[w])
    assert not torch.equal(m1.state_dict()[w], m3.state_dict()[w])
    # The vocabulary covers the special tokens the model config points at.
    cfg = m1.config
    tok = p1.tokenizer
    assert tok.convert_ids_to_tokens(cfg.image_token_id) == "<|image_pad|>"
    assert tok.convert_ids_to_tokens(cfg.vision_start_token_id) == "<|vision_start|>"
    assert cfg.text_config.vocab_size >= len(tok)


def test_build_does_not_touch_the_global_rng():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    build_tiny_vlm("qwen2_vl", hidden_size=32, heads=2, kv_heads=1, layers=1, seed=7)
    assert torch.equal(torch.rand(3), expected)


def test_extra_corpus_grows_vocabulary():
    _, base = build_tiny_vlm("qwen2_vl", hidden_size=32, heads=2, kv_heads=1, layers=1)
    extra = [f"the zorblax number {i} on the quuxian polygon" for i in range(200)]
    _, grown = build_tiny_vlm("qwen2_vl", hidden_size=32, heads=2, kv_heads=1, layers=1, extra_corpus=extra)
    assert len(grown.tokenizer.tokenize(" zorblax quuxian")) < len(base.tokenizer.tokenize(" zorblax quuxian"))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"arch": "llava"},
        {"arch": "qwen2_vl", "hidden_sise": 64},
        {"arch": "qwen2_vl", "hidden_size": 100},
        {"arch": "qwen2_vl", "heads": 4, "kv_heads": 3},
    ],
)
def test_bad_settings_raise_user_error(kwargs):
    with pytest.raises(PerceptrlError) as e:
        build_tiny_vlm(**kwargs)
    assert e.value.fix


def test_mrope_section_fills_half_head_dim():
    for hidden, heads in [(128, 4), (64, 2), (256, 4), (96, 2)]:
        s = TinyVLMSize(hidden_size=hidden, heads=heads, kv_heads=1)
        assert sum(s.mrope_section()) == hidden // heads // 2


def test_tiny_model_dir_caches_and_survives_a_race(tmp_path, monkeypatch):
    size = {"hidden_size": 32, "heads": 2, "kv_heads": 1, "layers": 1, "vision_layers": 1}
    results: list = []
    barrier = threading.Barrier(2)

    def worker():
        barrier.wait()
        results.append(tiny_model_dir("qwen2_vl", cache_root=tmp_path, **size))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 2 and results[0] == results[1]
    path = results[0]
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temp dirs left behind
    assert AutoProcessor.from_pretrained(path).tokenizer is not None

    # A second call returns the cached entry without building.
    def fail(*a, **k):
        raise AssertionError("rebuilt a cached model")

    monkeypatch.setattr("perceptrl.models.tiny.build_tiny_vlm", fail)
    assert tiny_model_dir("qwen2_vl", cache_root=tmp_path, **size) == path
    # Different settings or tokenizer corpus, different key.
    with pytest.raises(AssertionError):
        tiny_model_dir("qwen2_vl", cache_root=tmp_path, **{**size, "layers": 2})
    with pytest.raises(AssertionError):
        tiny_model_dir("qwen2_vl", cache_root=tmp_path, extra_corpus=["more text"], **size)
    with pytest.raises(PerceptrlError):
        tiny_model_dir("qwen2_vl", cache_root=tmp_path, depth=3)


def test_session_fixtures_point_at_the_two_archs(tiny_qwen25vl_dir, tiny_qwen2vl_dir):
    import json

    assert json.loads((tiny_qwen25vl_dir / "config.json").read_text())["model_type"] == "qwen2_5_vl"
    assert json.loads((tiny_qwen2vl_dir / "config.json").read_text())["model_type"] == "qwen2_vl"
