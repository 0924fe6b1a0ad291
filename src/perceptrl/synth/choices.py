"""Multiple-choice variants of synthetic problems, with and without a textual shortcut.

An open problem becomes multiple choice by adding four options (``Example.choices``, values as
text, e.g. ``["5", "7", "8", "11"]``); the gold answer becomes the letter of the true value (``"B"``)
and the chain of thought states the same facts and computation, then ``7 is option B``, and ends
with ``\\boxed{B}``. A guess is right one time in four.

**Plain options** (no shortcut) are two pairs of neighbouring possible answers: the true value
with a *misreading* of it (one fact one step off, e.g. a bar read one unit too high: sum 7 → 6 or 8),
and a *decoy* with its own misreading. So a careless look lands on a wrong option, and the options
alone say (almost) nothing about which one is right. Which pairs appear with which gold is chosen
from the answer prior (:attr:`Readings.prior`) by one of two designs:

* *balanced* (sums of heights, rectangle perimeters): weights ``rho`` on the edges between
  neighbouring answers with ``rho[i-1] + rho[i] = 2 P(v_i)``, and a symmetric matrix over pairs of
  disjoint edges with rows summing to ``rho`` (symmetric Sinkhorn scaling). The gold picks its
  edge with probability ``rho / 2P(gold)`` and the other pair from its row; then
  ``P(set, gold = x) = A[e, f] / 2`` for all four members ``x``: given the options, each one is the
  gold exactly one time in four, whatever the prior.
* *least informative* (where no balanced design exists, e.g. "how much taller", whose answer 1 has
  prior 10/36 > 1/4, so no set of four can hide it): a linear programme picks ``P(set, gold)``
  minimising the best text-only guess rate, then spreads it over all sets for at most one point more.

Questions whose answers are not evenly spaced (rectangle areas) or scenes where a neighbouring answer
is no misreading of the facts fall back to an approximate design: the decoy is the answer of a
second reading drawn like the scene's facts. docs/synth-world.md gives the measured guess rates.

**Shortcut options**: the three distractors are *impossible* for the question: answers outside
the range any reading can give (a sum of two heights 1-6 is 2-12, so 0, 1 and 13-23 are impossible;
a difference is 0-5, so 6-11 are), on the same spacing as real answers (even perimeters, angles in
tens). "Pick the only option a sum of two heights can be" answers without looking at the image, and
a small model learns it from the text alone. On a problem without the shortcut all four options are
possible, so the rule learnt on shortcut problems is back to a guess.

Options are shuffled into letters uniformly, so the letter itself carries nothing.
"""

from __future__ import annotations

import math
import random
from dataclasses import replace
from functools import lru_cache

from perceptrl.data.schema import Example
from perceptrl.errors import PerceptrlError
from perceptrl.synth.readings import Readings

N_OPTIONS = 4
LETTERS = "ABCD"
_TRIES = 200
_SINKHORN_ITERS = 20000
_SPREAD_SLACK = 0.01  # guess-rate points given up for option sets that vary


def _edge_weights(prior: dict[int, float], step: int) -> list[float] | None:
    """Weights ``rho[i]`` of the "edges" ``(v_i, v_i+1)`` between neighbouring possible answers such
    that every answer's two edges weigh twice its prior (``rho[i-1] + rho[i] = 2 P(v_i)``); ``None``
    when the answers are not evenly spaced or no such non-negative weights exist."""
    vals = _lattice(prior, step)
    if vals is None:
        return None
    rho, prev = [], 0.0
    for v in vals[:-1]:
        r = 2 * prior[v] - prev
        if r < -1e-12:
            return None
        rho.append(max(r, 0.0))
        prev = r
    return rho if abs(prev - 2 * prior[vals[-1]]) < 1e-9 else None


@lru_cache(maxsize=256)
def _balanced_pairs(prior_items: tuple[tuple[int, float], ...], step: int):
    """The exact design, when it exists: ``(values, rho, A)`` with ``A`` a symmetric matrix over
    pairs of disjoint edges whose rows sum to ``rho`` (found by symmetric Sinkhorn scaling)."""
    prior = dict(prior_items)
    rho = _edge_weights(prior, step)
    if rho is None:
        return None
    n = len(rho)
    live = [i for i in range(n) if rho[i] > 1e-15]
    compat = {i: [j for j in live if abs(i - j) >= 2] for i in live}
    x = {i: 1.0 for i in live}
    for _ in range(_SINKHORN_ITERS):
        rows = {i: x[i] * rho[i] * sum(rho[j] * x[j] for j in compat[i]) for i in live}
        if any(rows[i] <= 0 for i in live):
            return None
        if max(abs(rows[i] / rho[i] - 1) for i in live) < 1e-10:
            break
        x = {i: x[i] * math.sqrt(rho[i] / rows[i]) for i in live}
    else:
        return None
    a = {(i, j): x[i] * x[j] * rho[i] * rho[j] for i in live for j in compat[i]}
    return sorted(prior), rho, a


def _lattice(prior: dict[int, float], step: int) -> list[int] | None:
    vals = sorted(prior)
    if len(vals) < N_OPTIONS or any(b - a != step for a, b in zip(vals, vals[1:])):
        return None
    return vals


@lru_cache(maxsize=256)
def _least_informative_pairs(prior_items: tuple[tuple[int, float], ...], step: int):
    """The fallback design when no exact one exists: ``(values, {(e, f): {member: P(set, gold=member)}})``
    over sets made of two disjoint edges ``e < f``, the joint that minimises what the best text-only
    guess gets (the sum over sets of the largest ``P(set, gold)``), by linear programming."""
    from scipy.optimize import linprog

    prior = dict(prior_items)
    vals = _lattice(prior, step)
    if vals is None:
        return None
    n_edges = len(vals) - 1
    sets = [(e, f) for e in range(n_edges) for f in range(e + 2, n_edges)]
    if not sets:
        return None
    var: dict[tuple[tuple[int, int], int], int] = {}
    for st in sets:
        for m in (st[0], st[0] + 1, st[1], st[1] + 1):
            var[(st, m)] = len(var)
    n_x, n = len(var), len(var) + len(sets)
    cost = [0.0] * n_x + [1.0] * len(sets)
    a_ub, b_ub = [], []
    for (st, _m), k in var.items():  # P(set, gold=m) <= t_set
        row = [0.0] * n
        row[k], row[n_x + sets.index(st)] = 1.0, -1.0
        a_ub.append(row)
        b_ub.append(0.0)
    a_eq, b_eq = [], []
    for m, v in enumerate(vals):  # the gold keeps its prior
        row = [0.0] * n
        for (_st, mm), k in var.items():
            if mm == m:
                row[k] = 1.0
        a_eq.append(row)
        b_eq.append(prior[v])
    res = linprog(cost, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
    if res.status != 0:
        return None
    # A vertex of that LP uses few sets. Spread the gold over every set that contains it (each gets
    # at least u of an even share; maximise u) at a cost of at most _SPREAD_SLACK in the guess rate.
    count = {m: sum(1 for (_st, mm) in var if mm == m) for m in range(len(vals))}
    a2 = [row + [0.0] for row in a_ub] + [[0.0] * n_x + [1.0] * len(sets) + [0.0]]
    b2 = b_ub + [res.fun + _SPREAD_SLACK]
    for (_st, m), k in var.items():  # u * P(m) / count(m) - x <= 0
        row = [0.0] * (n + 1)
        row[k], row[n] = -1.0, prior[vals[m]] / count[m]
        a2.append(row)
        b2.append(0.0)
    spread = linprog([0.0] * n + [-1.0], A_ub=a2, b_ub=b2, A_eq=[row + [0.0] for row in a_eq], b_eq=b_eq,
                     bounds=(0, None), method="highs")
    if spread.status == 0:
        res = spread
    joint: dict[tuple[int, int], dict[int, float]] = {}
    for (st, m), k in var.items():
        if res.x[k] > 1e-12:
            joint.setdefault(st, {})[m] = float(res.x[k])
    return vals, joint


def _gold_neighbours_are_misreadings(readings: Readings, vals: list[int], g: int) -> bool:
    near = set(readings.misreadings(readings.truth))
    return all(vals[k] in near for k in (g - 1, g + 1) if 0 <= k < len(vals))


def _exact_options(readings: Readings, rng: random.Random) -> tuple[list[int], list[str]] | None:
    """Gold with a neighbouring answer, plus a second pair of neighbouring answers, drawn from the
    balanced design (every option of a set is the gold equally often) or, where that does not
    exist, from the least informative one; ``None`` when the answers are not evenly spaced or a
    neighbour of the gold is no misreading of this scene (see the module docstring)."""
    prior_items, step = tuple(readings.prior.items()), readings.step
    design = _balanced_pairs(prior_items, step)
    if design is not None:
        vals, rho, a = design
        g = vals.index(readings.gold)
        if not _gold_neighbours_are_misreadings(readings, vals, g):
            return None
        # P(edge | gold) = rho[edge] / (2 P(gold)): the two weights around the gold sum to 2 P(gold).
        edges = [k for k in (g - 1, g) if 0 <= k < len(rho) and rho[k] > 1e-15]
        e = rng.choices(edges, [rho[k] for k in edges])[0]
        partners = [j for (i, j) in a if i == e]
        f = rng.choices(partners, [a[(e, j)] for j in partners])[0]
        gold_edge, other = e, f
    else:
        lp = _least_informative_pairs(prior_items, step)
        if lp is None:
            return None
        vals, joint = lp
        g = vals.index(readings.gold)
        if not _gold_neighbours_are_misreadings(readings, vals, g):
            return None
        options = [(st, w[g]) for st, w in sorted(joint.items()) if g in w]
        st = rng.choices([o[0] for o in options], [o[1] for o in options])[0]
        gold_edge, other = (st[0], st[1]) if g in (st[0], st[0] + 1) else (st[1], st[0])
    misread = vals[gold_edge + 1] if gold_edge == g else vals[gold_edge]
    decoys = [vals[other], vals[other + 1]]
    rng.shuffle(decoys)
    return [readings.gold, misread, *decoys], ["gold", "misreading", "decoy", "decoy_misreading"]


def plain_options(readings: Readings, rng: random.Random) -> tuple[list[int], list[str]]:
    """Gold, a misreading of it, a decoy and a misreading of the decoy (values, roles), unshuffled."""
    exact = _exact_options(readings, rng)
    if exact is not None:
        return exact
    gold = readings.gold
    near = readings.misreadings(readings.truth)
    for _ in range(_TRIES):
        misread = rng.choice(near) if near else None
        decoy_reading = readings.sample(rng)
        decoy = readings.answer(decoy_reading)
        decoy_near = readings.misreadings(decoy_reading)
        decoy_misread = rng.choice(decoy_near) if decoy_near else None
        values = [gold, misread, decoy, decoy_misread]
        if None not in values and len(set(values)) == N_OPTIONS:
            return values, ["gold", "misreading", "decoy", "decoy_misreading"]
    # A question with very few possible answers: keep the gold and a misreading, fill the rest.
    values, roles = [gold], ["gold"]
    if near:
        values.append(rng.choice(near))
        roles.append("misreading")
    rest = sorted(readings.possible - set(values))
    if len(values) + len(rest) < N_OPTIONS:
        raise PerceptrlError(f"only {len(readings.possible)} possible answers, {N_OPTIONS} options needed",
                             where="synth choices", fix="use choice_share=0 for this kind and difficulty")
    fill = rng.sample(rest, N_OPTIONS - len(values))
    return values + fill, roles + ["decoy"] * len(fill)


def impossible_values(readings: Readings) -> list[int]:
    """Non-negative values outside the possible answers' range, on their spacing, within one range
    width of it (the shortcut's distractors)."""
    lo, hi, step = min(readings.possible), max(readings.possible), readings.step
    span = hi - lo + step
    below = [v for v in range(lo - step, lo - span - 1, -step) if v >= 0]
    above = list(range(hi + step, hi + span + 1, step))
    return sorted(below + above)


def shortcut_options(readings: Readings, rng: random.Random) -> tuple[list[int], list[str]]:
    """Gold and three impossible values (values, roles), unshuffled."""
    pool = impossible_values(readings)
    return [readings.gold, *rng.sample(pool, N_OPTIONS - 1)], ["gold"] + ["impossible"] * (N_OPTIONS - 1)


def to_choice(example: Example, readings: Readings, rng: random.Random, *, shortcut: bool) -> Example:
    """The multiple-choice form of an open synthetic problem (same image, facts and computation)."""
    values, roles = (shortcut_options if shortcut else plain_options)(readings, rng)
    order = list(range(N_OPTIONS))
    rng.shuffle(order)
    values, roles = [values[k] for k in order], [roles[k] for k in order]
    letter = LETTERS[roles.index("gold")]
    value = str(readings.gold)
    if example.answer != value:
        raise AssertionError(f"{example.id}: readings give {value}, the example says {example.answer}")
    open_end = f"\n</think>\n<answer>\n\\boxed{{{value}}}\n</answer>"
    cot = example.metadata["cot"]
    if not cot.endswith(open_end):
        raise AssertionError(f"{example.id}: unexpected chain-of-thought ending {cot[-60:]!r}")
    cot = cot[: -len(open_end)] + f"\n{value} is option {letter}\n</think>\n<answer>\n\\boxed{{{letter}}}\n</answer>"
    metadata = {
        **example.metadata,
        "cot": cot,
        "question_type": "multi_choice",
        "answer_type": "text",
        "answer_format": "choice",
        "shortcut": bool(shortcut),
        "answer_value": readings.gold,
        "choice_roles": roles,
    }
    return replace(example, answer=letter, choices=[str(v) for v in values], metadata=metadata)
