"""Reward functions for RL with verifiable and perception rewards.

One module per family (``accuracy``, ``format``, ``repetition``, ``length``, ``grounding``,
``caption``), each reward a pure ``fn(completion, row) -> float | None`` registered by name;
:mod:`~perceptrl.rewards.hybrid` composes them (weights, gates, presets) and
:mod:`~perceptrl.rewards.runner` scores whole batches in parallel within a time budget.
Heavy libraries (math-verify, scipy, sacrebleu) are imported lazily.
"""

from perceptrl.rewards.base import BatchReward, RewardFn
from perceptrl.rewards.registry import available_rewards, get_reward, register_reward

__all__ = ["BatchReward", "RewardFn", "available_rewards", "get_reward", "register_reward"]
