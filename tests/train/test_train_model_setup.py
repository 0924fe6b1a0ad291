"""model_setup: the vision encoder freeze (encoder fixed, merger and language model trained through a real
GRPO step) and its clear error on a model without a vision encoder."""

import pytest
import torch

from perceptrl.errors import PerceptrlError
from perceptrl.models import load_vlm
from perceptrl.synth import generate
from perceptrl.train import load_train_config, train
from perceptrl.train.model_setup import maybe_freeze_vision, vision_encoder

BASE = ["trl.max_steps=1", "trl.per_device_train_batch_size=4", "trl.num_generations=4",
        "trl.max_completion_length=8", "trl.use_cpu=true", "trl.report_to=none", "trl.save_strategy=no",
        "trl.learning_rate=0.05", "trl.temperature=1.5", "rewards.workers=0", "judge.cache_path=null",
        "rewards.preset=null", 'rewards.terms=[{"name": "length_penalty", "weight": 1.0, "params": {"max_length": 4}}]']


def _cfg(tmp_path, *extra):
    return load_train_config(None, BASE + [f"trl.output_dir={tmp_path / 'out'}", *extra])


def text_length_mod_3(completions, **kw):
    """A reward that differs between rollouts of a random-init model (nonzero advantages, so a real step)."""
    return [float(len(c[0]["content"]) % 3) for c in completions]


def _snapshot(model):
    return {n: p.detach().clone() for n, p in model.named_parameters()}


def test_frozen_encoder_keeps_its_weights_while_the_merger_and_language_model_learn(tiny_qwen25vl_dir, tmp_path):
    model, processor = load_vlm(str(tiny_qwen25vl_dir), dtype="float32")
    before = _snapshot(model)
    result = train(_cfg(tmp_path, "model.freeze_vision_tower=true"), train_examples=generate(4, seed=0),
                   model=model, processor=processor, reward_funcs=[text_length_mod_3], reward_weights=[1.0])
    after = _snapshot(result.model)
    changed = {n for n in before if not torch.equal(before[n], after[n])}
    encoder = {n for n in before if ".visual." in f".{n}" and ".merger." not in n}
    assert encoder and not (changed & encoder)  # no encoder weight moved
    assert any(".merger." in n for n in changed) and any("language_model" in n for n in changed)
    total = sum(p.numel() for p in model.parameters())
    frozen = sum(before[n].numel() for n in encoder)
    assert f"{(total - frozen) / 1e6:.2f}M trainable" in result.summary["parameters"]


def test_without_the_option_nothing_is_frozen(tiny_qwen25vl_dir, tmp_path):
    model, _ = load_vlm(str(tiny_qwen25vl_dir), dtype="float32")
    assert maybe_freeze_vision(_cfg(tmp_path), model) == 0
    assert all(p.requires_grad for p in model.parameters())
    n = maybe_freeze_vision(_cfg(tmp_path, "model.freeze_vision_tower=true"), model)
    enc = vision_encoder(model)
    assert n == sum(p.numel() for name, p in enc.named_parameters() if not name.startswith("merger.")) > 0
    assert all(p.requires_grad for p in enc.merger.parameters())


def test_a_model_without_a_vision_encoder_is_a_clear_error(tmp_path):
    with pytest.raises(PerceptrlError) as e:
        maybe_freeze_vision(_cfg(tmp_path, "model.freeze_vision_tower=true"), torch.nn.Linear(2, 2))
    assert "no vision encoder" in e.value.render() and "freeze_vision_tower=false" in e.value.render()
