"""Evaluation: benchmark registry and loaders, generation, scorers, metrics, statistics, reports.

Spec: docs/eval-protocols.md (protocols greedy_judge / greedy_rules / avg_at_k; MathVista, MathVerse, MathVision,
WeMath, Geometry3K and the synthetic world). Entry points: :func:`run_eval`,
:func:`score_run` (rescore), :func:`compare_runs`, :func:`write_report`; the CLI ``perceptrl eval``.
Submodules import lazily so that ``perceptrl.eval.stats`` costs no torch import.
"""

from __future__ import annotations

from typing import Any

_EXPORTS = {
    "BENCHMARKS": "perceptrl.eval.benchmarks",
    "load_benchmark": "perceptrl.eval.benchmarks",
    "generate_responses": "perceptrl.eval.generate",
    "Decoding": "perceptrl.eval.generate",
    "PROTOCOLS": "perceptrl.eval.protocols",
    "get_protocol": "perceptrl.eval.protocols",
    "score_response": "perceptrl.eval.scoring",
    "JudgeScorer": "perceptrl.eval.judge_scorer",
    "wemath_metrics": "perceptrl.eval.wemath",
    "mcnemar_exact": "perceptrl.eval.stats",
    "paired_mcnemar": "perceptrl.eval.stats",
    "run_eval": "perceptrl.eval.runner",
    "score_run": "perceptrl.eval.runner",
    "compare_runs": "perceptrl.eval.compare",
    "write_report": "perceptrl.eval.report",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'perceptrl.eval' has no attribute {name!r}")
