"""Kind ``geometry``: figures with labelled lengths and angles, drawn to scale.

Questions and their facts:

* rectangle perimeter / area — ``AB = 6``, ``BC = 4``;
* missing angle of a triangle — ``angle ABC = 40°``, ``angle ACB = 60°``;
* triangle perimeter — ``AB = 5``, ``BC = 7``, ``CA = 6``.

Difficulty: 1 = rectangle perimeter only; 2 = adds rectangle area and the missing angle;
3 = adds the triangle perimeter.
"""

from __future__ import annotations

import math
import random

from perceptrl.data.schema import Box
from perceptrl.synth.draw import canvas, draw_label
from perceptrl.synth.readings import Readings, int_range
from perceptrl.synth.scene import Scene

_LEVELS = {1: ("rect_perimeter",),
           2: ("rect_perimeter", "rect_area", "triangle_angle"),
           3: ("rect_perimeter", "rect_area", "triangle_angle", "triangle_perimeter")}
_INK = (0, 0, 0)
_LABEL_INK = (20, 60, 200)


def _fit(points: list[tuple[float, float]], size: int, margin: float) -> list[tuple[float, float]]:
    """Scale and centre ``points`` (y up) into the square image, leaving ``margin`` px for labels."""
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    span = max(max(xs) - min(xs), max(ys) - min(ys))
    k = (size - 2 * margin) / span
    w, h = (max(xs) - min(xs)) * k, (max(ys) - min(ys)) * k
    ox, oy = (size - w) / 2, (size - h) / 2
    return [(ox + (x - min(xs)) * k, size - (oy + (y - min(ys)) * k)) for x, y in points]


def _outward(p, centroid, dist):
    dx, dy = p[0] - centroid[0], p[1] - centroid[1]
    n = math.hypot(dx, dy) or 1.0
    return p[0] + dx / n * dist, p[1] + dy / n * dist


def _polygon(draw, pts, names, size, fs, diagonal=False):
    """Outline plus vertex letters (pushed away from the centroid, or diagonally off the corners of
    a rectangle so they never crowd a side label); returns the centroid and the letters' boxes."""
    draw.polygon([(round(x), round(y)) for x, y in pts], outline=_INK, width=2)
    c = (sum(p[0] for p in pts) / len(pts), sum(p[1] for p in pts) / len(pts))
    boxes = []
    for p, name in zip(pts, names):
        if diagonal:
            q = (p[0] + math.copysign(fs * 0.55, p[0] - c[0]), p[1] + math.copysign(fs * 0.55, p[1] - c[1]))
        else:
            q = _outward(p, c, fs * 0.75)
        q = (min(max(q[0], fs / 2), size - fs / 2), min(max(q[1], fs / 2), size - fs / 2))
        boxes.append(Box(*map(float, draw_label(draw, q, name, fs)), label=f"point {name}"))
    return c, boxes


def _side_label(draw, p, q, centroid, text, size, fs, names):
    mid = ((p[0] + q[0]) / 2, (p[1] + q[1]) / 2)
    pos = _outward(mid, centroid, fs * 0.8)
    pos = (min(max(pos[0], fs), size - fs), min(max(pos[1], fs / 2), size - fs / 2))
    return Box(*map(float, draw_label(draw, pos, text, fs, fill=_LABEL_INK)), label=f"length {names}")


def make(rng: random.Random, difficulty: int, size: int) -> Scene:
    q = rng.choice(_LEVELS[difficulty])
    fs = max(8, round(size * 0.115))
    margin = fs * 1.6
    img, draw = canvas(size)
    if q.startswith("rect"):
        w, h = rng.randint(2, 9), rng.randint(2, 9)
        pts = _fit([(0, h), (w, h), (w, 0), (0, 0)], size, margin)  # A top-left, clockwise
        c, boxes = _polygon(draw, pts, "ABCD", size, fs, diagonal=True)
        boxes.append(_side_label(draw, pts[0], pts[1], c, str(w), size, fs, "AB"))
        boxes.append(_side_label(draw, pts[1], pts[2], c, str(h), size, fs, "BC"))
        facts = [("AB", str(w)), ("BC", str(h))]
        if q == "rect_perimeter":
            answer = 2 * (w + h)
            question = "ABCD is a rectangle. What is its perimeter?"
            steps = [f"2 * ({w} + {h}) = {answer}"]
        else:
            answer = w * h
            question = "ABCD is a rectangle. What is its area?"
            steps = [f"{w} * {h} = {answer}"]
        caption = f"A rectangle ABCD with AB = {w} and BC = {h}."
        params = {"figure": "rectangle", "AB": w, "BC": h, "question": q}
    elif q == "triangle_angle":
        b, cc = _triangle_angles(rng)
        a = 180 - b - cc
        # B at the origin, C on the x axis, A where the two base angles meet.
        tb, tc = math.tan(math.radians(b)), math.tan(math.radians(cc))
        ax = tc / (tb + tc)
        pts = _fit([(ax, ax * tb), (0, 0), (1, 0)], size, margin)  # A, B, C
        cen, boxes = _polygon(draw, pts, "ABC", size, fs)
        for (vx, vy), val, name in ((pts[1], b, "ABC"), (pts[2], cc, "ACB")):
            pos = (vx + (cen[0] - vx) * 0.42, vy + (cen[1] - vy) * 0.42)
            boxes.append(Box(*map(float, draw_label(draw, pos, f"{val}°", fs, fill=_LABEL_INK)),
                             label=f"angle {name}"))
        facts = [("angle ABC", f"{b}°"), ("angle ACB", f"{cc}°")]
        answer = a
        question = "In triangle ABC, what is angle BAC in degrees?"
        steps = [f"180 - {b} - {cc} = {a}"]
        caption = f"A triangle ABC with angle ABC = {b}° and angle ACB = {cc}°."
        params = {"figure": "triangle", "ABC": b, "ACB": cc, "question": q}
    else:  # triangle_perimeter
        ab, bc, ca = _triangle_sides(rng)
        # B at the origin, C at (bc, 0), A from the law of cosines.
        ax = (ab**2 + bc**2 - ca**2) / (2 * bc)
        pts = _fit([(ax, math.sqrt(max(ab**2 - ax**2, 0.0))), (0, 0), (bc, 0)], size, margin)
        cen, boxes = _polygon(draw, pts, "ABC", size, fs)
        for (i, j), val, name in (((0, 1), ab, "AB"), ((1, 2), bc, "BC"), ((2, 0), ca, "CA")):
            boxes.append(_side_label(draw, pts[i], pts[j], cen, str(val), size, fs, name))
        facts = [("AB", str(ab)), ("BC", str(bc)), ("CA", str(ca))]
        answer = ab + bc + ca
        question = "What is the perimeter of triangle ABC?"
        steps = [f"{ab} + {bc} + {ca} = {answer}"]
        caption = f"A triangle ABC with AB = {ab}, BC = {bc} and CA = {ca}."
        params = {"figure": "triangle", "AB": ab, "BC": bc, "CA": ca, "question": q}
    xs = [p[0] for p in pts]
    ys = [p[1] for p in pts]
    boxes.insert(0, Box(float(math.floor(min(xs))), float(math.floor(min(ys))),
                        float(math.ceil(max(xs))), float(math.ceil(max(ys))), label=params["figure"]))
    return Scene("geometry", img, question, answer, facts, steps, boxes, caption, params=params)


def solve(params: dict) -> int:
    q = params["question"]
    if q == "rect_perimeter":
        return 2 * (params["AB"] + params["BC"])
    if q == "rect_area":
        return params["AB"] * params["BC"]
    if q == "triangle_angle":
        return 180 - params["ABC"] - params["ACB"]
    return params["AB"] + params["BC"] + params["CA"]


def _triangle_angles(rng: random.Random) -> tuple[int, int]:
    """Angles ABC and ACB in tens of degrees, leaving angle A >= 30."""
    b = 10 * rng.randint(3, 8)
    return b, 10 * rng.randint(3, 15 - b // 10)


def _triangle_sides(rng: random.Random) -> tuple[int, int, int]:
    """Sides AB, BC, CA of a triangle that is not too flat to draw."""
    while True:
        ab, bc, ca = (rng.randint(3, 9) for _ in range(3))
        if _is_triangle((ab, bc, ca)):
            return ab, bc, ca


def _is_triangle(s) -> bool:
    ab, bc, ca = s
    return ab + bc > ca + 1 and bc + ca > ab + 1 and ca + ab > bc + 1


def _angles_weight(r) -> float:
    """B uniform in 30-80, then C uniform in 30..150-B (what :func:`_triangle_angles` draws)."""
    b, c = r
    return 1.0 / (13 - b // 10) if 30 <= b <= 80 and 30 <= c <= 150 - b else 0.0


def readings(params: dict) -> Readings:
    """The labelled lengths or angles as a reading, with the generator's ranges and draws."""
    q = params["question"]
    if q.startswith("rect"):
        side = int_range(2, 9)
        answer = (lambda r: 2 * (r[0] + r[1])) if q == "rect_perimeter" else (lambda r: r[0] * r[1])
        return Readings((params["AB"], params["BC"]), (side, side), answer)
    if q == "triangle_angle":
        return Readings((params["ABC"], params["ACB"]), (int_range(30, 80, 10), int_range(30, 120, 10)),
                        lambda r: 180 - r[0] - r[1], _angles_weight)
    side = int_range(3, 9)
    return Readings((params["AB"], params["BC"], params["CA"]), (side,) * 3, sum,
                    lambda r: 1.0 if _is_triangle(r) else 0.0)
