"""Judge-fidelity metrics: a judge's predictions scored against the set's exact truth."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from perceptrl.judge.fidelity.cases import CATEGORIES, TRUTH, Case


@dataclass
class Prediction:
    """What a judge said about one case: verdicts (None = the request(s) failed)."""

    verdicts: list[int] | None
    error: str | None = None
    missing: int = 0  # verdicts the answer lacked (counted 0)
    requests: int = 1
    unparseable: int = 0  # requests whose answer held no usable verdict
    failed: int = 0  # requests that failed in transport
    answer: str | None = None


@dataclass
class Report:
    """Fidelity metrics of one judge on one labelled set."""

    cases: int
    verdicts: int
    accuracy: float
    precision: float
    recall: float
    unparseable_pct: float  # of requests
    failed_pct: float  # of requests (transport)
    missing_pct: float  # of verdicts
    reward_error: float  # mean |r_v - r_v_true| per case
    seconds: float
    requests: int
    per_category: dict[str, dict[str, float]] = field(default_factory=dict)
    confusion: dict[str, int] = field(default_factory=dict)

    @property
    def seconds_per_request(self) -> float:
        return self.seconds / self.requests if self.requests else 0.0

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["seconds_per_request"] = self.seconds_per_request
        return d


def score(cases: Sequence[Case], preds: Sequence[Prediction], *, seconds: float = 0.0) -> Report:
    """The metrics of ``preds`` against the truth of ``cases`` (see the module docstring)."""
    if len(cases) != len(preds):
        raise ValueError("one prediction per case")
    tp = fp = tn = fn = 0
    per: dict[str, Counter] = {}
    err = 0.0
    requests = unparseable = failed = missing = 0
    for c, p in zip(cases, preds):
        got = p.verdicts if p.verdicts is not None else [0] * len(c.truth)
        if len(got) != len(c.truth):
            raise ValueError(f"case {c.id}: {len(got)} verdicts for {len(c.truth)} annotations")
        requests += p.requests
        unparseable += p.unparseable
        failed += p.failed
        missing += p.missing if p.verdicts is not None else 0
        for t, v, cat in zip(c.truth, got, c.categories):
            pc = per.setdefault(cat, Counter())
            pc["n"] += 1
            pc["correct"] += int(t == v)
            pc["said_present"] += v
            if t and v:
                tp += 1
            elif t:
                fn += 1
            elif v:
                fp += 1
            else:
                tn += 1
        err += abs(sum(got) / len(got) - c.true_score)
    n = tp + fp + tn + fn

    def ratio(a: float, b: float) -> float:
        return a / b if b else float("nan")

    per_category = {cat: {"n": pc["n"], "truth": TRUTH.get(cat, -1), "accuracy": pc["correct"] / pc["n"],
                          "said_present": pc["said_present"] / pc["n"]}
                    for cat, pc in sorted(per.items(), key=lambda kv: _cat_order(kv[0]))}
    return Report(cases=len(cases), verdicts=n, accuracy=ratio(tp + tn, n), precision=ratio(tp, tp + fp),
                  recall=ratio(tp, tp + fn), unparseable_pct=100 * ratio(unparseable, requests),
                  failed_pct=100 * ratio(failed, requests), missing_pct=100 * ratio(missing, n),
                  reward_error=err / len(cases) if cases else float("nan"), seconds=seconds, requests=requests,
                  per_category=per_category, confusion={"tp": tp, "fp": fp, "tn": tn, "fn": fn})


def _cat_order(cat: str) -> tuple[int, str]:
    return (CATEGORIES.index(cat) if cat in CATEGORIES else len(CATEGORIES), cat)
