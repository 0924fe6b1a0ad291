"""Pre-step checks that stop a run which would otherwise 'succeed' doing nothing: fewer rows than
one batch (TRL would train 0 steps and exit 0), a perception reward on rows without visual
annotations (it would score 0 for every sample); and a real downloaded layout (Geometry3K as in
InterGPS) training 2 steps."""

import dataclasses

import pytest

from real_layouts import build_geometry3k

import perceptrl.train.run as run_mod
from perceptrl.errors import PerceptrlError
from perceptrl.models import load_vlm
from perceptrl.synth import generate
from perceptrl.train import load_train_config, train

BASE = ["trl.per_device_train_batch_size=2", "trl.num_generations=2", "trl.max_completion_length=4",
        "trl.use_cpu=true", "trl.report_to=none", "trl.save_strategy=no", "rewards.workers=0", "judge.cache_path=null"]


class _Stop(Exception):
    pass


def _cfg(tmp_path, *extra):
    return load_train_config(None, BASE + [f"trl.output_dir={tmp_path / 'out'}", "model.name_or_path=/nonexistent", *extra])


def _stop_at_processor(monkeypatch):
    """Nothing expensive may run before these checks: reaching the processor load means they passed."""
    def stop(*a, **k):
        raise _Stop

    monkeypatch.setattr(run_mod, "load_processor_for", stop)
    monkeypatch.setattr(run_mod, "load_model", stop)


def test_fewer_rows_than_one_batch_is_refused_before_anything_loads(tmp_path, monkeypatch):
    _stop_at_processor(monkeypatch)
    cfg = _cfg(tmp_path, "trl.per_device_train_batch_size=4", "trl.max_steps=2")  # 4 rollouts = 2 prompts x 2
    with pytest.raises(PerceptrlError) as e:
        train(cfg, train_examples=generate(1, seed=0))
    assert "cannot fill one batch of 2 prompts" in str(e.value) and "0 steps" in str(e.value)
    assert "per_device_train_batch_size" in e.value.fix
    with pytest.raises(_Stop):  # two rows fill it
        train(cfg, train_examples=generate(2, seed=0))


def _unannotated(n):
    return [dataclasses.replace(ex, visual_annotations=[]) for ex in generate(n, seed=0)]


def test_perception_reward_on_unannotated_rows_stops_unless_allowed(tmp_path, monkeypatch):
    _stop_at_processor(monkeypatch)
    with pytest.raises(PerceptrlError) as e:
        train(_cfg(tmp_path), train_examples=_unannotated(2))  # the default preset has a perception term
    assert "none of the 2 training rows has visual annotations" in str(e.value)
    assert "rewards.allow_missing_annotations=true" in e.value.fix and "rewards.exclude=[perception]" in e.value.fix
    with pytest.raises(_Stop):
        train(_cfg(tmp_path, "rewards.allow_missing_annotations=true"), train_examples=_unannotated(2))
    with pytest.raises(_Stop):
        train(_cfg(tmp_path, "rewards.exclude=[perception]"), train_examples=_unannotated(2))


def test_geometry3k_as_released_trains_two_steps(tiny_qwen25vl_dir, tmp_path):
    base = build_geometry3k(tmp_path)
    model, processor = load_vlm(str(tiny_qwen25vl_dir), dtype="float32")
    cfg = load_train_config(None, BASE + [f"trl.output_dir={tmp_path / 'out'}", f"data.path={base}", "trl.max_steps=2",
                                          "rewards.exclude=[perception]"])
    result = train(cfg, model=model, processor=processor)  # data.path: auto-detected, split train
    assert result.summary["rows"] == 2
    assert result.trainer.state.global_step == 2
