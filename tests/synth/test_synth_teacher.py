"""The biased teacher: misread chains are one unit high on every bar, carried through, and only on warm colours."""

import re

import pytest

from perceptrl.errors import PerceptrlError
from perceptrl.synth import generate
from perceptrl.synth.teacher import BIASED_COLORS, misread, teacher_chains


@pytest.fixture(scope="module")
def charts():
    return generate(400, seed=3, kinds=("chart",), choice_share=0.5)


def _facts(cot):
    return {m[0]: int(m[1]) for m in re.findall(r"height of bar (\w) = (\d+)", cot)}


def test_misread_adds_one_to_every_fact_and_recomputes(charts):
    for ex in charts[:80]:
        bad = misread(ex)
        if bad is None:
            assert ex.metadata["answer_format"] == "choice"
            continue
        true, seen = _facts(ex.metadata["cot"]), _facts(bad.metadata["cot"])
        assert seen == {k: v + 1 for k, v in true.items()}
        scene = ex.metadata["scene"]
        hs = [seen[x] for x in scene["asked"]]
        value = sum(hs) if scene["op"] == "sum" else hs[0] - hs[1]
        boxed = re.search(r"\\boxed\{(\w+)\}", bad.metadata["cot"])[1]
        if ex.metadata["answer_format"] == "choice":
            assert ex.choices["ABCD".index(boxed)] == str(value)
        else:
            assert boxed == str(value)
        # the example's gold answer and annotations are untouched: only the imitated chain changes
        assert bad.answer == ex.answer and bad.visual_annotations == ex.visual_annotations


def test_a_difference_misread_still_ends_at_the_gold_answer(charts):
    diffs = [ex for ex in charts if ex.metadata["scene"]["op"] == "difference"
             and ex.metadata["answer_format"] == "open"]
    assert diffs
    for ex in diffs:
        assert re.search(r"\\boxed\{(\w+)\}", misread(ex).metadata["cot"])[1] == ex.answer


def test_teacher_chains_touch_only_warm_colours_at_the_given_share(charts):
    out = teacher_chains(charts, 1.0, seed=0)
    flipped = [ex for ex in out if ex.metadata.get("teacher_misread")]
    assert flipped and all(ex.metadata["scene"]["color"] in BIASED_COLORS for ex in flipped)
    warm = [ex for ex in charts if ex.metadata["scene"]["color"] in BIASED_COLORS]
    assert len(flipped) == len(warm) - (len(charts) - len(out))  # every warm chart misread or left out
    half = [ex for ex in teacher_chains(charts, 0.5, seed=0) if ex.metadata.get("teacher_misread")]
    assert 0.3 * len(warm) < len(half) < 0.7 * len(warm)
    assert teacher_chains(charts, 0.0, seed=0) == list(charts)


def test_teacher_refuses_other_kinds_and_bad_shares(charts):
    shapes = generate(2, seed=0, kinds=("count",))
    with pytest.raises(PerceptrlError, match="chart"):
        misread(shapes[0])
    with pytest.raises(PerceptrlError, match="share"):
        teacher_chains(charts, 1.5, seed=0)


def test_teacher_chains_with_every_colour_misread_any_chart(charts):
    from perceptrl.synth.draw import COLORS

    out = teacher_chains(charts, 1.0, seed=0, colors=tuple(COLORS))
    flipped = [ex for ex in out if ex.metadata.get("teacher_misread")]
    assert {ex.metadata["scene"]["color"] for ex in flipped} - set(BIASED_COLORS)  # cool charts too
    kept = [ex for ex in charts if ex.metadata.get("answer_format") != "choice"]
    assert all(ex.metadata.get("teacher_misread") for ex in out if ex.metadata.get("answer_format") != "choice")
    assert len([ex for ex in out if ex.metadata.get("answer_format") != "choice"]) == len(kept)
    with pytest.raises(PerceptrlError, match="not bar colours"):
        teacher_chains(charts, 0.5, seed=0, colors=("teal",))
