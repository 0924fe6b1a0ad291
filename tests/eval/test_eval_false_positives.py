"""One case per false-positive (and missed-extraction) class found against lmms-eval (issue 16)."""

import pytest

from perceptrl.eval.benchmark_rows import parse_inline_choices
from perceptrl.eval.scoring import score_response


def vista(answer, choices=None, **meta):
    # as stored in items.jsonl: the official query carries the options, metadata.options holds them
    return {"answer": answer, "choices": None, "metadata": {"bench": "mathvista", "options": choices, **meta}}


def verse(answer, options=None):
    return {"answer": answer, "choices": None, "metadata": {"bench": "mathverse", "options": options}}


CASES = [
    # (class, response, item, expected)
    ("tuple with a different component", "<answer>(2, 5)</answer>", vista("(2, 3)"), False),
    ("interval with another end", "<answer>[0, 5]</answer>", vista("[0, 4]"), False),
    ("range with another bound", "<answer>x \\geq 2</answer>", vista("x \\geq 3"), False),
    ("half-open vs open interval", "<answer>(-\\infty, 3)</answer>", vista("(-\\infty, 3]"), False),
    ("math-verify keeps only the last number", "<answer>3 and 5</answer>", vista("5"), False),
    ("several values, 'or'", "The answer is 3 or 5.", vista("5"), False),
    ("an expression is still one value", "<answer>3+5</answer>", vista("8"), True),
    ("option text that looks like a letter (pred letter A = option 'B')", "<answer>A</answer>",
     vista("A", ["B", "A", "C"]), False),
    ("option text that looks like a letter (letter B = option 'A')", "<answer>B</answer>",
     vista("A", ["B", "A", "C"]), True),
    ("thousands separator in the prediction", "<answer>1,000</answer>", vista("1000", answer_type="integer"), True),
    ("thousands separator in the gold", "<answer>1000</answer>", vista("1,000"), True),
    ("a decimal comma is not a thousands separator", "<answer>1,5</answer>", vista("15"), False),
    ("list spacing", "<answer>[1,2,3]</answer>", vista("[1, 2, 3]", answer_type="list"), True),
    ("a lower-case letter is not the nearest option", "<answer>b</answer>", vista("8/11", ["3/11", "8/11", "6/11"]), False),
    ("bare option text", "Comparing the sizes, the coin is a quarter.", vista("quarter", ["penny", "nickel", "quarter"]), True),
    ("bare word", "even", vista("even", ["odd", "even"]), True),
    # found against VLMEvalKit (WeMath): another option's text, read as the same set of numbers
    ("another option's text word for word", "<answer>400, 300</answer>",
     {"answer": "A", "choices": ["300, 400", "400, 300", "300, 300"], "metadata": {"bench": "wemath"}}, False),
    ("We-Math's answer format, open tag", "<Thought process>: compare <Answer>: B",
     {"answer": "B", "choices": ["12", "24", "36"], "metadata": {"bench": "wemath"}}, True),
    ("We-Math's answer format, with <>", "<Thought process>: <<compare>> <Answer>: <<C>>",
     {"answer": "B", "choices": ["12", "24", "36"], "metadata": {"bench": "wemath"}}, False),
    ("the gold option's text word for word", "<answer>300,  400</answer>",
     {"answer": "A", "choices": ["300, 400", "400, 300", "300, 300"], "metadata": {"bench": "wemath"}}, True),
    ("markdown answer line", "**Reasoning:** compare.\n\n**Answer:** B", vista("8/11", ["3/11", "8/11"]), True),
    ("final answer line", "We simplify.\nFinal answer: 12.", vista("12"), True),
    ("final answer line, wrong", "We simplify.\nFinal answer: 13.", vista("12"), False),
    ("bare free-form answer", "S 23.5°W", verse("S 23.5°W"), True),
    ("MathVerse gold with a name and unit", "<answer>9\\pi</answer>", verse("Area $=9\\pi\\mathrm{cm}^2$"), True),
    ("MathVerse gold with a name and unit, wrong value", "<answer>9</answer>", verse("Area $=9\\pi\\mathrm{cm}^2$"), False),
    ("the last number of option text is not its value", "<answer>2</answer>", verse("A", ["0.5cm2", "2cm2", "4cm2"]), False),
    ("option value with a glued unit", "<answer>0.5</answer>", verse("A", ["0.5cm2", "2cm2", "4cm2"]), True),
    ("option value, unit written differently", "<answer>2 cm^2</answer>", verse("B", ["0.5cm2", "2cm2", "4cm2"]), True),
    ("multi-letter gold, comma", "<answer>C, D</answer>", verse("C\nD"), True),
    ("multi-letter gold, other order", "<answer>D and C</answer>", verse("C, D"), True),
    ("multi-letter gold, one letter missing", "<answer>C</answer>", verse("C\nD"), False),
    ("multi-letter gold, one letter extra", "<answer>B, C, D</answer>", verse("C\nD"), False),
]


@pytest.mark.parametrize("name,response,item,expected", CASES, ids=[c[0] for c in CASES])
def test_false_positive_classes(name, response, item, expected):
    assert score_response(response, item)["correct"] is expected, name


def test_mathverse_choice_header_singular():
    q = "Find x.\nChoice:\nA:30\nB:45\nC:60\nD:90"
    assert parse_inline_choices(q) == ["30", "45", "60", "90"]
    assert parse_inline_choices("Find x.\nChoices:\nA:1\nB:2") == ["1", "2"]
