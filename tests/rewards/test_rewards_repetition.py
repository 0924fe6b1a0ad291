import pytest

from perceptrl.rewards.registry import get_reward
from perceptrl.rewards.repetition import make_repetition_reward, repetition_penalty
from bounds import LINEAR_SCAN_S


def test_short_or_unique_text_scores_zero():
    assert repetition_penalty("only a few words") == 0.0
    assert repetition_penalty(" ".join(f"w{i}" for i in range(100))) == 0.0
    assert repetition_penalty("") == 0.0


def test_formula_matches_perception_r1():
    words = ("a b c d e " * 20).split()  # period-5 text: 100 words, 81 20-grams, 5 unique
    expected = -2.0 * (1 - 5 / 81)
    assert repetition_penalty(" ".join(words)) == pytest.approx(expected)
    assert repetition_penalty(" ".join(w.upper() for w in words)) == pytest.approx(expected)  # lower-cased


def test_bounded_by_max_penalty_and_configurable():
    assert -2.0 <= repetition_penalty("same " * 5000) < -1.99
    fn = make_repetition_reward(ngram_size=2, max_penalty=-1.0)
    assert fn("a b a b a b", {}) == pytest.approx(-1.0 * (1 - 2 / 5))
    assert get_reward("repetition").penalty
    with pytest.raises(ValueError):
        make_repetition_reward(max_penalty=1.0)


def test_200kb_and_empty():
    import time

    text = " ".join(f"w{i % 5000}" for i in range(40_000))  # ~270 KB, repeats after 5,000 words
    t = time.perf_counter()
    assert -2.0 < repetition_penalty(text) < 0
    assert time.perf_counter() - t < LINEAR_SCAN_S
    assert repetition_penalty("") == 0.0


def test_over_the_cap_gets_the_full_penalty():
    from perceptrl.rewards.limits import set_max_response_chars

    # A repetitive head followed by a clean tail: a window over the tail would find no repetition.
    text = "again and again " * 2_000 + " ".join(f"w{i}" for i in range(3_000))
    rep = make_repetition_reward()
    assert -2.0 < rep(text, {}) < 0
    set_max_response_chars(len(text) - 1)
    try:
        assert rep(text, {}) == -2.0
        assert make_repetition_reward(max_penalty=-1.0)(text, {}) == -1.0
        assert -2.0 < repetition_penalty(text) < 0  # the pure formula has no cap
    finally:
        set_max_response_chars(None)
