"""benchmarks/eval_parity.py skips with a clear message where lmms-eval is not installed (CI)."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(importlib.util.find_spec("lmms_eval") is not None, reason="lmms-eval installed: the benchmark runs")
def test_parity_benchmark_skips_without_lmms_eval():
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "eval_parity.py")], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("SKIP: lmms-eval is not importable") and "pip install --no-deps lmms-eval==0.7.3" in out.stdout


def test_vlmevalkit_parity_benchmark_skips_without_a_checkout(tmp_path):
    import os

    env = {k: v for k, v in os.environ.items() if k != "VLMEVALKIT_SRC"}
    script = str(ROOT / "benchmarks" / "eval_parity_vlmevalkit.py")
    out = subprocess.run([sys.executable, script], capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("SKIP: no VLMEvalKit source given") and "git clone" in out.stdout
    out = subprocess.run([sys.executable, script, "--vlmevalkit", str(tmp_path)], capture_output=True, text=True,
                         timeout=120, env=env)
    assert out.returncode == 0 and out.stdout.startswith("SKIP: not a VLMEvalKit checkout") and "matching_util.py" in out.stdout
