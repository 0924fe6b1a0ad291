"""Free-form golds as MathVerse writes them (sentences, units, degree marks, a lost \\frac) accept
the bare correct value, and still reject wrong ones; equations and intervals are left alone."""

import pytest

from perceptrl.eval.gold import bare_value, gold_variants
from perceptrl.eval.scoring import score_response

# (gold as in the public file, a right bare answer, a wrong one) — shapes from MathVerse testmini
CASES = [
    ("Area $=9 \\pi \\mathrm{cm}^{2}$", "9\\pi", "9"),
    ("Area $=\\frac{25 \\pi}{4} \\mathrm{~mm}^{2}$", "\\frac{25\\pi}{4}", "\\frac{25}{4}"),
    ("Circumference $=50.27 \\mathrm{~cm}$", "50.27", "50.72"),
    ("Surface Area $=603.186$ units $^{2}$", "603.186", "603"),
    ("Volume $=452.389$ cubic units", "452.389", "452.398"),
    ("S.A. of rectangular prism $=4371.46 \\mathrm{~mm}^{2}$", "4371.46", "4371"),
    ("$r=24.4$", "24.4", "2.44"),
    ("$\\mathrm{SA}=3298.67 \\mathrm{~cm}^{2}$", "3298.67", "3298"),
    ("230 ^\\circ T", "230", "320"),
    ("53.6^\\circ ", "53.6", "36.5"),
    ("4.4 m", "4.4", "44"),
    ("{8}{5} \\pi", "\\frac{8}{5}\\pi", "\\frac{5}{8}\\pi"),
    ("=\\frac{7}{4}", "\\frac{7}{4}", "\\frac{4}{7}"),
    ("$13 \\%$", "13", "31"),
    ("-4.9\n-4.9", "-4.9", "4.9"),
    ("36\\pi \\mathrm{cm}^3", "36\\pi", "36"),
]


def _item(gold):
    return {"answer": gold, "choices": None, "metadata": {"bench": "mathverse", "question_type": "free-form"}}


@pytest.mark.parametrize("gold,right,wrong", CASES)
def test_bare_value_of_a_written_out_gold_is_accepted(gold, right, wrong):
    assert score_response(f"<answer>\\boxed{{{right}}}</answer>", _item(gold))["correct"]
    assert not score_response(f"<answer>\\boxed{{{wrong}}}</answer>", _item(gold))["correct"]


def test_the_whole_gold_is_still_accepted():
    gold = "Area $=9 \\pi \\mathrm{cm}^{2}$"
    assert score_response(f"<answer>{gold}</answer>", _item(gold))["correct"]


@pytest.mark.parametrize("gold", [
    "$y-3=\\frac{2}{3}(x-8)$", "$x^{2}+y^{2}=49$", "y=-2 x+5", "$[-5,-3) \\cup(-3,5]$", "\\pi", "4 \\pi", "$5=s$",
])
def test_equations_intervals_and_pi_are_not_cut(gold):
    assert bare_value(gold) == gold.replace("$", "").strip()


def test_multiple_choice_golds_are_not_rewritten():
    item = {"answer": "A", "choices": None, "metadata": {"bench": "mathverse", "options": ["5 cm", "6 cm"]}}
    assert score_response("<answer>\\boxed{A}</answer>", item)["correct"]
    assert gold_variants("A") == ["A"]


def test_mathv_gold_quirks():
    assert score_response("<answer>\\boxed{69}</answer>", _item("69{degrees}"))["correct"]
    assert bare_value("\x0crac{36}{13}") == "\\frac{36}{13}"  # "\frac" read from JSON as form feed + "rac"
