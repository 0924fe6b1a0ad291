"""WeMath's four-dimensional metrics over composite problems (We-Math, arXiv 2407.01284).

A composite problem ``ID`` has one-step sub-problems (``key`` ``2steps_1``, ``2steps_2`` or
``3steps_1..3``) and the multi-step problem itself (``2steps_multi`` / ``3steps_multi``).
From the correctness of its sub-problems (``subs``) and of the multi-step problem (``multi``),
each composite problem falls in exactly one class under each convention, as in the reference
``evaluation/four_dimensional_metrics.py``:

=========================  ======================================  ==========================================
class                      strict                                  loose
=========================  ======================================  ==========================================
IK insufficient knowledge  some sub wrong  and multi wrong         (same)
IG inadequate general.     all subs right and multi wrong          (same)
CM complete mastery        all subs right and multi right          some sub right and multi right
RM rote memorization       some sub wrong  and multi right         all subs wrong and multi right
=========================  ======================================  ==========================================

(Loose CM and RM do not partition the "multi right" problems: a problem with some but not all
subs right is CM under the loose rule and RM under the strict one — as in the reference.)

Score = (N − 0.5·IG − RM − IK) / N with N composite problems (525 in testmini: 360 two-step +
165 three-step; the reference hard-codes 525). The RM *rate* is RM / (CM + RM).
Composite problems missing any of their parts are left out and counted in ``incomplete``; with
none complete (a ``--limit`` smoke run) the scores are ``None``, reported as "n/a", never 0.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping

_KEY_RE = re.compile(r"^(\d)steps_(\d|multi)$")


def wemath_metrics(correct: Mapping[tuple[str, str], bool]) -> dict:
    """Four-dimensional metrics from per-row correctness keyed by ``(ID, key)``."""
    groups: dict[tuple[int, str], dict[str, bool]] = defaultdict(dict)
    for (gid, key), ok in correct.items():
        m = _KEY_RE.match(key)
        if not m:
            continue  # one-step rows outside composite problems: only in per-item accuracy
        groups[(int(m.group(1)), gid)][m.group(2)] = bool(ok)

    counts = {"IK": 0, "IG": 0, "CM_strict": 0, "RM_strict": 0, "CM_loose": 0, "RM_loose": 0}
    by_steps: dict[int, list[bool]] = defaultdict(list)
    one_step: list[bool] = []
    incomplete = 0
    for (steps, _gid), parts in groups.items():
        subs = [parts.get(str(i)) for i in range(1, steps + 1)]
        multi = parts.get("multi")
        if multi is None or any(s is None for s in subs):
            incomplete += 1
            continue
        all_right, any_right = all(subs), any(subs)
        if multi:
            counts["CM_strict" if all_right else "RM_strict"] += 1
            if any_right:
                counts["CM_loose"] += 1
            else:
                counts["RM_loose"] += 1
        else:
            counts["IG" if all_right else "IK"] += 1
        by_steps[steps].append(multi)
        one_step.extend(subs)

    n = sum(len(v) for v in by_steps.values())

    def score(rm: int) -> float | None:  # None, not 0.0: no complete composite problem has no score
        return (n - 0.5 * counts["IG"] - rm - counts["IK"]) / n if n else None

    def rate(a: int, b: int) -> float:
        return a / b if b else 0.0

    return {
        "n_composite": n,
        "incomplete": incomplete,
        "score_strict": score(counts["RM_strict"]),
        "score_loose": score(counts["RM_loose"]),
        **counts,
        "IK_rate": rate(counts["IK"], n),
        "IG_rate": rate(counts["IG"], n),
        "CM_strict_rate": rate(counts["CM_strict"], n),
        "CM_loose_rate": rate(counts["CM_loose"], n),
        "RM_strict_rate": rate(counts["RM_strict"], counts["CM_strict"] + counts["RM_strict"]),
        "RM_loose_rate": rate(counts["RM_loose"], counts["CM_loose"] + counts["RM_loose"]),
        "acc_one_step": rate(sum(one_step), len(one_step)),
        "acc_two_step": rate(sum(by_steps[2]), len(by_steps[2])),
        "acc_three_step": rate(sum(by_steps[3]), len(by_steps[3])),
    }


NO_COMPOSITE = "n/a (no complete composite problem)"


def format_score(value: float | None) -> str:
    """A WeMath score for people: ``"37.5"`` (percent), or why there is none."""
    return NO_COMPOSITE if value is None else f"{100 * value:.1f}"
