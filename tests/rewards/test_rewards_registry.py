import pytest

from perceptrl.errors import PerceptrlError
from perceptrl.rewards.registry import available_rewards, get_reward, register_reward


def test_builtins_registered():
    names = set(available_rewards())
    assert {"accuracy", "format", "strict_newlines", "think_answer", "think_boxed", "repetition", "overlong",
            "length_group", "iou_union", "iou_hungarian", "caption"} <= names
    acc = get_reward("accuracy")
    assert acc.heavy and acc.key is not None and acc.score_key is not None and acc.timeout_score == 0.0


def test_unknown_reward_and_bad_params_are_user_errors():
    with pytest.raises(PerceptrlError, match="unknown reward"):
        get_reward("nope")
    with pytest.raises(PerceptrlError, match="takes no parameters"):
        get_reward("accuracy", foo=1)
    with pytest.raises(PerceptrlError, match="bad parameters"):
        get_reward("repetition", ngram=3)


def test_register_custom_reward():
    @register_reward("test_len_parity")
    def parity(completion, row):
        return float(len(completion) % 2)

    assert get_reward("test_len_parity").fn("ab", {}) == 0.0
    with pytest.raises(ValueError):
        register_reward("bad_heavy", heavy=True)
