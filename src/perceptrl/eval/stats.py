"""Paired statistics for comparing two runs item by item.

Perception-R1 (arXiv 2506.07218, §5) compares two models on the *same* problems with McNemar's
exact test: only the discordant pairs carry information — ``b`` items right under A and wrong
under B, ``c`` items wrong under A and right under B — and under the null hypothesis each
discordant item is a fair coin, so ``p = two-sided binomial test of min(b, c) in b + c trials``
(reported there: 1 vs 5 → 0.22, 2 vs 4 → 0.69, 2 vs 10 → 0.04).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

from scipy.stats import binomtest


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value from the discordant counts ``b`` and ``c``.

    ``p = 1.0`` when there is no discordant pair (no evidence either way).
    """
    if b < 0 or c < 0:
        raise ValueError(f"discordant counts must be >= 0, got b={b}, c={c}")
    n = b + c
    if n == 0:
        return 1.0
    return float(binomtest(min(b, c), n, 0.5, alternative="two-sided").pvalue)


@dataclass
class PairedResult:
    """The 2x2 table of two runs' per-item correctness, and McNemar's exact p-value."""

    n: int  # items present in both runs
    both_correct: int
    a_only: int  # b: correct under A, wrong under B
    b_only: int  # c: wrong under A, correct under B
    both_wrong: int
    acc_a: float
    acc_b: float
    p_value: float

    def as_dict(self) -> dict:
        return asdict(self)


def paired_mcnemar(a: Mapping[object, bool], b: Mapping[object, bool]) -> PairedResult:
    """McNemar on the items two runs share (keys: item identities; values: correct or not)."""
    keys = [k for k in a if k in b]
    table = {(True, True): 0, (True, False): 0, (False, True): 0, (False, False): 0}
    for k in keys:
        table[(bool(a[k]), bool(b[k]))] += 1
    n = len(keys)
    return PairedResult(
        n=n,
        both_correct=table[(True, True)],
        a_only=table[(True, False)],
        b_only=table[(False, True)],
        both_wrong=table[(False, False)],
        acc_a=(table[(True, True)] + table[(True, False)]) / n if n else 0.0,
        acc_b=(table[(True, True)] + table[(False, True)]) / n if n else 0.0,
        p_value=mcnemar_exact(table[(True, False)], table[(False, True)]),
    )


def mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0
