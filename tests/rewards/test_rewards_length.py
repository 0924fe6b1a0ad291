import pytest

from perceptrl.rewards.length import group_length_penalty, make_overlong_reward, overlong_penalty
from perceptrl.rewards.registry import get_reward
from bounds import LINEAR_SCAN_S


def test_dapo_soft_overlong():
    assert overlong_penalty(100, 200, 50) == 0.0
    assert overlong_penalty(150, 200, 50) == 0.0
    assert overlong_penalty(175, 200, 50) == pytest.approx(-0.5)
    assert overlong_penalty(200, 200, 50) == pytest.approx(-1.0)
    assert overlong_penalty(500, 200, 50) == -1.0
    fn = make_overlong_reward(max_length=10, cache_length=4)
    assert fn("a b c d e f g h", {}) == pytest.approx(-0.5)  # 8 words
    assert fn("short", {"completion_length": 10}) == pytest.approx(-1.0)  # token count wins
    with pytest.raises(ValueError):
        make_overlong_reward(10, 20)


def test_group_relative_length_kimi():
    rows = [{"id": "p"}] * 3 + [{"id": "q"}] * 2
    comps = ["a", "a a", "a a a", "b", "b"]
    acc = {"accuracy": [1.0, 0.0, 1.0, 1.0, 0.0]}
    out = group_length_penalty(comps, rows, acc)
    # group p: lengths 1,2,3 -> lambda 0.5, 0, -0.5; the wrong one gets min(0, lambda)
    assert out[:3] == pytest.approx([0.5, 0.0, -0.5])
    assert out[3:] == [0.0, 0.0]  # equal lengths
    wrong_short = group_length_penalty(["a", "a a a"], [{"id": "r"}] * 2, {"accuracy": [0.0, 1.0]})
    assert wrong_short == pytest.approx([0.0, -0.5])
    assert get_reward("length_group").kind == "group"


def test_200kb_responses_cost_linear_time():
    import time

    comps = ["word " * 40_000, "a" * 200_000, "x\n" * 100_000, ""]
    rows = [{"id": "p"}] * len(comps)
    fn = make_overlong_reward()
    t = time.perf_counter()
    lengths = [fn(c, r) for c, r in zip(comps, rows)]
    group = group_length_penalty(comps, rows, {"accuracy": [1.0] * len(comps)})
    assert time.perf_counter() - t < LINEAR_SCAN_S
    assert lengths[0] == -1.0 and lengths[1] == 0.0  # 40,000 words is over DAPO's 20,480; one word is not
    assert group[1] == pytest.approx(0.5 - 1 / 100_000) and group[2] == pytest.approx(-0.5)
