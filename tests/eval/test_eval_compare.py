"""Paired comparison of two runs: correctness and perception (rules judge on synthetic annotations)."""

import json

import pytest

from perceptrl.eval.compare import compare_runs, format_comparison
from perceptrl.eval.protocols import get_protocol
from perceptrl.eval.runner import item_record, score_run
from perceptrl.synth import generate

WRONG = "<think>I cannot read the figure.</think>\n<answer>\\boxed{-1}</answer>"


def _run(path, examples, responses):
    path.mkdir()
    dec = get_protocol("greedy_rules").decoding.as_dict()
    (path / "run.json").write_text(json.dumps({"model": path.name, "protocol": "greedy_rules", "decoding": dec}))
    (path / "items.jsonl").write_text("".join(json.dumps(item_record("synth", e), default=str) + "\n" for e in examples))
    (path / "responses.jsonl").write_text("".join(
        json.dumps({"bench": "synth", "id": e.id, "sample": 0, "prompt": "", "response": r}) + "\n"
        for e, r in zip(examples, responses)))
    score_run(path, get_protocol("greedy_rules"))
    return path


@pytest.fixture()
def two_runs(tmp_path):
    exs = generate(14)
    # the facts stated one sentence each, then the right answer
    cot = [f"<think>{'. '.join(e.visual_annotations)}.</think>\n<answer>\\boxed{{{e.answer}}}</answer>" for e in exs]
    bare = [f"<think>ok</think>\n<answer>\\boxed{{{e.answer}}}</answer>" for e in exs]  # right answer, no facts
    a = [cot[i] if i in (0, 1, 12, 13) else WRONG for i in range(14)]
    b = [WRONG if i in (0, 1) else bare[i] if 2 <= i <= 6 else cot[i] for i in range(14)]
    return _run(tmp_path / "A", exs, a), _run(tmp_path / "B", exs, b), exs


def test_correctness_and_perception_mcnemar(two_runs):
    run_a, run_b, _ = two_runs
    r = compare_runs(run_a, run_b)
    c = r["correctness"]["overall"]
    assert (c["n"], c["both_correct"], c["a_only"], c["b_only"], c["both_wrong"]) == (14, 2, 2, 10, 0)
    assert c["p_value"] == pytest.approx(0.0386, abs=5e-5)  # Perception-R1's 2 vs 10
    p = r["perception"]["overall"]  # B states the facts on items 7..13 only
    assert (p["a_only"], p["b_only"], p["both_correct"]) == (2, 5, 2)
    assert p["p_value"] == pytest.approx(0.453125)
    assert len(r["correctness"]["b_only_items"]) == 10
    text = format_comparison(r)
    assert "correctness" in text and "perception" in text and "0.0386" in text


def test_perception_labels_file_for_real_benchmarks(two_runs, tmp_path):
    run_a, run_b, exs = two_runs
    la, lb = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    la.write_text("".join(json.dumps({"bench": "synth", "id": e.id, "perception_correct": i == 0}) + "\n"
                          for i, e in enumerate(exs)))
    lb.write_text("".join(json.dumps({"bench": "synth", "id": e.id, "perception_correct": i < 6}) + "\n"
                          for i, e in enumerate(exs)))
    p = compare_runs(run_a, run_b, labels_a=la, labels_b=lb)["perception"]["overall"]
    assert (p["both_correct"], p["a_only"], p["b_only"]) == (1, 0, 5)
