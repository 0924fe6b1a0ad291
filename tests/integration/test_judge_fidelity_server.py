"""Judge fidelity and stage 1 against the real judge (Qwen2.5-Coder-1.5B-Instruct on llama-server).

Small slices of the labelled sets, so that the tests take a minute or two on 2 cores; the full
numbers come from benchmarks/judge_fidelity.py and benchmarks/annotate_fidelity.py (docs/judge.md,
docs/annotate.md). Verdicts at temperature 0 are deterministic for a given build and machine; the
thresholds leave room for another CPU's rounding.
"""

import json
import subprocess
import sys

import pytest

from perceptrl.annotate.evaluate import score_extraction, synthetic_chains
from perceptrl.data.io import write_examples
from perceptrl.judge import fidelity as F

pytestmark = pytest.mark.server


def _slice(categories, per=4):
    """Cases whose verdicts are all in ``categories``, ``per`` verdicts of each at least."""
    out, got = [], {c: 0 for c in categories}
    for case in F.build_set(seed=0):
        if set(case.categories) <= set(categories) and any(got[c] < per for c in case.categories):
            out.append(case)
            for c in case.categories:
                got[c] += 1
    return out


def test_judge_eval_cli_on_the_real_judge(real_judge, tmp_path):
    """`perceptrl judge eval` end to end with grammar-constrained decoding: every answer parses,
    the report is what its own verdicts give, and the judge gets the absent facts it was measured
    to get right (near-miss labels, retractions, missing: 76-95 %, docs/judge.md; 19 of these 23 in
    the benchmark run) mostly right. (It misses most verbatim facts — 30 % — so no threshold is
    asserted on those.)"""
    cases = _slice(("near_miss", "retracted", "missing", "verbatim"), per=8)  # 10 cases, 27 verdicts
    setf = tmp_path / "set.jsonl"
    F.write_set(cases, setf)
    out = tmp_path / "report.json"
    p = subprocess.run([sys.executable, "-m", "perceptrl", "judge", "eval", "--set", str(setf), "--backend", "openai",
                        "--base-url", real_judge.base_url, "--model", real_judge.model, "--max-concurrency", "4",
                        "--constrained", "grammar", "--timeout", "300", "--output", str(out)],
                       capture_output=True, text=True, timeout=1200)
    assert p.returncode == 0, p.stderr[-3000:]
    data = json.loads(out.read_text())
    rep = data["report"]
    assert rep["unparseable_pct"] == 0.0 and rep["failed_pct"] == 0.0 and rep["missing_pct"] == 0.0
    preds = [F.Prediction(c["predicted"]) for c in data["cases"]]
    again = F.score(cases, preds)
    assert again.accuracy == rep["accuracy"] and again.confusion == rep["confusion"]
    hard_negatives = [v == t for c, pr in zip(cases, preds) for t, v, cat in zip(c.truth, pr.verdicts, c.categories)
                      if cat in ("near_miss", "retracted", "missing")]
    assert sum(hard_negatives) / len(hard_negatives) >= 0.6
    assert f"judge_fidelity_accuracy: {rep['accuracy']:.4f}" in p.stdout


def test_annotate_with_the_real_extractor(real_judge, tmp_path):
    """`perceptrl annotate` with the real model as extractor on synthetic chains whose facts are known."""
    exs = synthetic_chains(9, seed=4)
    data = tmp_path / "chains.jsonl"
    write_examples(exs, data, format="jsonl")
    out = tmp_path / "a.jsonl"
    p = subprocess.run([sys.executable, "-m", "perceptrl", "annotate", "--data", str(data), "--out", str(out),
                        "--out-format", "jsonl", "--cot-column", "cot", "--extract-base-url", real_judge.base_url,
                        "--extract-model", real_judge.model, "--max-concurrency", "4"],
                       capture_output=True, text=True, timeout=900)
    assert p.returncode == 0, p.stderr[-3000:]
    recs = {r["id"]: r for r in map(json.loads, (tmp_path / "a.jsonl.progress.jsonl").read_text().splitlines())}
    rep = score_extraction(exs, recs)
    assert rep.errors == 0 and rep.wrongly_passed == 0 and rep.passed == rep.correct_chains
    # measured on 51 problems: precision 89 %, recall 57 % (docs/annotate.md)
    assert rep.precision >= 0.5 and rep.recall >= 0.3, rep.lines()
