"""Turn the ``rewards`` and ``judge`` sections into TRL reward functions.

The hybrid (terms, weights, gates) comes from :mod:`perceptrl.rewards.hybrid`; the perception term
is the judge's :class:`~perceptrl.rewards.base.BatchReward`; the :class:`RewardRunner` scores a
batch (cheap rewards, math-verify in worker processes, the judge concurrently) and
:func:`perceptrl.rewards.trl_adapter.trl_reward_funcs` exposes each component to TRL under its own
name, so that every component appears in the logged metrics.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, fields
from typing import Any

from perceptrl.errors import PerceptrlError
from perceptrl.train.config import TrainConfig

logger = logging.getLogger(__name__)


@dataclass
class RewardSetup:
    funcs: list[Any]
    weights: list[float]
    names: list[str]
    runner: Any = None
    judge: Any = None
    judge_summary: str = "none"
    description: str = ""


def import_reward_modules(modules: list[str], where: str = "rewards.modules") -> None:
    """Import user modules (dotted names or ``.py`` paths) whose import registers rewards."""
    import importlib
    import importlib.util
    import sys
    from pathlib import Path

    for i, name in enumerate(modules or []):
        try:
            if name.endswith(".py"):
                path = Path(name).expanduser().resolve()
                if not path.is_file():
                    raise FileNotFoundError(str(path))
                mod_name = f"perceptrl_user_rewards_{path.stem}"
                if mod_name in sys.modules:
                    continue
                spec = importlib.util.spec_from_file_location(mod_name, path)
                module = importlib.util.module_from_spec(spec)
                sys.modules[mod_name] = module
                spec.loader.exec_module(module)
            else:
                importlib.import_module(name)
        except (ImportError, FileNotFoundError, SyntaxError) as e:
            raise PerceptrlError(f"cannot import reward module {name!r}: {type(e).__name__}: {e}",
                                 where=f"{where}[{i}]",
                                 fix="give an importable dotted module name or an existing .py file") from None


def build_spec(cfg: TrainConfig):
    """The :class:`HybridSpec` of the config: the preset, or explicit terms, minus ``exclude``."""
    from perceptrl.rewards.hybrid import HybridSpec

    where = f"{cfg.source or '<config>'}: rewards"
    import_reward_modules(cfg.rewards.modules, where=f"{where}.modules")
    if cfg.rewards.terms:
        spec = HybridSpec.from_config({"terms": cfg.rewards.terms})
    elif cfg.rewards.preset:
        spec = HybridSpec.from_config({"preset": cfg.rewards.preset})
    else:
        raise PerceptrlError("no rewards configured", where=where,
                             fix="set rewards.preset (e.g. perception_r1) or rewards.terms")
    if cfg.rewards.exclude:
        names = [t.name for t in spec.terms]
        unknown = [n for n in cfg.rewards.exclude if n not in names]
        if unknown:
            raise PerceptrlError(f"rewards.exclude names unknown terms {unknown}", where=where,
                                 fix=f"the terms are {names}")
        spec = spec.without(*cfg.rewards.exclude)
    return spec


def check_rewards(cfg: TrainConfig) -> None:
    """Resolve every term (names, params, gates, weights) without starting a judge or worker: cheap,
    so a typo in the rewards section fails before the model is loaded."""
    from perceptrl.rewards.hybrid import build_hybrid

    build_hybrid(build_spec(cfg), perception=object())  # a placeholder judge: only resolution is checked


def response_cap_for(cfg: TrainConfig) -> int:
    """The rewards' character cap for this run: the default, raised to 16 characters per token of
    the trainer's ``max_completion_length`` when that is larger (a completion the trainer hands to
    the rewards is never longer than that many tokens, so nothing legitimate is capped)."""
    from trl import GRPOConfig

    from perceptrl.rewards.limits import DEFAULT_MAX_RESPONSE_CHARS

    tokens = cfg.trl.get("max_completion_length")
    if tokens is None:
        tokens = next(f.default for f in fields(GRPOConfig) if f.name == "max_completion_length")
    return max(DEFAULT_MAX_RESPONSE_CHARS, 16 * int(tokens or 0))


def apply_response_cap(cfg: TrainConfig) -> int:
    """Set the rewards' character cap of this process from the run's ``max_completion_length``
    unless the user set ``$PERCEPTRL_MAX_RESPONSE_CHARS`` (the explicit setting wins)."""
    import os

    from perceptrl.rewards.limits import ENV_VAR, max_response_chars, set_max_response_chars

    if not os.environ.get(ENV_VAR):
        set_max_response_chars(response_cap_for(cfg))
    return max_response_chars()


def build_rewards(cfg: TrainConfig) -> RewardSetup:
    """Reward functions and weights for :class:`PerceptrlGRPOTrainer`."""
    from perceptrl.rewards.hybrid import build_hybrid
    from perceptrl.rewards.runner import RewardRunner
    from perceptrl.rewards.trl_adapter import trl_reward_funcs

    spec = build_spec(cfg)
    names = [t.name for t in spec.terms]
    apply_response_cap(cfg)
    judge = None
    judge_summary = "not used (no perception term)"
    if "perception" in names:
        from perceptrl.judge import build_perception_reward

        jcfg = cfg.judge  # a JudgeConfig, checked when the recipe was read
        judge = build_perception_reward(jcfg)
        backend = getattr(jcfg, "backend", "?")
        policy = getattr(jcfg, "failure_policy", "?")
        target = "" if backend == "rules" else f" {getattr(jcfg, 'model', '')} at {getattr(jcfg, 'base_url', '')}"
        judge_summary = f"{backend}{target}; on failure: {policy}"
    hybrid = build_hybrid(spec, perception=judge)
    runner = RewardRunner(hybrid, workers=cfg.rewards.workers, item_timeout=cfg.rewards.item_timeout,
                          batch_budget=cfg.rewards.batch_budget)
    funcs, weights = trl_reward_funcs(runner)
    description = ", ".join(
        f"{t.name}×{t.weight:g}" + (f" (gated on {getattr(t.gate, 'term', t.gate)})" if t.gate else "")
        for t in spec.terms
    )
    return RewardSetup(funcs=list(funcs), weights=list(weights), names=names, runner=runner, judge=judge,
                       judge_summary=judge_summary, description=description)
