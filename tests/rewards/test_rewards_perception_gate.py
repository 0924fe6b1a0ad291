"""The perception gate (PEARL-style, configs/perception_gate.yaml): accuracy pays only when the
perception check passes. Scored by the real reward runner with the rules judge (hand-computed totals)
and with an openai judge on a loopback server that fails: a failed judgement must not open the gate."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from perceptrl.synth import generate
from perceptrl.train.config import load_train_config
from perceptrl.train.rewards_setup import build_rewards

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "judge"))
from loopback_judge import NEVER, LoopbackJudge  # noqa: E402

RECIPE = Path(__file__).resolve().parents[2] / "configs" / "perception_gate.yaml"


def _row():
    ex = next(e for e in generate(16, seed=5, kinds=("chart",), choice_share=0.0) if len(e.visual_annotations) >= 2)
    return ex.to_row()


def _response(facts: list[str], answer: str) -> str:
    return (f"<think>\nReading the chart: {', '.join(facts)}. So the answer follows.\n</think>\n"
            f"<answer>\n\\boxed{{{answer}}}\n</answer>")


def _setup(overrides: list[str]):
    return build_rewards(load_train_config(RECIPE, ["rewards.workers=0", "judge.cache_path=null", *overrides]))


def test_recipe_gates_accuracy_on_every_fact():
    cfg = load_train_config(RECIPE)
    terms = {t["name"]: t for t in cfg.rewards.terms}
    assert terms["accuracy"] == {"name": "accuracy", "weight": 0.9, "gate": "perception>=1.0"}
    assert terms["perception"]["weight"] == 0.7 and cfg.judge.failure_policy == "neutral"
    assert "gated on perception" in _setup(["judge.backend=rules"]).description


def test_gate_by_hand_with_the_rules_judge():
    row = _row()
    facts = list(row["visual_annotations"])
    some = facts[:1]
    setup = _setup(["judge.backend=rules"])
    with setup.runner as runner:
        batch = runner.score([_response(facts, row["answer"]), _response(some, row["answer"]),
                              _response(facts, "999")], [row] * 3)
    c = batch.components
    assert c["accuracy"] == [1.0, 1.0, 0.0]  # logged ungated
    r_v = c["perception"]
    assert r_v[0] == 1.0 and r_v[1] == pytest.approx(1 / len(facts)) and r_v[2] == 1.0
    fmt, rep = c["format"], c["repetition"]
    expected = [0.9 * 1.0 + 0.1 * fmt[0] + 0.7 * 1.0 + rep[0],   # every fact: the gate opens
                0.1 * fmt[1] + 0.7 * r_v[1] + rep[1],            # right answer, a fact missing: accuracy withheld
                0.1 * fmt[2] + 0.7 * 1.0 + rep[2]]               # every fact, wrong answer
    assert batch.total == pytest.approx(expected)
    assert batch.total[0] > batch.total[2] > batch.total[1]


def test_a_failed_judgement_never_opens_the_gate():
    row = _row()
    facts = list(row["visual_annotations"])
    with LoopbackJudge(lambda text: NEVER) as server:
        setup = _setup(["judge.backend=openai", f"judge.base_url={server.base_url}", "judge.model=loopback",
                        "judge.timeout=1.0", "judge.max_retries=0", "rewards.batch_budget=3.0"])
        with setup.runner as runner:
            batch = runner.score([_response(facts, row["answer"])] * 2, [row] * 2)
    c = batch.components
    assert c["accuracy"] == [1.0, 1.0]
    assert all(v is not None and v < 1.0 for v in c["perception"])  # neutral: the group's pessimistic mean
    for i in range(2):  # accuracy withheld: a failure pays less than the right answer's full reward
        assert batch.total[i] == pytest.approx(0.1 * c["format"][i] + 0.7 * c["perception"][i] + c["repetition"][i])
