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
