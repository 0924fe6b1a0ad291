"""Rewards by name.

Each reward family module registers its functions here with :func:`register_reward`; configs
and presets refer to them by name. A registered reward is described by :class:`RewardInfo`:

* ``kind="item"``: ``fn(completion, row) -> float | None`` (the base interface);
* ``kind="group"``: ``fn(completions, rows, components) -> list[float | None]`` — needs the other
  rollouts of its prompt (group-relative length penalty); ``components`` are the item rewards
  already computed for the batch;
* ``heavy=True``: CPU-heavy (math-verify); the runner ships ``key(completion, row)`` (small,
  hashable; identical keys are scored once) to worker processes, which call ``score_key(key,
  timeout)``. ``fn`` must equal ``score_key(key(...))``;
* ``penalty=True``: the reward is ≤ 0 (repetition, length); penalties are never rescaled when the
  hybrid renormalises over the terms present for a sample;
* ``factory(**params) -> fn``: builds a configured variant (``format`` with other tags, …).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

from perceptrl.errors import PerceptrlError

__all__ = ["RewardInfo", "register_reward", "get_reward", "available_rewards"]

# Modules whose import registers the built-in rewards (imported lazily on first lookup).
_BUILTIN_MODULES = (
    "perceptrl.rewards.accuracy",
    "perceptrl.rewards.format",
    "perceptrl.rewards.repetition",
    "perceptrl.rewards.length",
    "perceptrl.rewards.grounding",
    "perceptrl.rewards.caption",
    "perceptrl.rewards.reward_model",
    "perceptrl.rewards.vision_sr1",
)


@dataclass(frozen=True)
class RewardInfo:
    name: str
    fn: Callable[..., Any]
    kind: Literal["item", "group"] = "item"
    heavy: bool = False
    key: Callable[[str, Mapping], Hashable | None] | None = None
    score_key: Callable[..., float | None] | None = None
    penalty: bool = False
    factory: Callable[..., Callable[..., Any]] | None = None
    timeout_score: float = 0.0  # score of an item whose scoring timed out (heavy rewards)
    warmup: Callable[[], None] | None = None  # run once before worker processes fork (heavy rewards)

    def configured(self, **params: Any) -> "RewardInfo":
        """This reward with ``params`` applied through its factory."""
        if not params:
            return self
        if self.factory is None:
            raise PerceptrlError(
                f"reward {self.name!r} takes no parameters (got {sorted(params)})",
                where="rewards config",
                fix=f"remove the params of {self.name!r}",
            )
        try:
            fn = self.factory(**params)
        except TypeError as e:
            raise PerceptrlError(
                f"bad parameters for reward {self.name!r}: {e}",
                where="rewards config",
                fix="see the reward's docstring for its parameters",
            ) from None
        return replace(self, fn=fn)


_REGISTRY: dict[str, RewardInfo] = {}
_loaded = False


def register_reward(
    name: str,
    *,
    kind: Literal["item", "group"] = "item",
    heavy: bool = False,
    key: Callable | None = None,
    score_key: Callable | None = None,
    penalty: bool = False,
    factory: Callable | None = None,
    timeout_score: float = 0.0,
    warmup: Callable | None = None,
):
    """Decorator registering ``fn`` under ``name`` (see the module docstring for the options)."""
    if heavy and (key is None or score_key is None):
        raise ValueError("a heavy reward needs key= and score_key=")

    def deco(fn):
        _REGISTRY[name] = RewardInfo(
            name=name,
            fn=fn,
            kind=kind,
            heavy=heavy,
            key=key,
            score_key=score_key,
            penalty=penalty,
            factory=factory,
            timeout_score=timeout_score,
            warmup=warmup,
        )
        return fn

    return deco


def _load_builtins() -> None:
    global _loaded
    if not _loaded:
        _loaded = True
        for mod in _BUILTIN_MODULES:
            importlib.import_module(mod)


def get_reward(name: str, **params: Any) -> RewardInfo:
    """The registered reward ``name``, configured with ``params`` if any."""
    _load_builtins()
    if name not in _REGISTRY:
        raise PerceptrlError(
            f"unknown reward {name!r}",
            where="rewards config",
            fix=f"use one of: {', '.join(available_rewards())}",
        )
    return _REGISTRY[name].configured(**params)


def available_rewards() -> list[str]:
    _load_builtins()
    return sorted(_REGISTRY)
