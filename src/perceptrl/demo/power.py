"""Power of a paired comparison of two arms: how many held-out items a run needs, and what it can detect.

Two arms are compared on the same held-out items (answers, or annotated facts) with McNemar's
test, so power depends on the number of pairs ``n`` and on the *discordant* share ``psi`` (items
one arm gets right and the other wrong): only discordant pairs carry information. For a true
difference ``delta`` in accuracy, the normal approximation of McNemar's test (Connor 1987) needs

    n = (z_{1-α/2} · sqrt(psi) + z_{1-β} · sqrt(psi - delta²))² / delta²

pairs. The experiment is sized with it before it runs (``pairs_needed``), and its report states
the minimum detectable effect of the run actually made (``minimum_detectable_effect``), from the
discordance it observed: a null result is only informative about effects larger than that.
"""

from __future__ import annotations

import math
from typing import Any

from perceptrl.errors import PerceptrlError


def _z(alpha: float, power: float) -> tuple[float, float]:
    from scipy.stats import norm

    if not 0 < alpha < 1 or not 0 < power < 1:
        raise PerceptrlError(f"alpha={alpha}, power={power} must be in (0, 1)", where="power calculation",
                             fix="e.g. alpha=0.05, power=0.8")
    return float(norm.ppf(1 - alpha / 2)), float(norm.ppf(power))


def pairs_needed(delta: float, discordant: float, *, alpha: float = 0.05, power: float = 0.8) -> int:
    """Paired items McNemar needs to detect an accuracy difference ``delta`` (two-sided ``alpha``)."""
    if not 0 < abs(delta) <= discordant <= 1:
        raise PerceptrlError(f"delta={delta}, discordant share={discordant}: need 0 < |delta| <= discordant <= 1",
                             where="power calculation",
                             fix="the discordant share is at least the difference it produces")
    za, zb = _z(alpha, power)
    d = abs(delta)
    return math.ceil((za * math.sqrt(discordant) + zb * math.sqrt(discordant - d * d)) ** 2 / (d * d))


def minimum_detectable_effect(n: int, discordant: float, *, alpha: float = 0.05, power: float = 0.8) -> float:
    """The smallest accuracy difference ``n`` pairs with discordant share ``discordant`` detect.

    ``nan`` when nothing can be said (no pairs, or no discordant pair observed).
    """
    from scipy.optimize import brentq

    if n < 1 or not 0 < discordant <= 1:
        return float("nan")
    za, zb = _z(alpha, power)

    def gap(d: float) -> float:
        return (za * math.sqrt(discordant) + zb * math.sqrt(max(discordant - d * d, 0.0))) ** 2 / (d * d) - n

    hi = discordant  # a difference in accuracy cannot exceed the share of discordant pairs
    if gap(hi) > 0:  # even the largest difference this discordance allows is not detectable
        return float("nan")
    return float(brentq(gap, 1e-6, hi))


def power_table(deltas: tuple[float, ...] = (0.05,), discordants: tuple[float, ...] = (0.15, 0.2, 0.3), *,
                alpha: float = 0.05, power: float = 0.8) -> list[dict[str, float]]:
    """Pairs needed for each (delta, discordant share): the sizing table of docs/demo.md and the report."""
    return [{"delta": d, "discordant": p, "pairs": pairs_needed(d, p, alpha=alpha, power=power)}
            for d in deltas for p in discordants if abs(d) <= p]


def paired_test(pairs: list[tuple[int, int]]) -> dict[str, Any]:
    """McNemar on (baseline, arm) outcome pairs, with the counts, the difference and the minimum detectable
    effect of this many pairs at the discordance observed."""
    from perceptrl.eval.stats import paired_mcnemar

    r = paired_mcnemar({i: bool(x) for i, (x, _) in enumerate(pairs)}, {i: bool(y) for i, (_, y) in enumerate(pairs)})
    discordant = (r.a_only + r.b_only) / r.n if r.n else 0.0
    return {"n": r.n, "both_correct": r.both_correct, "base_only": r.a_only, "arm_only": r.b_only,
            "neither": r.both_wrong, "base": r.acc_a, "arm": r.acc_b, "diff": r.acc_b - r.acc_a, "p": r.p_value,
            "discordant": discordant, "mde": minimum_detectable_effect(r.n, discordant)}
