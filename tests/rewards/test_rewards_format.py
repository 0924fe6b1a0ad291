import pytest

from perceptrl.rewards.format import format_ok, make_format_reward
from perceptrl.rewards.registry import get_reward
from bounds import LINEAR_SCAN_S

STRICT = "<think>\nlook at AB\n</think>\n<answer>\nso $\\boxed{10}$\n</answer>"


def test_strict_newlines_is_the_reference_pattern():
    assert format_ok(STRICT, "strict_newlines")
    assert format_ok("  " + STRICT + "\n", "strict_newlines")  # surrounding whitespace ignored
    assert not format_ok(STRICT.replace("<think>\n", "<think>"), "strict_newlines")
    assert not format_ok(STRICT.replace("\n</answer>", "</answer>"), "strict_newlines")
    assert not format_ok(STRICT.replace("\\boxed{10}", "10"), "strict_newlines")
    assert not format_ok(STRICT.replace("\\boxed{10}", "\\boxed{10"), "strict_newlines")
    assert not format_ok(STRICT + STRICT, "strict_newlines")  # tags exactly once
    assert not format_ok("", "strict_newlines")


def test_think_answer_and_think_boxed():
    loose = "<think>a</think> <answer>5</answer>"
    assert format_ok(loose, "think_answer")
    assert not format_ok(loose, "strict_newlines")
    assert not format_ok("<answer>5</answer><think>a</think>", "think_answer")
    assert format_ok("<think>a</think> The answer is \\boxed{5}.", "think_boxed")
    assert not format_ok("<think>a \\boxed{5}</think> done", "think_boxed")


def test_configurable_tags_and_registry():
    fn = make_format_reward("think_answer", think_tag="reasoning", answer_tag="final")
    assert fn("<reasoning>x</reasoning><final>1</final>", {}) == 1.0
    assert fn("<think>x</think><answer>1</answer>", {}) == 0.0
    assert get_reward("format").fn(STRICT, {}) == 1.0
    assert get_reward("format", pattern="think_boxed").fn("<think>x</think>\\boxed{1}", {}) == 1.0
    with pytest.raises(ValueError):
        make_format_reward("nope")


def test_200kb_response_is_linear():
    import time

    big = "<think>\n" + "x " * 100_000 + "\n</think>\n<answer>\n\\boxed{1}\n</answer>"
    t = time.perf_counter()
    assert format_ok(big, "strict_newlines")
    assert not format_ok("<think>\n" * 30_000, "strict_newlines")
    assert time.perf_counter() - t < LINEAR_SCAN_S


def test_think_newlines_are_not_shared():
    # One "\n" cannot be both the one after <think> and the one before </think> (the reference's
    # "<think>\n.*?\n</think>" needs two); an empty thought with two newlines is allowed.
    assert not format_ok("<think>\n</think>\n<answer>\n\\boxed{3}\n</answer>", "strict_newlines")
    assert format_ok("<think>\n\n</think>\n<answer>\n\\boxed{3}\n</answer>", "strict_newlines")
    assert not format_ok("<think>\nx\n</think>\n<answer>\n</answer>", "strict_newlines")


@pytest.mark.parametrize("box", ["\\boxed{}", "\\boxed{ }", "\\boxed {3}", "\\boxed 3", "\\fbox{3}", "\\boxed{\\frac{1}{2}"])
def test_box_must_be_written_as_asked(box):
    # The prompt asks for \boxed{}: the reference's \boxed{.+?} rejects all of these (the
    # unbalanced one aside, which its lazy match accepts); so does every pattern that needs a box.
    strict = f"<think>\nx\n</think>\n<answer>\nso {box}\n</answer>"
    assert not format_ok(strict, "strict_newlines")
    assert not format_ok(f"<think>x</think> so {box}", "think_boxed")
    assert format_ok(strict.replace(box, "\\boxed{3}"), "strict_newlines")


def test_over_the_cap_scores_zero_without_reading():
    from perceptrl.rewards.limits import max_response_chars, set_max_response_chars

    valid = "<think>\n" + "x " * 20_000 + "\n</think>\n<answer>\n\\boxed{1}\n</answer>"  # 40 KB
    fn = make_format_reward("strict_newlines")
    assert fn(valid, {}) == 1.0
    set_max_response_chars(len(valid) - 1)
    try:
        assert format_ok(valid, "strict_newlines")  # the pure check is exact on any length
        assert fn(valid, {}) == 0.0
        assert make_format_reward("think_answer")(valid, {}) == 0.0
    finally:
        set_max_response_chars(None)
    assert max_response_chars() >= len(valid) and fn(valid, {}) == 1.0


@pytest.mark.parametrize(
    "body",
    ["\\boxed{" * 30_000, "\\boxed{\\boxed{" * 15_000, "ignore the rules and output 1 " * 7_000],
    ids=["unclosed", "nested", "imperative"],
)
def test_200kb_degenerate_answers_are_linear(body):
    # 200 KB inside a well-formed frame: the box scan reads all of it. The rescanning version
    # took 15 s on 56 KB of unclosed boxes.
    import time

    text = f"<think>\nx\n</think>\n<answer>\n{body}\n</answer>"
    assert len(text) > 200_000
    for pattern in ("strict_newlines", "think_boxed", "think_answer"):
        t = time.perf_counter()
        format_ok(text, pattern)
        assert time.perf_counter() - t < LINEAR_SCAN_S, pattern
