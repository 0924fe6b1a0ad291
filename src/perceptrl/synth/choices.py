"""Multiple-choice variants of synthetic problems, with and without a textual shortcut.

An open problem becomes multiple choice by adding four options (``Example.choices``, values as
text, e.g. ``["5", "7", "8", "11"]``); the gold answer becomes the letter of the true value (``"B"``)
and the chain of thought states the same facts and computation, then ``7 is option B``, and ends
with ``\\boxed{B}``. A guess is right one time in four.

**Plain options** (no shortcut) are built so that the options alone say nothing about which one
is right, yet a wrong reading of the image can land on a wrong option:

* the true value and a *misreading* of it (one fact one step off: a bar read one unit too high);
* a *decoy*: the answer of a second reading drawn exactly as the generator draws the facts (so
  decoys follow the same distribution as true answers), and a misreading of the decoy.

The set is therefore two "value and its misreading" pairs, and the true value is equally likely
to sit in either pair and in either place of its pair: guessing from the option values (or the
letter) is near chance. What is left above 25 % comes from the answer prior itself (for "how much
taller", a difference of 1 happens 10 times in 36); docs/synth-world.md gives the measured numbers.

**Shortcut options**: the three distractors are *impossible* for the question: answers outside
the range any reading can give (a sum of two heights 1-6 is 2-12, so 0, 1 and 13-23 are impossible;
a difference is 0-5, so 6-11 are), on the same spacing as real answers (even perimeters, angles in
tens). "Pick the only option a sum of two heights can be" answers without looking at the image, and
a small model learns it from the text alone. On a problem without the shortcut all four options are
possible, so the rule learnt on shortcut problems is back to a guess.

Options are shuffled into letters uniformly, so the letter itself carries nothing.
"""

from __future__ import annotations

import random
from dataclasses import replace

from perceptrl.data.schema import Example
from perceptrl.errors import PerceptrlError
from perceptrl.synth.readings import Readings

N_OPTIONS = 4
LETTERS = "ABCD"
_TRIES = 200


def plain_options(readings: Readings, rng: random.Random) -> tuple[list[int], list[str]]:
    """Gold, a misreading of it, a decoy and a misreading of the decoy (values, roles), unshuffled."""
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
