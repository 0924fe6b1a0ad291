"""Per-benchmark metrics from per-item scores.

An item's score is the mean correctness of its samples (1 sample for greedy; k for avg@k, whose
benchmark accuracy is then the mean over items of the per-item mean, as PAPO/VPPO report).
Breakdowns: MathVerse per problem version, MathVista per question type, answer type and task,
synthetic per kind, and WeMath's four-dimensional metrics (:mod:`perceptrl.eval.wemath`;
an item counts as right there when most of its samples are).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from perceptrl.eval.wemath import wemath_metrics

# metadata key to break each benchmark down by
BREAKDOWNS: dict[str, tuple[str, ...]] = {
    "mathverse": ("problem_version",),
    "mathvista": ("question_type", "answer_type", "task"),
    "mathvision": ("subject",),
    "synth": ("kind",),
}


def _acc(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def bench_metrics(bench: str, items: Sequence[Mapping[str, Any]], scores: Mapping[str, float]) -> dict[str, Any]:
    """Metrics of one benchmark. ``items``: item dicts (id, metadata); ``scores``: id → mean correctness."""
    scored = [it for it in items if it["id"] in scores]
    values = [scores[it["id"]] for it in scored]
    out: dict[str, Any] = {"n": len(scored), "accuracy": _acc(values)}
    if len(scored) < len(items):
        out["missing"] = len(items) - len(scored)
    for key in BREAKDOWNS.get(bench, ()):
        groups: dict[str, list[float]] = defaultdict(list)
        for it in scored:
            v = (it.get("metadata") or {}).get(key)
            if v is not None and v != "":
                groups[str(v)].append(scores[it["id"]])
        if groups:
            out[f"by_{key}"] = {g: {"accuracy": _acc(v), "n": len(v)} for g, v in sorted(groups.items())}
    if bench == "wemath":
        correct = {}
        for it in scored:
            md = it.get("metadata") or {}
            if md.get("wemath_id") is not None and md.get("wemath_key") is not None:
                correct[(str(md["wemath_id"]), str(md["wemath_key"]))] = scores[it["id"]] >= 0.5
        out["wemath"] = wemath_metrics(correct)
    return out
