"""Read verdicts from a judge's answer (METHODS.md §1, reference bugs 1 and 2).

The reference takes the *last* match of a greedy tag regex over the judge output and divides by
the number of tags it found. Here:

* only the judge's own answer is parsed (never the prompt or the response it was shown), after
  dropping a leading ``<think>…</think>`` block that reasoning judges emit;
* exactly one verdict per annotation index ``1..m``: a tag ``<infoK>0|1</infoK>`` (whitespace
  tolerated); several tags for one index that agree count once, tags that disagree make that
  verdict *conflicting*; both missing and conflicting verdicts count 0 and are reported;
* tags for indices outside ``1..m`` are ignored (reported as ``extra``);
* ``r_v = Σ verdicts / m`` — the denominator is always the number of annotations.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_TAG = re.compile(r"<\s*info\s*(\d+)\s*>\s*([01])\s*<\s*/\s*info\s*\1\s*>", re.IGNORECASE)
_THINK = re.compile(r"^\s*<think>.*?</think>", re.DOTALL | re.IGNORECASE)


@dataclass
class Verdicts:
    """Verdicts for one judged response."""

    verdicts: list[int]
    missing: list[int] = field(default_factory=list)  # 1-based indices with no verdict
    conflicting: list[int] = field(default_factory=list)  # 1-based indices with disagreeing verdicts
    extra: int = 0  # tags for indices outside 1..m

    @property
    def m(self) -> int:
        return len(self.verdicts)

    @property
    def parsed(self) -> int:
        """How many indices got a usable verdict."""
        return self.m - len(self.missing) - len(self.conflicting)

    @property
    def score(self) -> float:
        """``r_v = (1/m) Σ_j o_j``; 0 when there are no annotations (METHODS.md §1)."""
        return sum(self.verdicts) / self.m if self.m else 0.0


def parse_verdicts(answer: str, m: int) -> Verdicts:
    """Parse a judge answer for ``m`` annotations."""
    answer = _THINK.sub("", answer or "", count=1)
    seen: dict[int, set[int]] = {}
    extra = 0
    for match in _TAG.finditer(answer):
        k, v = int(match.group(1)), int(match.group(2))
        if 1 <= k <= m:
            seen.setdefault(k, set()).add(v)
        else:
            extra += 1
    verdicts, missing, conflicting = [], [], []
    for k in range(1, m + 1):
        vals = seen.get(k)
        if not vals:
            missing.append(k)
            verdicts.append(0)
        elif len(vals) > 1:
            conflicting.append(k)
            verdicts.append(0)
        else:
            verdicts.append(next(iter(vals)))
    return Verdicts(verdicts, missing, conflicting, extra)

