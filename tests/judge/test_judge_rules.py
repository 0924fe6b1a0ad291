"""The rules judge on the synthetic world's `LHS = RHS` facts (CONTRACTS.md)."""

import pytest

from perceptrl.judge.rules import judge_rules, normalize


def test_verbatim_facts_are_present():
    anns = ["number on the red circle = 7", "height of bar C = 6", "AB = 10", "angle ABC = 40°"]
    resp = "<think>\nnumber on the red circle = 7\nheight of bar C = 6\nAB = 10\nangle ABC = 40°\n</think>"
    assert judge_rules(anns, resp) == [1, 1, 1, 1]


@pytest.mark.parametrize(
    "response",
    [
        "The number on the red circle is 7, so",
        "Number On The Red Circle  =  7.",
        "the number on the red circle equals 7.0",
        "$\\text{number on the red circle} = 7$",
    ],
)
def test_normalised_forms_match(response):
    assert judge_rules(["number on the red circle = 7"], response) == [1]


def test_latex_degrees_and_angle_symbol():
    assert normalize("$\\angle ABC = 40^\\circ$") == "angle abc = 40°"
    assert judge_rules(["angle ABC = 40°"], "so $\\angle ABC = 40^{\\circ}$ and") == [1]
    assert judge_rules(["angle ABC = 40°"], "angle ABC is 40 degrees") == [1]
    assert judge_rules(["angle ABC = 40°"], "angle ABC = 40") == [0]  # the unit is part of the fact


@pytest.mark.parametrize(
    "response",
    [
        "AB = 100",  # a longer number
        "ABC = 10",  # a longer name
        "AB, BC and CD; then 10 appears later",  # value not in the LHS's clause
        "10 = AB",  # value before the name: documented limitation
        "the red circle shows seven",  # paraphrase: documented limitation
    ],
)
def test_absent(response):
    assert judge_rules(["AB = 10", "number on the red circle = 7"][: 1], response) == [0]


def test_spray_guard_contradicting_values_earn_nothing():
    spray = ", ".join(f"AB = {k}" for k in range(1, 21))
    assert judge_rules(["AB = 10"], spray) == [0]
    # a derivation that ends in the value is not a contradiction
    assert judge_rules(["angle ABC = 40°"], "angle ABC = 180° - 140° = 40°, and angle ABC = 40°") == [1]


def test_relation_sentences_by_normalised_substring():
    anns = ["AB is parallel to CD", "E lies on CD."]
    assert judge_rules(anns, "Since ab  is parallel to cd, we get") == [1, 0]


def test_facts_stated_one_per_line_are_each_credited():
    # regression: newlines were collapsed into spaces, so the clause of the first fact ran into
    # the next line and the second fact (same LHS shape) was never credited
    cot = "<think>\nThere are 3 circles.\nnumber of circles = 3\nnumber of squares = 2\n3 + 2 = 5\n</think>"
    assert judge_rules(["number of circles = 3", "number of squares = 2"], cot) == [1, 1]
    assert judge_rules(["number of squares = 4"], cot) == [0]
