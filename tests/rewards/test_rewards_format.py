import pytest

from perceptrl.rewards.format import format_ok, make_format_reward
from perceptrl.rewards.registry import get_reward

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
    assert time.perf_counter() - t < 1.0
