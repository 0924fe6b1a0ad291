"""perceptrl.synth.generate: reproducibility, exact answers, facts ↔ chain of thought, boxes."""

from __future__ import annotations

import io
import re

import pytest

from perceptrl.errors import PerceptrlError
from perceptrl.rewards.answer import extract_answer
from perceptrl.synth import DIFFICULTIES, KINDS, corpus, generate, solve

# METHODS.md §2 `strict_newlines`: <think>\n…\n</think>\n<answer>\n…\boxed{…}…\n</answer>
STRICT = re.compile(r"<think>\n.*\n</think>\n<answer>\n.*\\boxed\{.+\}.*\n</answer>", re.DOTALL)


def _png(img) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def every_kind_and_level():
    return [ex for d in DIFFICULTIES for ex in generate(30, seed=7, difficulty=d)]


def test_same_seed_same_bytes_other_seed_differs():
    a, b = generate(12, seed=3), generate(12, seed=3)
    assert [_png(x.images[0]) for x in a] == [_png(x.images[0]) for x in b]
    assert [(x.problem, x.answer, x.visual_annotations, x.metadata["cot"]) for x in a] == [
        (x.problem, x.answer, x.visual_annotations, x.metadata["cot"]) for x in b]
    c = generate(12, seed=4)
    assert [_png(x.images[0]) for x in a] != [_png(x.images[0]) for x in c]
    # problem i does not depend on n
    assert [_png(x.images[0]) for x in generate(5, seed=3)] == [_png(x.images[0]) for x in a[:5]]


def test_answers_recomputed_from_scene(every_kind_and_level):
    for ex in every_kind_and_level:
        assert solve(ex) == int(ex.answer), ex.id
        assert extract_answer(ex.metadata["cot"]) == ex.answer


def test_each_fact_matches_the_scene(every_kind_and_level):
    for ex in every_kind_and_level:
        scene, kind = ex.metadata["scene"], ex.metadata["kind"]
        for fact in ex.visual_annotations:
            lhs, rhs = fact.split(" = ")
            if kind == "count":
                name = lhs.removeprefix("number on the ")
                objs = [o for o in scene["objects"] if f"{o['color']} {o['shape']}" == name]
                assert len(objs) == 1 and str(objs[0]["digit"]) == rhs, (ex.id, fact)
            elif kind == "chart":
                bar = [b for b in scene["bars"] if f"height of bar {b['label']}" == lhs]
                assert len(bar) == 1 and str(bar[0]["height"]) == rhs, (ex.id, fact)
            else:
                key = lhs.removeprefix("angle ")
                assert str(scene[key]) + ("°" if lhs.startswith("angle") else "") == rhs, (ex.id, fact)


def test_cot_is_strict_format_and_states_every_fact(every_kind_and_level):
    for ex in every_kind_and_level:
        cot = ex.metadata["cot"]
        assert STRICT.fullmatch(cot), cot
        assert ex.visual_annotations
        for fact in ex.visual_annotations:
            assert fact in cot.split("\n")


def test_rules_judge_accepts_gold_and_rejects_a_wrong_fact(every_kind_and_level):
    rules = pytest.importorskip("perceptrl.judge.rules")
    for ex in every_kind_and_level[::7]:
        cot = ex.metadata["cot"]
        assert rules.judge_rules(ex.visual_annotations, cot) == [1] * len(ex.visual_annotations), ex.id
        lhs, rhs = ex.visual_annotations[0].split(" = ")
        wrong_value = str(int(rhs.rstrip("°")) + 1) + ("°" if rhs.endswith("°") else "")
        bad = cot.replace(f"{lhs} = {rhs}", f"{lhs} = {wrong_value}", 1)
        verdicts = rules.judge_rules(ex.visual_annotations, bad)
        assert verdicts[0] == 0 and sum(verdicts) < len(verdicts), (ex.id, bad)


def test_boxes_inside_image_and_labelled(every_kind_and_level):
    for ex in every_kind_and_level:
        w, h = ex.images[0].size
        assert ex.boxes
        for b in ex.boxes:
            assert 0 <= b.x0 < b.x1 <= w and 0 <= b.y0 < b.y1 <= h, (ex.id, b)
            assert b.label


def test_asked_objects_are_drawn_where_their_boxes_say(every_kind_and_level):
    """The pixel at the centre of each shape / bar box has that object's colour (not background)."""
    for ex in every_kind_and_level:
        if ex.metadata["kind"] == "geometry":
            continue
        img = ex.images[0]
        for b in ex.boxes:
            x = (b.x0 + b.x1) / 2
            y = b.y1 - 3  # near the base: inside triangles, circles and bars alike
            assert img.getpixel((int(x), int(y))) != (255, 255, 255), (ex.id, b)


def test_difficulty_adds_objects():
    def n_objects(d):
        return sum(len(ex.boxes) for ex in generate(20, seed=1, kinds=("count",), difficulty=d))
    assert n_objects(1) < n_objects(2) < n_objects(3)


def test_kinds_cycle_and_ids_unique():
    exs = generate(9, seed=0)
    assert [ex.metadata["kind"] for ex in exs] == list(KINDS) * 3
    assert len({ex.id for ex in exs}) == 9
    assert all(ex.problem.startswith("<image>") and len(ex.images) == 1 for ex in exs)


@pytest.mark.parametrize("kwargs", [{"kinds": ("maze",)}, {"difficulty": 9}, {"image_size": 100}])
def test_bad_settings_raise_user_error(kwargs):
    with pytest.raises(PerceptrlError):
        generate(1, **kwargs)


def test_corpus_has_prompts_cots_and_captions():
    text = list(corpus(n=5))
    assert any("<think>" in t for t in text) and any("bar chart" in t for t in text)
    assert any("MUST BE" in t for t in text)
