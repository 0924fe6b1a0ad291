"""Readings: the facts a question needs, as numbers, and the answer each way of reading them gives.

A *reading* is one value per visual fact, in the order of ``Example.visual_annotations``
(``height of bar A = 3``, ``height of bar C = 4`` → ``(3, 4)``). Every kind describes its question
as a :class:`Readings`: the true reading, the values each fact can legally take, the answer as a
function of a reading, and how likely the generator is to draw each reading. From that alone
follow what the multiple-choice world needs (:mod:`perceptrl.synth.choices`):

* :attr:`Readings.prior` — the probability of each answer (the prior a text-only guess can use);

* :meth:`Readings.possible` — every answer the question can have (what "plausible" means for a
  distractor, and what "impossible" means for a shortcut distractor);
* :meth:`Readings.misreadings` — the answers a reading one step off on one fact gives (one bar read
  one unit too high, a 40° read as 50°): the distractor a careless look lands on;
* :meth:`Readings.lucky` — how many *wrong* readings still give the gold answer (sum 7 from (3, 4)
  also from (1, 6), (2, 5), (4, 3), (5, 2), (6, 1): 5). That is the "right answer from wrong
  readings" an accuracy reward pays and a perception reward does not.

Wrong readings range over each fact's legal values independently (a misread triangle need not be
a triangle), so :meth:`lucky` counts over the full product of the domains.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property

Reading = tuple[int, ...]


def _uniform(_: Sequence[int]) -> float:
    return 1.0


@dataclass
class Readings:
    truth: Reading  # the values the image shows, in fact order
    domains: tuple[tuple[int, ...], ...]  # the legal values of each fact, ascending (one step apart)
    answer: Callable[[Sequence[int]], int]
    # How likely the generator is to draw a reading (up to a constant; 0 = never, e.g. a < b for
    # "how much taller is a than b", which lists the taller bar first).
    weight: Callable[[Sequence[int]], float] = _uniform

    @property
    def gold(self) -> int:
        return self.answer(self.truth)

    @cached_property
    def _drawn(self) -> tuple[list[Reading], list[float]]:
        pairs = [(r, self.weight(r)) for r in itertools.product(*self.domains)]
        pairs = [(r, w) for r, w in pairs if w > 0]
        return [r for r, _ in pairs], [w for _, w in pairs]

    @cached_property
    def prior(self) -> dict[int, float]:
        """The probability of each possible answer under the generator's law of the facts."""
        out: dict[int, float] = {}
        readings, weights = self._drawn
        total = sum(weights)
        for r, w in zip(readings, weights):
            v = self.answer(r)
            out[v] = out.get(v, 0.0) + w / total
        return dict(sorted(out.items()))

    @property
    def possible(self) -> frozenset[int]:
        """Every answer a problem of this question can have."""
        return frozenset(self.prior)

    @cached_property
    def step(self) -> int:
        """The spacing of the possible answers (1 for sums of heights, 2 for perimeters, 10 for angles)."""
        vals = sorted(self.possible)
        return math.gcd(*(b - a for a, b in zip(vals, vals[1:]))) or 1

    def sample(self, rng: random.Random) -> Reading:
        """A reading drawn the way the generator draws the facts."""
        readings, weights = self._drawn
        return rng.choices(readings, weights)[0]

    def misreadings(self, reading: Sequence[int]) -> list[int]:
        """Possible answers, other than ``reading``'s own, from moving one fact one step in its domain."""
        own = self.answer(reading)
        out = set()
        for k, dom in enumerate(self.domains):
            at = dom.index(reading[k])
            for j in (at - 1, at + 1):
                if 0 <= j < len(dom):
                    moved = list(reading)
                    moved[k] = dom[j]
                    value = self.answer(moved)
                    if value != own and value in self.possible:
                        out.add(value)
        return sorted(out)

    def lucky(self) -> int:
        """How many readings other than the truth give the gold answer."""
        gold, truth = self.gold, tuple(self.truth)
        return sum(1 for r in itertools.product(*self.domains) if r != truth and self.answer(r) == gold)


def int_range(lo: int, hi: int, step: int = 1) -> tuple[int, ...]:
    return tuple(range(lo, hi + 1, step))


def _larger_first(r: Sequence[int]) -> float:
    """Two uniform draws listed larger first: (a, b) with a > b twice as likely as (a, a)."""
    return 2.0 if r[0] > r[1] else 1.0 if r[0] == r[1] else 0.0


def sum_or_difference(truth: Sequence[int], domain: tuple[int, ...], op: str) -> Readings:
    """Readings of "the sum of these values" or "the larger minus the smaller" with each value drawn
    uniformly from ``domain`` (the difference question lists its larger value first)."""
    if op == "sum":
        return Readings(tuple(truth), (domain,) * len(truth), sum)
    return Readings(tuple(truth), (domain, domain), lambda r: r[0] - r[1], _larger_first)
