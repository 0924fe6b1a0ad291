"""The rule cascade and each benchmark's rules, on hand-written responses."""

import pytest

from perceptrl.eval.scoring import extract_prediction, score_response, strip_unit


def ok(response, item):
    return score_response(response, item)["correct"]


MATHVISTA_FLOAT = {"id": "1", "answer": "2.5", "metadata": {
    "bench": "mathvista", "unit": "cm", "precision": 1, "answer_type": "float", "question_type": "free_form"}}
MATHVISTA_INT = {"id": "3", "answer": "4", "metadata": {
    "bench": "mathvista", "unit": None, "precision": None, "answer_type": "integer", "question_type": "free_form"}}
MATHVISTA_MC = {"id": "2", "answer": "8/11", "metadata": {
    "bench": "mathvista", "options": ["3/11", "8/11", "6/11"], "question_type": "multi_choice", "answer_type": "text"}}


@pytest.mark.parametrize("response, expected", [
    ("<think>AB is 2.5</think><answer>\\boxed{2.5}</answer>", True),
    ("<answer>2.54</answer>", True),  # one decimal place: 2.54 rounds to 2.5
    ("<answer>2.46</answer>", True),
    ("<answer>2.56</answer>", False),  # rounds to 2.6
    ("<answer>2.6</answer>", False),
    ("<answer>\\boxed{2.5 cm}</answer>", True),  # the item's unit is stripped
    ("<answer>\\boxed{2.5\\text{ cm}}</answer>", True),
    ("<answer>2.5 cm^2</answer>", True),
    ("The final answer is 2.5cm.", True),
    ("<answer>25 mm</answer>", False),  # other units are not converted
    ("no answer at all", False),
])
def test_mathvista_precision_and_units(response, expected):
    assert ok(response, MATHVISTA_FLOAT) is expected


def test_mathvista_integer_has_no_tolerance():
    assert ok("<answer>4</answer>", MATHVISTA_INT)
    assert not ok("<answer>4.4</answer>", MATHVISTA_INT)
    assert ok("There are 4 apples", MATHVISTA_INT)  # fallback: last number


@pytest.mark.parametrize("response, expected", [
    ("<answer>B</answer>", True),  # letter of the right option
    ("<answer>(B)</answer>", True),
    ("<answer>\\boxed{8/11}</answer>", True),  # option text
    ("<answer>\\frac{8}{11}</answer>", True),  # same value, other notation
    ("<answer>A</answer>", False),
    ("<answer>3/11</answer>", False),
    ("I would pick (B).", True),  # fallback: last option letter
])
def test_mathvista_multi_choice_letter_or_text(response, expected):
    assert ok(response, MATHVISTA_MC) is expected


MATHVISION_MC = {"id": "1", "answer": "C", "choices": ["1", "2", "3", "4", "5"], "metadata": {"bench": "mathvision"}}
MATHVISION_FREE = {"id": "2", "answer": "7", "choices": None, "metadata": {"bench": "mathvision"}}


@pytest.mark.parametrize("response, expected", [
    ("<answer>C</answer>", True),  # the letter
    ("<answer>\\boxed{3}</answer>", True),  # the option text
    ("<answer>C. 3</answer>", True),
    ("<answer>D</answer>", False),
    ("<answer>2</answer>", False),  # text of another option
])
def test_mathvision_letter_or_text(response, expected):
    assert ok(response, MATHVISION_MC) is expected


def test_mathvision_free_form():
    assert ok("<answer>\\boxed{7}</answer>", MATHVISION_FREE)
    assert not ok("<answer>\\boxed{8}</answer>", MATHVISION_FREE)


def test_mathverse_letter_and_math_verify():
    mc = {"id": "1", "answer": "A", "metadata": {"bench": "mathverse", "options": ["5", "6", "7", "8"]}}
    vision_only = {"id": "5", "answer": "A", "metadata": {"bench": "mathverse", "options": None}}  # choices in the image
    free = {"id": "6", "answer": "4\\pi", "metadata": {"bench": "mathverse"}}
    assert ok("<answer>A</answer>", mc) and ok("<answer>5</answer>", mc) and not ok("<answer>B</answer>", mc)
    assert ok("<answer>\\boxed{A}</answer>", vision_only) and not ok("<answer>C</answer>", vision_only)
    assert ok("<answer>\\boxed{4\\pi}</answer>", free)
    assert ok("<answer>$4 \\pi$</answer>", free)
    assert not ok("<answer>\\boxed{4}</answer>", free)


def test_wemath_letter_or_option_text():
    item = {"id": "2steps_1|2steps_1", "answer": "A", "choices": ["31.4", "3.14", "62.8", "40", "No correct answer"],
            "metadata": {"bench": "wemath"}}
    assert ok("<answer>A</answer>", item) and ok("<answer>31.4</answer>", item)
    assert not ok("<answer>C</answer>", item) and not ok("<answer>62.8</answer>", item)


def test_geo3k_math_verify_with_wrapped_gold():
    item = {"id": "0", "answer": "2\\sqrt{3}", "metadata": {"bench": "geo3k"}}
    assert ok("<answer>\\boxed{2\\sqrt{3}}</answer>", item)
    assert ok("<answer>\\boxed{\\sqrt{12}}</answer>", item)
    assert not ok("<answer>\\boxed{2}</answer>", item)  # a bare 2\sqrt{3} must not parse as 2


def test_extraction_order():
    item = {"answer": "1", "metadata": {}}
    assert extract_prediction("<answer>\n x = \\boxed{5}\n</answer>", item) == ("5", "answer_tag")
    assert extract_prediction("so \\boxed{3} and then \\boxed{4}", item) == ("4", "boxed")
    assert extract_prediction("1 + 2 = 3, then 3 * 4 = 12", item) == ("12", "fallback")
    assert extract_prediction("I cannot tell from this picture.", item) == (None, "none")
    # a short one-line response is taken whole (bare words and free-form answers: issue 16)
    assert extract_prediction("even", item) == ("even", "fallback")


def test_strip_unit_only_strips_the_unit():
    assert strip_unit("5 cm^2", "cm") == "5"
    assert strip_unit("12 \\text{cm}", "cm") == "12"
    assert strip_unit("5 m", "cm") == "5 m"
    assert strip_unit("cm", "cm") == "cm"  # never empties the answer
