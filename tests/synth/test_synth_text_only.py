"""perceptrl.synth.text_only: templates and the text-only rules, on hand-made problems."""

from __future__ import annotations

from perceptrl.data.schema import Example
from perceptrl.synth.text_only import template, text_only_accuracy


def _ex(question: str, answer: str, choices=None) -> Example:
    return Example(id=question + answer, images=[], problem=f"<image>{question}", answer=answer, choices=choices)


def test_template_masks_object_names():
    a = _ex("What is the sum of the heights of bar A and bar C?", "7")
    b = _ex("What is the sum of the heights of bar B and bar D?", "5")
    assert template(a) == template(b) == "What is the sum of the heights of bar _ and bar _?"
    c = _ex("What is the sum of the numbers on the red circle and the blue square?", "9")
    assert template(c) == "What is the sum of the numbers on the _ _ and the _ _?"
    assert template(_ex("ABCD is a rectangle. What is its area?", "6")) == "ABCD is a rectangle. What is its area?"


def test_rules_on_hand_cases():
    q = "How much taller is bar A than bar B?"
    train = [_ex(q, "A", ["1", "3", "4", "0"]), _ex(q, "A", ["1", "2", "5", "3"]), _ex(q, "A", ["3", "1", "0", "5"])]
    # golds seen: 1, 1, 3 (all as letter A)
    test = [_ex(q, "C", ["0", "2", "1", "4"]),   # 1 was gold twice: value_prior right
            _ex(q, "D", ["9", "7", "8", "2"])]   # 2 never gold, but the only option in the seen range 1-3
    acc = text_only_accuracy(train, test)
    assert acc["letter"] == 0.0  # A is the majority letter
    assert acc["value_prior"] == 0.5 and acc["in_range"] == 1.0
    assert acc["option_pattern"] == 0.5  # neither option set was seen: falls back to value_prior
    opened = text_only_accuracy([_ex(q, "1"), _ex(q, "1"), _ex(q, "2")], [_ex(q, "1"), _ex(q, "3")])
    assert opened == {"open_majority": 0.5}
