"""End to end: load each benchmark's real schema → generate with the tiny VLM → score → metrics;
resuming; rescoring stored responses; kill -9 mid-evaluation."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from perceptrl.errors import PerceptrlError
from perceptrl.eval.benchmarks import load_benchmark
from perceptrl.eval.protocols import get_protocol
from perceptrl.eval.runner import item_record, run_eval, score_run
from perceptrl.eval.store import load_run
from perceptrl.eval.store import read_jsonl

FAST = get_protocol("greedy_rules", max_new_tokens=4)

EXPECTED_BREAKDOWN = {
    "mathvista": "by_question_type",
    "mathverse": "by_problem_version",
    "mathvision": "by_subject",
    "wemath": "wemath",
    "geo3k": None,
    "synth": "by_kind",
}


@pytest.mark.parametrize("bench", list(EXPECTED_BREAKDOWN))
def test_end_to_end_each_benchmark(bench, bench_sources, tiny_vlm, tmp_path):
    source = None if bench == "synth" else str(bench_sources[bench])
    limit = 3 if bench == "synth" else None
    summary = run_eval("tiny", [(bench, source)], tmp_path, protocol=FAST, limit=limit, batch_size=5,
                       loaded=tiny_vlm, progress=False, report=False)
    examples = load_benchmark(bench, source, limit=limit)
    config, items, responses = load_run(tmp_path)
    assert config["decoding"]["max_new_tokens"] == 4 and config["protocol"] == "greedy_rules"
    assert len(items) == len(examples) and len(responses) == len(examples)
    by_id = {r["id"]: r for r in responses}
    for ex in examples:
        rec = by_id[ex.id]
        assert rec["sample"] == 0 and rec["decoding"]["temperature"] == 0.0 and rec["model"] == "tiny"
        assert ex.problem.replace("<image>", "").strip()[:30] in rec["prompt"]
        assert "<|image_pad|>" in rec["prompt"]
    m = summary["benches"][bench]
    assert m["n"] == len(examples) and 0.0 <= m["accuracy"] <= 1.0
    key = EXPECTED_BREAKDOWN[bench]
    if key:
        assert key in m
    if bench == "mathverse":
        assert set(m["by_problem_version"]) == {"Text Dominant", "Text Lite", "Vision Intensive", "Vision Dominant",
                                                "Vision Only"}
    if bench == "wemath":
        assert m["wemath"]["n_composite"] == 3 and m["wemath"]["incomplete"] == 0
    scores = list(read_jsonl(tmp_path / "scores" / "greedy_rules.jsonl"))
    assert len(scores) == len(examples)
    assert json.loads((tmp_path / "summary.json").read_text())["benches"][bench]["n"] == len(examples)


def _write_run(run: Path, bench_items, responses, protocol="greedy_rules", k=1):
    run.mkdir(parents=True, exist_ok=True)
    dec = get_protocol(protocol, k=k if k > 1 else None).decoding.as_dict()
    (run / "run.json").write_text(json.dumps({"model": "hand", "protocol": protocol, "decoding": dec, "template": "x"}))
    with open(run / "items.jsonl", "w") as f:
        for bench, ex in bench_items:
            f.write(json.dumps(item_record(bench, ex), default=str) + "\n")
    with open(run / "responses.jsonl", "w") as f:
        for bench, id_, sample, text in responses:
            f.write(json.dumps({"bench": bench, "id": id_, "sample": sample, "prompt": "", "response": text}) + "\n")


def test_metrics_from_stored_responses(bench_sources, tmp_path):
    """Hand-written responses → known per-version MathVerse accuracy and WeMath strict score."""
    mv = load_benchmark("mathverse", str(bench_sources["mathverse"]))
    wm = load_benchmark("wemath", str(bench_sources["wemath"]))
    responses = []
    for ex in mv:  # right on problem 1 except its Vision Only version; problem 2 always wrong
        right = ex.metadata["problem_index"] == "1" and ex.metadata["problem_version"] != "Vision Only"
        responses.append(("mathverse", ex.id, 0, "<answer>A</answer>" if right else "<answer>\\boxed{3}</answer>"))
    # WeMath: 2steps_1 CM (all right); 2steps_2: sub 2 wrong, multi right → RM (strict), CM (loose);
    # 3steps_1: all subs right, multi wrong → IG.
    wrong = {"2steps_2|2steps_2", "3steps_1|3steps_multi"}
    for ex in wm:
        responses.append(("wemath", ex.id, 0, "<answer>B</answer>" if ex.id in wrong else "<answer>31.4</answer>"))
    _write_run(tmp_path, [("mathverse", e) for e in mv] + [("wemath", e) for e in wm], responses)
    s = score_run(tmp_path, FAST)
    v = s["benches"]["mathverse"]["by_problem_version"]
    assert v["Text Dominant"] == {"accuracy": 0.5, "n": 2} and v["Vision Only"] == {"accuracy": 0.0, "n": 2}
    assert s["benches"]["mathverse"]["accuracy"] == pytest.approx(4 / 10)
    w = s["benches"]["wemath"]["wemath"]
    assert (w["CM_strict"], w["RM_strict"], w["IG"], w["IK"], w["CM_loose"]) == (1, 1, 1, 0, 2)
    assert w["score_strict"] == pytest.approx((3 - 0.5 * 1 - 1 - 0) / 3)
    assert s["benches"]["wemath"]["accuracy"] == pytest.approx(8 / 10)


def test_avg_at_k_is_the_mean_over_samples(tmp_path):
    exs = load_benchmark("synth", limit=2)
    a, b = exs
    responses = [("synth", a.id, 0, f"<answer>{a.answer}</answer>"), ("synth", a.id, 1, "<answer>-1</answer>"),
                 ("synth", b.id, 0, f"<answer>{b.answer}</answer>"), ("synth", b.id, 1, f"\\boxed{{{b.answer}}}")]
    _write_run(tmp_path, [("synth", e) for e in exs], responses, protocol="avg_at_k", k=2)
    s = score_run(tmp_path, get_protocol("avg_at_k", k=2))
    assert s["benches"]["synth"]["accuracy"] == pytest.approx((0.5 + 1.0) / 2)
    assert s["decoding_mismatch"] is False


def test_rerun_resumes_and_settings_must_match(bench_sources, tiny_vlm, tmp_path):
    src = [("geo3k", str(bench_sources["geo3k"]))]
    run_eval("tiny", src, tmp_path, protocol=FAST, limit=2, loaded=tiny_vlm, progress=False, report=False)
    first = (tmp_path / "responses.jsonl").read_text()
    # rerun with more items: only the new one is generated, the finished ones are untouched
    run_eval("tiny", src, tmp_path, protocol=FAST, loaded=tiny_vlm, progress=False, report=False)
    after = (tmp_path / "responses.jsonl").read_text()
    assert after.startswith(first) and len(after.splitlines()) == 3
    # a finished run does not even need the model
    run_eval("tiny", src, tmp_path, protocol=FAST, loaded=(None, None), progress=False, report=False)
    with pytest.raises(PerceptrlError, match="holds results for decoding"):
        run_eval("tiny", src, tmp_path, protocol=get_protocol("greedy_rules", max_new_tokens=8), loaded=tiny_vlm,
                 progress=False, report=False)


def test_bad_rows_fail_before_generation(tiny_vlm, tmp_path):
    data = tmp_path / "geo3k" / "test.jsonl"
    data.parent.mkdir()
    data.write_text(json.dumps({"images": ["gone.png"], "problem": "<image>Find x.", "answer": "3"}) + "\n")
    with pytest.raises(PerceptrlError) as e:
        run_eval("tiny", [("geo3k", str(data.parent))], tmp_path / "run", protocol=FAST, loaded=tiny_vlm,
                 progress=False, report=False)
    assert "gone.png" in e.value.render() or "missing" in e.value.render()
    responses = tmp_path / "run" / "responses.jsonl"
    assert not responses.exists() or not responses.read_text()


def test_judge_protocol_without_judge_fails_before_work(bench_sources, tmp_path):
    with pytest.raises(PerceptrlError, match="needs an LLM judge"):
        run_eval("tiny", [("geo3k", str(bench_sources["geo3k"]))], tmp_path, protocol="greedy_judge", loaded=(None, None))
    assert not (tmp_path / "responses.jsonl").exists()


@pytest.mark.slow
def test_kill_9_mid_evaluation_then_rerun_loses_and_duplicates_nothing(tiny_qwen25vl_dir, tmp_path):
    out = tmp_path / "run"
    n_items, k = 8, 2
    cmd = [sys.executable, "-m", "perceptrl", "eval", "--model", str(tiny_qwen25vl_dir), "--bench", "synth",
           "--limit", str(n_items), "--protocol", "avg_at_k", "--k", str(k), "--max-new-tokens", "12",
           "--batch-size", "1", "--out", str(out), "--no-report"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    log = open(tmp_path / "first_run.log", "wb")
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    responses = out / "responses.jsonl"
    deadline = time.time() + 180
    while time.time() < deadline and proc.poll() is None:
        if responses.exists() and responses.read_text().count("\n") >= 2:
            break
        time.sleep(0.02)
    assert proc.poll() is None, f"run ended before it could be killed: {(tmp_path / 'first_run.log').read_text()[-2000:]}"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    killed_at = len(list(read_jsonl(responses)))
    assert 0 < killed_at < n_items * k
    from perceptrl.cli import main

    assert main(cmd[3:]) == 0  # the same command, rerun (in-process: one interpreter start less)
    lines = responses.read_text().splitlines()
    keys = [(r["bench"], r["id"], r["sample"]) for r in map(json.loads, lines)]
    assert len(keys) == len(set(keys)) == n_items * k  # nothing lost, nothing twice
    expected = {("synth", e.id, s) for e in load_benchmark("synth", limit=n_items) for s in range(k)}
    assert set(keys) == expected
    summary = json.loads((out / "summary.json").read_text())
    assert summary["benches"]["synth"]["n"] == n_items and summary["n_responses"] == n_items * k
