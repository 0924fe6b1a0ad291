"""The rewards' character cap follows the run's max_completion_length (rewards/limits.py)."""

import pytest

from perceptrl.rewards import limits
from perceptrl.rewards.limits import DEFAULT_MAX_RESPONSE_CHARS, ENV_VAR, max_response_chars
from perceptrl.train.config import TrainConfig
from perceptrl.train.rewards_setup import apply_response_cap, response_cap_for


@pytest.fixture(autouse=True)
def _reset_cap(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.setattr(limits, "_override", None)


def test_short_completions_keep_the_default_cap():
    assert response_cap_for(TrainConfig(trl={"max_completion_length": 256})) == DEFAULT_MAX_RESPONSE_CHARS
    assert response_cap_for(TrainConfig()) == DEFAULT_MAX_RESPONSE_CHARS  # TRL's default length


def test_long_completions_raise_the_cap_so_nothing_legitimate_is_capped():
    cfg = TrainConfig(trl={"max_completion_length": 8192})
    assert apply_response_cap(cfg) == 16 * 8192 == max_response_chars()


def test_the_environment_variable_wins(monkeypatch):
    monkeypatch.setenv(ENV_VAR, "5000")
    assert apply_response_cap(TrainConfig(trl={"max_completion_length": 8192})) == 5000
