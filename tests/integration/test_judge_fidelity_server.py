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
from perceptrl.judge.config import JudgeConfig

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
    """`perceptrl judge eval` end to end: real verdicts, every answer parsed under constrained decoding."""
    cases = _slice(("verbatim", "wrong_value", "missing", "injected"))
    setf = tmp_path / "set.jsonl"
    F.write_set(cases, setf)
    out = tmp_path / "report.json"
    args = [sys.executable, "-m", "perceptrl", "judge", "eval", "--set", str(setf), "--backend", "openai",
            "--base-url", real_judge.base_url, "--model", real_judge.model, "--max-concurrency", "4",
            "--output", str(out)]
    if "constrained" in JudgeConfig.__dataclass_fields__:
        args += ["--constrained", "json_schema"]
    p = subprocess.run(args, capture_output=True, text=True, timeout=900)
    assert p.returncode == 0, p.stderr[-3000:]
    rep = json.loads(out.read_text())["report"]
    if "constrained" in JudgeConfig.__dataclass_fields__:
        assert rep["unparseable_pct"] == 0.0
    assert rep["failed_pct"] == 0.0
    pc = rep["per_category"]
    assert pc["verbatim"]["accuracy"] >= 0.75  # a verbatim fact gets 1
    assert pc["wrong_value"]["accuracy"] >= 0.5 and pc["missing"]["accuracy"] >= 0.75
    assert pc["injected"]["accuracy"] >= 0.75  # a verdict tag for an unstated fact does not count
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
    assert rep.recall >= 0.5 and rep.precision >= 0.5, rep.lines()
