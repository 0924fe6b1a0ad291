"""Report arithmetic: steps-to-match, aggregation over seeds, McNemar on paired correctness, verdict."""

import json
from types import SimpleNamespace

import pytest

from perceptrl.demo.config import DemoConfig
from perceptrl.demo.report import steps_to_match, summarize, verdict, write_report


def _eval(step, correct, facts):
    return {"step": step, "accuracy": sum(correct) / len(correct), "perception": sum(facts) / len(facts),
            "format": 1.0, "correct": correct, "facts": facts, "samples": ["<think>\nx\n</think>"]}


def _run(tmp_path, b_correct):
    cfg = DemoConfig(seeds=2, grpo_steps=4, eval_every=2)
    warm, arms = {}, {}
    for s in (0, 1):
        warm[s] = {"eval": _eval(0, [0, 0, 0, 0], [0.0] * 4)}
        logs = [{"step": i, "reward": 0.1 * i, "rewards/accuracy/mean": 0.1 * i} for i in (1, 2, 3, 4)]
        arms[(s, "A")] = {"evals": [_eval(2, [1, 0, 0, 0], [0.5] * 4), _eval(4, [1, 1, 0, 0], [0.5] * 4)],
                          "log_history": logs}
        arms[(s, "B")] = {"evals": [_eval(2, [1, 1, 0, 0], [1.0] * 4), _eval(4, b_correct, [1.0] * 4)],
                          "log_history": logs}
    return SimpleNamespace(out_dir=tmp_path, cfg=cfg, warm=warm, arms=arms, seconds=12.0)


def test_steps_to_match():
    assert steps_to_match([(0, 0.1), (5, 0.3), (10, 0.5)], 0.3) == 5
    assert steps_to_match([(0, 0.1), (5, 0.2)], 0.3) is None


def test_summary_mcnemar_and_verdict(tmp_path):
    s = summarize(_run(tmp_path, [1, 1, 1, 1]))
    assert s["aggregate"]["A.accuracy"]["mean"] == pytest.approx(0.5)
    assert s["aggregate"]["B.accuracy"]["mean"] == pytest.approx(1.0)
    assert s["mcnemar"]["b_only"] == 4 and s["mcnemar"]["a_only"] == 0 and s["mcnemar"]["n"] == 8
    assert s["mcnemar"]["p"] == pytest.approx(0.125)
    assert [r["steps_to_match"] for r in s["per_seed"]] == [2, 2]
    v = verdict(s)
    assert "ahead but not significantly" in v and "p = 0.125" in v


def test_verdict_says_when_perception_loses(tmp_path):
    v = verdict(summarize(_run(tmp_path, [0, 0, 0, 0])))
    assert v.startswith("The perception reward did not win")


def test_write_report_files(tmp_path):
    path = write_report(_run(tmp_path, [1, 1, 1, 0]))
    text = path.read_text()
    data = json.loads((tmp_path / "results.json").read_text())
    assert data["verdict"] in text
    assert "75.0% ± 0.0%" in text  # arm B accuracy from the inputs
    for png in ("reward.png", "accuracy.png", "perception.png", "train_accuracy.png"):
        assert (tmp_path / png).stat().st_size > 1000
        assert f"]({png})" in text


def test_verdict_compares_with_the_warm_start(tmp_path):
    run = _run(tmp_path, [1, 1, 0, 0])
    assert "Both arms improved on the shared SFT warm start (0.0%)" in verdict(summarize(run))
    for s in (0, 1):
        run.warm[s]["eval"] = _eval(0, [1, 1, 0, 0], [0.0] * 4)
    v = verdict(summarize(run))
    assert "made no difference" in v and "arm A ended equal to it, arm B equal to it" in v
