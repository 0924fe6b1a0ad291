import os
import uuid

import pytest

from perceptrl.rewards.accuracy import accuracy_key, accuracy_reward, answers_match
from bounds import LINEAR_SCAN_S


@pytest.mark.parametrize(
    "pred, gold, kw, expected",
    [
        ("0.5", r"\frac12", {}, True),
        (r"\frac{1}{2}", "0.5", {}, True),
        ("60", r"60^\circ", {}, True),
        (r"60^{\circ}", "60", {}, True),
        ("10%", "0.1", {}, True),
        (r"10\%", "0.1", {}, True),
        ("0.1", "10%", {}, True),
        # a bare gold 2\sqrt{3} must parse whole, not as 2
        ("2", r"2\sqrt{3}", {}, False),
        (r"\sqrt{12}", r"2\sqrt{3}", {}, True),
        (r"2\sqrt{3}", r"2\sqrt{3}", {}, True),
        (r"\boxed{B. 8/11}", "B", {}, True),
        (r"\boxed{C. 8/11}", "B", {}, False),
        ("(B)", "B", {}, True),
        ("The answer is B", "B", {}, True),
        ("the answer is (C).", "B", {}, False),
        ("8/11", "B", {"choices": ["3/11", "8/11", "1"]}, True),
        ("B", "8/11", {"choices": ["3/11", "8/11", "1"]}, True),
        ("A", "8/11", {"choices": ["3/11", "8/11", "1"]}, False),
        ("Yes", "yes", {}, True),
        ("True", "yes", {}, True),
        ("No, it is not.", "yes", {}, False),
        ("1.46", "1.45", {"precision": 1}, True),
        ("1.6", "1.45", {"precision": 1}, False),
        ("3.2", "3", {"tolerance": 0.5}, True),
        ("3.6", "3", {"tolerance": 0.5}, False),
        ("x=3", "3", {}, True),
        (r"9\sqrt{2}", r"8\sqrt{2}", {}, False),
        ("15", "14", {}, False),
        ("a + b", "A", {}, False),
        ("", "3", {}, False),
        (None, "3", {}, False),
    ],
)
def test_answers_match(pred, gold, kw, expected):
    assert answers_match(pred, gold, **kw) is expected


def test_whole_response_and_multiline_answer():
    resp = "<think>\nangles sum\n</think>\n<answer>\nThe angle is\n$60^\\circ$\n</answer>"
    assert accuracy_reward(resp, {"answer": "60"}) == 1.0
    assert accuracy_reward(resp, {"answer": "30"}) == 0.0


def test_not_applicable_without_gold_and_empty_response():
    assert accuracy_reward("<answer>3</answer>", {"answer": None}) is None
    assert accuracy_reward("", {"answer": "3"}) == 0.0


def test_200kb_response():
    resp = "<think>" + "so we add the lengths " * 10_000 + "</think><answer>\\boxed{12}</answer>"
    assert len(resp) > 200_000
    assert accuracy_reward(resp, {"answer": "12"}) == 1.0
    # no answer at all: the reference falls back to the whole response; we keep its tail
    key = accuracy_key("x " * 120_000, {"answer": "12"})
    assert len(key[0]) <= 2000


def test_code_like_answers_are_never_executed(tmp_path):
    marker = tmp_path / f"pwned-{uuid.uuid4().hex}"
    payloads = [
        f"__import__('os').system('touch {marker}')",
        f"(lambda: __import__('os').system('touch {marker}'))()",
        f"lambda x: open('{marker}', 'w')",
        f"exec(\"open('{marker}','w')\")",
        f"eval(\"__import__('os').system('touch {marker}')\")",
    ]
    for p in payloads:
        for pred in (p, f"\\boxed{{{p}}}", f"<answer>{p}</answer>", f"The answer is {p}"):
            assert answers_match(pred, "0") is False
            assert answers_match("0", p) is False
            assert accuracy_reward(pred, {"answer": p}) in (0.0, 1.0)
    assert not marker.exists()
    assert not os.path.exists("/tmp/pwned")


@pytest.mark.parametrize(
    "pred, gold, expected",
    [
        ("x equals 3", "3", True),          # wrapped in \boxed{} this parsed as x·e·q·u·a·l·s·3
        ("x is 3", "3", True),
        ("so x equals 3.", "3", True),
        ("5 meters", "5", True),
        ("x equals 4", "3", False),
        ("x equals 3 and y equals 5", "3", False),  # the last number stated counts, as math-verify reads it
        ("\\sin x", "\\sin x", True),
        ("\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}", "\\begin{pmatrix}1\\\\2\\end{pmatrix}", True),  # not prose
        ("\\begin{pmatrix} 1 \\\\ 3 \\end{pmatrix}", "\\begin{pmatrix}1\\\\2\\end{pmatrix}", False),
        ("2\\sqrt{3}", "\\sqrt{12}", True),
    ],
)
def test_untagged_prose_answers_are_read_as_text(pred, gold, expected):
    assert answers_match(pred, gold) is expected


def test_untagged_prose_response_falls_back_to_the_whole_text():
    # No <answer>, no box, no "the answer is": the whole response is graded (the reference's
    # fallback), read as text, so its last stated value counts.
    assert accuracy_reward("Looking at the figure, x equals 3", {"answer": "3"}) == 1.0
    assert accuracy_reward("Looking at the figure, x is 3", {"answer": "3"}) == 1.0
    assert accuracy_reward("Looking at the figure, x equals 4", {"answer": "3"}) == 0.0


def test_deep_brace_nesting_is_refused_before_math_verify():
    import time

    t = time.perf_counter()
    # 20 levels of redundant braces: math-verify's parser needs over a minute for this.
    assert answers_match("{" * 20 + "3" + "}" * 20, "3", timeout=None) is False
    assert answers_match("\\boxed{" * 285, "3", timeout=None) is False
    assert time.perf_counter() - t < LINEAR_SCAN_S  # math-verify needs over a minute
    assert answers_match("{{3}}", "3") and answers_match("\\frac{\\sqrt{\\frac{8}{2}}}{2}", "1")


def test_over_the_cap_accuracy_reads_the_tail():
    from perceptrl.rewards.limits import set_max_response_chars

    resp = "<answer>\\boxed{5}</answer> " + "so we add the lengths " * 3_000 + "<answer>\\boxed{12}</answer>"
    set_max_response_chars(10_000)
    try:
        assert accuracy_reward(resp, {"answer": "12"}) == 1.0
        assert len(accuracy_key("x " * 120_000, {"answer": "12"})[0]) <= 2000
    finally:
        set_max_response_chars(None)
