"""Everything before step 1: rewards resolved, data validated with the real processor before the
weights load, the judge probed (or the failure policy explicit), and the one-screen summary."""

import dataclasses
import socket

import pytest

import perceptrl.train.run as run_mod
from perceptrl.errors import PerceptrlError
from perceptrl.models import load_vlm
from perceptrl.synth import generate
from perceptrl.train import load_train_config, train

BASE = ["trl.max_steps=1", "trl.per_device_train_batch_size=2", "trl.num_generations=2",
        "trl.max_completion_length=4", "trl.use_cpu=true", "trl.report_to=none", "trl.save_strategy=no",
        "rewards.workers=0", "judge.cache_path=null"]


def _cfg(tmp_path, *extra):
    return load_train_config(None, BASE + [f"trl.output_dir={tmp_path / 'out'}", *extra])


def _no_model_load(monkeypatch):
    def fail(*a, **k):
        raise AssertionError("the model was loaded before the error")

    monkeypatch.setattr(run_mod, "load_model", fail)


def test_bad_rows_are_all_listed_before_the_weights_load(tiny_qwen25vl_dir, tmp_path, monkeypatch):
    examples = generate(4, seed=0)
    examples[1] = dataclasses.replace(examples[1], problem=examples[1].problem + " <image> <image>")
    examples[3] = dataclasses.replace(examples[3], answer="")
    _no_model_load(monkeypatch)
    cfg = _cfg(tmp_path, f"model.name_or_path={tiny_qwen25vl_dir}")
    with pytest.raises(PerceptrlError) as e:
        train(cfg, train_examples=examples)
    text = str(e.value)
    assert examples[1].id in text and examples[3].id in text


def test_unknown_reward_fails_before_anything_loads(tmp_path, monkeypatch):
    _no_model_load(monkeypatch)
    cfg = _cfg(tmp_path, "model.name_or_path=/nonexistent", "rewards.terms=[{name: acuracy, weight: 1.0}]")
    with pytest.raises(PerceptrlError, match="acuracy"):
        train(cfg, train_examples=generate(2, seed=0))


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_unreachable_judge_stops_the_run_unless_the_policy_is_explicit(tiny_qwen25vl_dir, tmp_path):
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    judge = ["judge.backend=openai", f"judge.base_url={url}", "judge.model=m", "judge.max_retries=0",
             "judge.timeout=2"]
    model, processor = load_vlm(str(tiny_qwen25vl_dir), dtype="float32")
    with pytest.raises(PerceptrlError, match="judge") as e:
        train(_cfg(tmp_path, *judge), train_examples=generate(2, seed=0), model=model, processor=processor)
    assert "failure_policy" in (e.value.fix or "")
    result = train(_cfg(tmp_path, *judge, "judge.failure_policy=neutral"), train_examples=generate(2, seed=0),
                   model=model, processor=processor)
    logged = result.log_history[0]
    assert logged["reward_runner/judge/failed_samples"] == 2  # counted, and training went on


def test_summary_is_printed_before_step_one(tiny_qwen25vl_dir, tmp_path, capsys):
    model, processor = load_vlm(str(tiny_qwen25vl_dir), dtype="float32")
    result = train(_cfg(tmp_path, "method.name=papo"), train_examples=generate(4, seed=0), model=model,
                   processor=processor)
    out = capsys.readouterr().out
    for key in ["model", "parameters", "rows", "rewards", "judge", "method", "effective batch", "expected steps"]:
        assert key in result.summary and key in out
    assert result.summary["rows"] == 4 and result.summary["expected steps"] == 1
    assert "accuracy×0.9" in result.summary["rewards"] and "perception×0.7" in result.summary["rewards"]
    assert "papo" in result.summary["method"] and "p=0.6" in result.summary["method"]
    assert "2 rollouts = 1 prompts × 2" in result.summary["effective batch"]
