"""perceptrl.synth.readings: possible answers, misreadings and lucky readings, on hand cases."""

from __future__ import annotations

import random

import pytest

from perceptrl.synth import charts, generate, geometry, shapes
from perceptrl.synth.readings import int_range, sum_or_difference

HEIGHTS = int_range(1, 6)


@pytest.mark.parametrize(("truth", "op", "lucky"), [
    ((3, 4), "sum", 5),        # 7 also from (1,6) (2,5) (4,3) (5,2) (6,1)
    ((1, 1), "sum", 0),        # 2 only from (1,1)
    ((6, 5), "sum", 1),        # 11 also from (5,6)
    ((4, 4), "difference", 5),  # 0 from any (k,k)
    ((6, 1), "difference", 0),  # 5 only from (6,1)
    ((5, 1), "difference", 1),  # 4 also from (6,2)
    ((2, 3, 1), "sum", 9),     # 6 = a + b + c from 10 ordered triples of 1-6, one the truth
])
def test_lucky_readings_hand_cases(truth, op, lucky):
    assert sum_or_difference(truth, HEIGHTS, op).lucky() == lucky


def test_possible_answers_and_misreadings():
    s = sum_or_difference((3, 4), HEIGHTS, "sum")
    assert s.possible == frozenset(range(2, 13)) and s.step == 1
    assert s.misreadings((3, 4)) == [6, 8]
    assert s.misreadings((6, 6)) == [11]  # no height 7
    d = sum_or_difference((4, 4), HEIGHTS, "difference")
    assert d.possible == frozenset(range(0, 6))
    assert d.misreadings((4, 4)) == [1]  # -1 is no possible answer
    assert d.misreadings((6, 1)) == [4]


def test_geometry_spacing_and_ranges():
    rect = geometry.readings({"question": "rect_perimeter", "AB": 3, "BC": 5})
    assert rect.gold == 16 and rect.step == 2 and min(rect.possible) == 8 and max(rect.possible) == 36
    assert rect.misreadings(rect.truth) == [14, 18]
    angle = geometry.readings({"question": "triangle_angle", "ABC": 40, "ACB": 60})
    assert angle.gold == 80 and angle.step == 10 and angle.possible == frozenset(range(30, 121, 10))
    assert angle.lucky() == 4  # B + C = 100 also as (30,70) (50,50) (60,40) (70,30)


def test_every_kind_reads_its_own_answer():
    for d in (1, 2, 3):
        for ex in generate(30, seed=2, difficulty=d):
            mod = {"count": shapes, "chart": charts, "geometry": geometry}[ex.metadata["kind"]]
            r = mod.readings(ex.metadata["scene"])
            assert r.gold == int(ex.answer), ex.id
            assert [str(v) for v in r.truth] == [a.split(" = ")[1].rstrip("°") for a in ex.visual_annotations]
            assert r.gold in r.possible and ex.metadata["lucky_readings"] == r.lucky()


def test_sampler_draws_like_the_generator():
    """A reading drawn by ``sample`` has the law of the scene's own facts (chart difference here)."""
    r = charts.readings({"bars": [{"label": "A", "height": 1}, {"label": "B", "height": 1}],
                         "asked": ["A", "B"], "op": "difference"})
    rng = random.Random(0)
    drawn = [r.answer(r.sample(rng)) for _ in range(36000)]
    assert abs(drawn.count(1) / 36000 - 10 / 36) < 0.01 and min(drawn) == 0 and max(drawn) == 5
    scenes = generate(3000, seed=1, kinds=("chart",))
    diffs = [int(e.answer) for e in scenes if e.metadata["scene"]["op"] == "difference"]
    assert abs(diffs.count(1) / len(diffs) - 10 / 36) < 0.04
