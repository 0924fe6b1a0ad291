"""Kind ``count``: coloured shapes each carrying a digit; arithmetic over the digits.

Question: "What is the sum of the numbers on the red circle and the blue square?"
Facts:    ``number on the red circle = 7``, ``number on the blue square = 2``.
Difficulty: 1 = three shapes, sum of two; 2 = four shapes, sum or difference of two;
3 = five shapes on a finer grid, sum of three. Unasked shapes are distractors.
"""

from __future__ import annotations

import random

from perceptrl.data.schema import Box
from perceptrl.synth.draw import COLORS, canvas, draw_digit
from perceptrl.synth.readings import Readings, int_range, sum_or_difference
from perceptrl.synth.scene import Scene

SHAPES = ("circle", "square", "triangle")
_LEVELS = {1: (3, 2, 2, ("sum",)), 2: (4, 2, 2, ("sum", "difference")), 3: (5, 3, 3, ("sum",))}
# difficulty -> (number of shapes, grid side, number of shapes asked about, operations)

_WORDS = {2: "two", 3: "three", 4: "four", 5: "five"}


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def make(rng: random.Random, difficulty: int, size: int) -> Scene:
    n, grid, n_ask, ops = _LEVELS[difficulty]
    colors = rng.sample(sorted(COLORS), n)
    cells = rng.sample(range(grid * grid), n)
    cell = size / grid
    img, draw = canvas(size)
    objects = []
    for color, c in zip(colors, cells):
        shape = rng.choice(SHAPES)
        digit = rng.randint(1, 9)
        s = cell * rng.uniform(0.80, 0.90)  # shape side
        slack = cell - s
        x0 = (c % grid) * cell + rng.uniform(0, slack)
        y0 = (c // grid) * cell + rng.uniform(0, slack)
        x0, y0, x1, y1 = round(x0), round(y0), round(x0 + s), round(y0 + s)
        rgb = COLORS[color]
        if shape == "circle":
            draw.ellipse((x0, y0, x1 - 1, y1 - 1), fill=rgb)
            gw, gh, gcy = 0.36, 0.52, 0.5
        elif shape == "square":
            draw.rectangle((x0, y0, x1 - 1, y1 - 1), fill=rgb)
            gw, gh, gcy = 0.40, 0.56, 0.5
        else:
            draw.polygon([((x0 + x1) / 2, y0), (x1 - 1, y1 - 1), (x0, y1 - 1)], fill=rgb)
            gw, gh, gcy = 0.28, 0.38, 0.64
        cx, cy = (x0 + x1) / 2, y0 + gcy * (y1 - y0)
        w, h = gw * (x1 - x0), gh * (y1 - y0)
        draw_digit(draw, (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2), digit)
        objects.append({"color": color, "shape": shape, "digit": digit, "box": [x0, y0, x1, y1]})

    op = rng.choice(ops)
    asked = rng.sample(objects, n_ask)
    if op == "difference":
        asked.sort(key=lambda o: -o["digit"])
    names = [f"{o['color']} {o['shape']}" for o in asked]
    digits = [o["digit"] for o in asked]
    if op == "sum":
        answer = sum(digits)
        question = f"What is the sum of the numbers on {_join(['the ' + x for x in names])}?"
        steps = [" + ".join(map(str, digits)) + f" = {answer}"]
    else:
        answer = digits[0] - digits[1]
        question = f"What is the number on the {names[0]} minus the number on the {names[1]}?"
        steps = [f"{digits[0]} - {digits[1]} = {answer}"]
    facts = [(f"number on the {name}", str(d)) for name, d in zip(names, digits)]
    caption = f"{_WORDS[n].capitalize()} shapes: " + _join(
        [f"{_article(o['color'])} {o['color']} {o['shape']} with the number {o['digit']}" for o in objects]) + "."
    boxes = [Box(*map(float, o["box"]), label=f"{o['color']} {o['shape']}") for o in objects]
    return Scene("count", img, question, answer, facts, steps, boxes, caption,
                 params={"objects": objects, "asked": names, "op": op})


def solve(params: dict) -> int:
    """Recompute the answer from the scene description (used by tests and sanity checks)."""
    by_name = {f"{o['color']} {o['shape']}": o["digit"] for o in params["objects"]}
    digits = [by_name[n] for n in params["asked"]]
    return sum(digits) if params["op"] == "sum" else digits[0] - digits[1]


def readings(params: dict) -> Readings:
    """The asked digits as a reading (each 1-9, drawn uniformly; a difference lists the larger first)."""
    by_name = {f"{o['color']} {o['shape']}": o["digit"] for o in params["objects"]}
    return sum_or_difference([by_name[n] for n in params["asked"]], int_range(1, 9), params["op"])
