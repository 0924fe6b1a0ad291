"""Kind ``chart``: a bar chart with 2-4 labelled bars; read and combine bar heights.

The plot area is laid out so that one height unit is exactly one vision patch row
(``size / 8`` px: 14 px at the default 112 px; heights 1-6), with a light grid line per unit and y tick
labels, so that reading a height is counting grid rows.

Question: "What is the sum of the heights of bar A and bar C?"
Facts:    ``height of bar A = 3``, ``height of bar C = 6``.
Difficulty: 1 = two bars, 2 = three bars, 3 = four bars (sum or difference of two; at 3 also
the sum of three).
"""

from __future__ import annotations

import random

from perceptrl.data.schema import Box
from perceptrl.synth.draw import COLORS, canvas, draw_label
from perceptrl.synth.readings import Readings, int_range, sum_or_difference
from perceptrl.synth.scene import Scene

LETTERS = "ABCD"
MAX_HEIGHT = 6  # the top patch row stays free for the highest tick label
_LEVELS = {1: (2, ((2, "sum"), (2, "difference"))),
           2: (3, ((2, "sum"), (2, "difference"))),
           3: (4, ((2, "sum"), (2, "difference"), (3, "sum")))}
_GRID = (200, 200, 200)
_AXIS = (0, 0, 0)


def make(rng: random.Random, difficulty: int, size: int) -> Scene:
    n_bars, questions = _LEVELS[difficulty]
    unit = size / 8  # one height unit = one patch row at the default size
    left, bottom = unit, size - unit  # y ticks left of x=unit, bar letters below y=bottom
    img, draw = canvas(size)
    for k in range(1, MAX_HEIGHT + 1):
        y = round(bottom - k * unit)
        draw.line((round(left), y, size - 1, y), fill=_GRID, width=1)
        draw_label(draw, (left / 2, y), str(k), max(8, round(unit * 0.7)))
    color_name = rng.choice(sorted(COLORS))
    color = COLORS[color_name]
    heights = [rng.randint(1, MAX_HEIGHT) for _ in range(n_bars)]
    slot = (size - left) / 4  # always four slots: bar A sits in the same place in every chart
    bars = []
    for i, h in enumerate(heights):
        x0 = round(left + i * slot + slot * 0.18)
        x1 = round(left + (i + 1) * slot - slot * 0.18)
        y0 = round(bottom - h * unit)
        draw.rectangle((x0, y0, x1 - 1, round(bottom) - 1), fill=color)
        draw_label(draw, ((x0 + x1) / 2, (bottom + size) / 2), LETTERS[i], max(8, round(unit * 0.8)))
        bars.append({"label": LETTERS[i], "height": h, "box": [x0, y0, x1, round(bottom)]})
    draw.line((round(left), 0, round(left), round(bottom)), fill=_AXIS, width=1)
    draw.line((round(left), round(bottom), size - 1, round(bottom)), fill=_AXIS, width=1)

    n_ask, op = rng.choice(questions)
    asked = rng.sample(bars, n_ask)
    if op == "difference":
        asked.sort(key=lambda b: (-b["height"], b["label"]))
    else:
        asked.sort(key=lambda b: b["label"])
    labels = [b["label"] for b in asked]
    hs = [b["height"] for b in asked]
    answer, step = arithmetic(hs, op)
    if op == "sum":
        names = ", ".join(f"bar {x}" for x in labels[:-1]) + f" and bar {labels[-1]}"
        question = f"What is the sum of the heights of {names}?"
    else:
        question = f"How much taller is bar {labels[0]} than bar {labels[1]}?"
    steps = [step]
    facts = [(f"height of bar {x}", str(h)) for x, h in zip(labels, hs)]
    caption = f"A bar chart with {n_bars} bars: " + ", ".join(
        f"bar {b['label']} has height {b['height']}" for b in bars) + "."
    boxes = [Box(*map(float, b["box"]), label=f"bar {b['label']}") for b in bars]
    return Scene("chart", img, question, answer, facts, steps, boxes, caption,
                 params={"bars": bars, "asked": labels, "op": op, "color": color_name})


def arithmetic(hs: list[int], op: str) -> tuple[int, str]:
    """The value of ``op`` over the read heights and the chain's step line (``3 + 4 = 7``, ``6 - 3 = 3``)."""
    if op == "sum":
        value = sum(hs)
        return value, " + ".join(map(str, hs)) + f" = {value}"
    value = hs[0] - hs[1]
    return value, f"{hs[0]} - {hs[1]} = {value}"


def solve(params: dict) -> int:
    by_label = {b["label"]: b["height"] for b in params["bars"]}
    return arithmetic([by_label[x] for x in params["asked"]], params["op"])[0]


def readings(params: dict) -> Readings:
    """The asked heights as a reading (each 1-6, drawn uniformly; a difference lists the taller first)."""
    by_label = {b["label"]: b["height"] for b in params["bars"]}
    truth = [by_label[x] for x in params["asked"]]
    return sum_or_difference(truth, int_range(1, MAX_HEIGHT), params["op"])
