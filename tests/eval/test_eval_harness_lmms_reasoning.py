"""lmms-eval's reasoning-task answer rules (MathVerse): extraction order, option letters, relaxed
match and math-verify, quirks included (benchmarks/eval_parity.py compares with lmms-eval's code)."""

import pytest

from perceptrl.eval.harness_lmms_reasoning import option_letter, reasoning_extract, reasoning_rules


def test_reasoning_extraction_order():
    assert reasoning_extract("<answer>0</answer> then <answer>5</answer>") == "0"  # the first tag
    assert reasoning_extract("so \\boxed{\\frac{1}{2}} or \\boxed{3}") == "3"
    assert reasoning_extract("the area is 12.\nDone") == "12"
    assert reasoning_extract("the answer is B") == ""


@pytest.mark.parametrize("text,letter", [
    ("B", "B"), ("(C)", "C"), ("The answer is D", "D"), ("Area $=9\\pi$", "A"), ("9\\pi", ""),
    ("I think C. Not B", "B"), ("b", ""),
])
def test_option_letter(text, letter):
    assert option_letter(text) == letter


def test_reasoning_rules_quirks():
    assert reasoning_rules("<answer>B:50°</answer>", "B")[0]
    assert not reasoning_rules("B", "B")[0]  # no tag, box or trailing number: nothing extracted
    assert reasoning_rules("<answer>C</answer>", "C\nD")[0]  # the gold's letter parser sees only C
    assert reasoning_rules("<answer>\\frac{7}{4}</answer>", "1.75")[0]  # math-verify
