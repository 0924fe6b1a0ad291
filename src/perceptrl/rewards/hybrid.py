"""Hybrid rewards: named terms, weights, gates, presets.

    total = Σ_t  w_t · gate_t · r_t

* A :class:`RewardTerm` names a component (what gets logged), the registered reward it runs
  (``reward``, default: the same name), its parameters, its weight and an optional gate.
* A gate ``"accuracy"`` (or ``"accuracy>=0.5"``) makes the term count only for samples whose
  ``accuracy`` component reaches the threshold (default 1.0); a failed gate (or a gate component
  that is ``None``) makes the term contribute 0. Every component is still logged ungated.
* ``None`` means **not applicable by design** to the row — and only that: no gold boxes for IoU,
  no annotations for the judge when ``JudgeConfig.empty_score`` is ``None``, … It is decided by the
  row, never by the response or by a failing judge. ``none_policy`` (``HybridSpec.none_policy``):

  - ``renormalize`` (default; docs/methods.md §1 reference bug 3 "skip the term for that sample and
    renormalise"): the term is left out for that sample and the remaining *positive-weight,
    non-penalty* terms are scaled by ``Σ w(all) / Σ w(present)``, so a row keeps the reward range
    of the recipe (IoU 0.5 + accuracy 1.0 on a row without boxes: accuracy is scaled by 1.5).
    Penalty terms (repetition, length) are never rescaled; when no positive term is present, only
    penalties count. *Guarantee:* every sample of a row is scaled alike (the row, not the response,
    decides), so renormalisation never ranks two responses to one prompt differently than the
    unscaled terms do (the runner counts a term whose ``None`` varies within a group:
    ``<term>/none_varies_in_group``).
  - ``zero``: a ``None`` counts as 0. *Guarantee:* a not-applicable term never adds anything.

* A **failed measurement** (the judge's request failed or ran out of time) is *not* ``None``: the
  perception reward fills it under ``JudgeConfig.failure_policy`` before the hybrid sees it
  (:func:`fill_failed`): ``neutral`` — the pessimistic group mean, or ``zero``. *Guarantee:* with
  either policy a failed sample's term is ``<=`` its group's mean (no advantage from failing) and
  strictly below a perfect value, so a broken judge never pays more than a working one. (Before,
  a failure was ``None`` and was renormalised: a correct answer then scored 0.9+0.1 scaled by 1.7 =
  1.7, exactly what perfect perception pays.)

Presets (``get_preset``):

* ``perception_r1`` — 0.9·accuracy + 0.1·format(strict_newlines) + 0.7·perception + 1.0·repetition
  (Perception-R1 reference recipe, docs/methods.md §1); needs a ``perception`` BatchReward (the judge);
* ``perception_r1_no_judge`` — the same without the perception term;
* ``easyr1_math`` — 0.9·accuracy + 0.1·format(think_boxed) (EasyR1's math recipe, format_weight 0.1).

``get_preset(name, without=("perception",))`` drops terms from any preset.
"""

from __future__ import annotations

import math
import re
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from perceptrl.errors import PerceptrlError
from perceptrl.rewards.base import BatchReward
from perceptrl.rewards.registry import RewardInfo, get_reward

__all__ = ["Gate", "RewardTerm", "HybridSpec", "Hybrid", "get_preset", "available_presets", "build_hybrid",
           "fill_failed"]

PERCEPTION = "perception"
NonePolicy = Literal["renormalize", "zero"]
NONE_POLICIES = ("renormalize", "zero")


def fill_failed(values: Sequence[float | None], failed: Sequence[bool], groups: Sequence[Hashable],
                policy: str = "neutral") -> list[float | None]:
    """Replace the values of failed samples under a failure policy (``neutral`` or ``zero``).

    ``values[i]``: the component of sample i (``None``: not applicable; ignored where
    ``failed[i]``); ``groups[i]``: its GRPO group (the prompt). ``neutral``: a failed sample gets the
    *pessimistic group mean* — the mean over the applicable samples of its group, failed ones
    counted as 0. So for a group of n with k ≥ 1 failed, the fill ``μ = Σ ok / n ≤ (n − k)/n < 1``,
    and μ is ``<=`` the group's mean after filling (``μ·(1 + k/n)``): failing never gives a sample an
    advantage from this term, and is strictly below a perfect score. A group where every sample
    failed gets 0 for all (constant: no advantage); a sample alone in its group gets 0. ``zero``: 0.
    """
    if policy not in ("neutral", "zero"):
        raise PerceptrlError(f"unknown failure policy {policy!r}", where="judge.failure_policy",
                             fix="use 'neutral' or 'zero'")
    out = [None if f else v for v, f in zip(values, failed)]
    if policy == "zero" or not any(failed):
        return [0.0 if f else v for v, f in zip(out, failed)]
    members: dict[Hashable, list[int]] = {}
    for i, g in enumerate(groups):
        members.setdefault(g, []).append(i)
    for idx in members.values():
        applicable = [i for i in idx if failed[i] or out[i] is not None]
        fill = sum(out[i] for i in applicable if not failed[i]) / len(applicable) if applicable else 0.0
        for i in idx:
            if failed[i]:
                out[i] = fill
    return out



@dataclass(frozen=True)
class Gate:
    """The term counts for a sample only when component ``term`` is ``>= min``."""

    term: str
    min: float = 1.0

    @classmethod
    def parse(cls, spec: "str | Gate | Mapping") -> "Gate":
        if isinstance(spec, Gate):
            return spec
        if isinstance(spec, Mapping):
            return cls(str(spec["term"]), float(spec.get("min", 1.0)))
        m = re.fullmatch(r"\s*([A-Za-z_][\w\-]*)\s*(?:>=\s*([-+]?\d*\.?\d+))?\s*", str(spec))
        if not m:
            raise PerceptrlError(
                f"bad gate {spec!r}", where="rewards config", fix='write a gate as "accuracy" or "accuracy>=0.5"'
            )
        return cls(m.group(1), float(m.group(2)) if m.group(2) else 1.0)

    def passes(self, value: float | None) -> bool:
        return value is not None and value >= self.min


@dataclass
class RewardTerm:
    """One component of a hybrid reward.

    ``name``: the component's name in logs; ``weight``; ``gate``: see :class:`Gate`;
    ``reward``: the registered reward to run (default ``name``; ``"perception"`` is the judge's
    BatchReward); ``params``: passed to the reward's factory (e.g. ``{"pattern": "think_answer"}``).
    """

    name: str
    weight: float = 1.0
    gate: "str | Gate | None" = None
    reward: str | None = None
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def reward_name(self) -> str:
        return self.reward or self.name


@dataclass
class HybridSpec:
    """A hybrid reward: its terms and the policy for ``None`` (= not applicable) values (see the
    module docstring)."""

    terms: list[RewardTerm]
    none_policy: NonePolicy = "renormalize"
    name: str = "custom"

    @property
    def needs_perception(self) -> bool:
        return any(t.reward_name == PERCEPTION for t in self.terms)

    def without(self, *names: str) -> "HybridSpec":
        keep = [t for t in self.terms if t.name not in names]
        return HybridSpec(keep, self.none_policy, f"{self.name}_without_{'_'.join(names)}")

    @classmethod
    def from_config(cls, cfg: "str | Mapping | HybridSpec") -> "HybridSpec":
        """From a preset name, ``{"preset": name, "without": [...], "none_policy": ...}``, or
        ``{"terms": [{"name", "weight", "gate", "reward", "params"}, ...], "none_policy": ...}``."""
        if isinstance(cfg, HybridSpec):
            return cfg
        if isinstance(cfg, str):
            return get_preset(cfg)
        if not isinstance(cfg, Mapping):
            raise PerceptrlError(
                f"rewards config must be a preset name or a mapping, got {type(cfg).__name__}",
                where="rewards config",
                fix='use e.g. rewards: {preset: perception_r1} or a list of terms',
            )
        unknown = set(cfg) - {"preset", "without", "terms", "none_policy", "name"}
        if unknown:
            raise PerceptrlError(
                f"unknown rewards config keys {sorted(unknown)}",
                where="rewards config",
                fix="allowed keys: preset, without, terms, none_policy, name",
            )
        if "preset" in cfg:
            spec = get_preset(cfg["preset"], without=tuple(cfg.get("without") or ()))
        elif "terms" in cfg:
            terms = []
            for i, t in enumerate(cfg["terms"]):
                if isinstance(t, RewardTerm):
                    terms.append(t)
                    continue
                extra = set(t) - {"name", "weight", "gate", "reward", "params"}
                if "name" not in t or extra:
                    raise PerceptrlError(
                        f"bad reward term #{i}: {dict(t)}",
                        where=f"rewards.terms[{i}]",
                        fix="a term has name, and optionally weight, gate, reward, params",
                    )
                terms.append(RewardTerm(**t))
            spec = cls(terms, name=str(cfg.get("name", "custom")))
        else:
            raise PerceptrlError("rewards config has neither 'preset' nor 'terms'", where="rewards config",
                                 fix="add preset: perception_r1 or a terms list")
        if "none_policy" in cfg:
            spec.none_policy = cfg["none_policy"]
        return spec


def _perception_r1() -> HybridSpec:
    return HybridSpec(
        [
            RewardTerm("accuracy", 0.9),
            RewardTerm("format", 0.1, params={"pattern": "strict_newlines"}),
            RewardTerm(PERCEPTION, 0.7),
            RewardTerm("repetition", 1.0),
        ],
        name="perception_r1",
    )


_PRESETS = {
    "perception_r1": _perception_r1,
    "perception_r1_no_judge": lambda: _perception_r1().without(PERCEPTION),
    "easyr1_math": lambda: HybridSpec(
        [RewardTerm("accuracy", 0.9), RewardTerm("format", 0.1, params={"pattern": "think_boxed"})],
        name="easyr1_math",
    ),
}


def available_presets() -> list[str]:
    return sorted(_PRESETS)


def get_preset(name: str, *, without: Sequence[str] = ()) -> HybridSpec:
    if name not in _PRESETS:
        raise PerceptrlError(f"unknown reward preset {name!r}", where="rewards config",
                             fix=f"use one of: {', '.join(available_presets())}")
    spec = _PRESETS[name]()
    if name == "perception_r1_no_judge":
        spec.name = name
    return spec.without(*without) if without else spec


@dataclass
class ResolvedTerm:
    name: str
    weight: float
    gate: Gate | None
    info: RewardInfo | None = None  # a registered reward …
    batch: BatchReward | None = None  # … or a batch reward (the judge)

    @property
    def penalty(self) -> bool:
        return bool(self.info and self.info.penalty)


@dataclass
class Hybrid:
    """A resolved :class:`HybridSpec`: each term bound to its reward function."""

    spec: HybridSpec
    terms: list[ResolvedTerm]

    @property
    def names(self) -> list[str]:
        return [t.name for t in self.terms]

    def combine(self, components: Mapping[str, Sequence[float | None]]) -> list[float]:
        """The total per sample from the ungated components (gates and None policy applied here)."""
        n = len(next(iter(components.values()))) if components else 0
        totals = []
        positive = [t for t in self.terms if not t.penalty and t.weight > 0]
        positive_names = {t.name for t in positive}
        w_all = sum(t.weight for t in positive)
        for i in range(n):
            vals = {t.name: components[t.name][i] for t in self.terms}
            if self.spec.none_policy == "zero":
                vals = {k: (0.0 if v is None else v) for k, v in vals.items()}
            w_present = sum(t.weight for t in positive if vals[t.name] is not None)
            scale = w_all / w_present if w_present > 0 else 0.0
            total = 0.0
            for t in self.terms:
                v = vals[t.name]
                if v is None:
                    continue
                if t.gate is not None and not t.gate.passes(components[t.gate.term][i]):
                    v = 0.0
                total += t.weight * v * (scale if t.name in positive_names else 1.0)
            totals.append(total)
        return totals


def build_hybrid(spec: "HybridSpec | str | Mapping", perception: BatchReward | None = None) -> Hybrid:
    """Resolve ``spec`` against the registry; ``perception`` is the judge's BatchReward.

    Raises :class:`PerceptrlError` for unknown rewards, bad weights/gates, or a spec with a
    perception term and no judge.
    """
    spec = HybridSpec.from_config(spec)
    if spec.none_policy not in NONE_POLICIES:
        raise PerceptrlError(f"bad none_policy {spec.none_policy!r}", where="rewards.none_policy",
                             fix="use renormalize or zero (it applies to terms not applicable to a row; "
                                 "judge failures follow judge.failure_policy)")
    if not spec.terms:
        raise PerceptrlError("the hybrid reward has no terms", where="rewards config", fix="add at least one term")
    names = [t.name for t in spec.terms]
    dupes = {n for n in names if names.count(n) > 1}
    if dupes:
        raise PerceptrlError(f"duplicate reward term names {sorted(dupes)}", where="rewards config",
                             fix="give each term a distinct name (use reward: to run the same reward twice)")
    terms = []
    for t in spec.terms:
        if not isinstance(t.weight, (int, float)) or not math.isfinite(t.weight):
            raise PerceptrlError(f"reward term {t.name!r} has weight {t.weight!r}", where=f"rewards term {t.name}",
                                 fix="use a finite number")
        gate = Gate.parse(t.gate) if t.gate is not None else None
        if gate is not None and (gate.term not in names or gate.term == t.name):
            raise PerceptrlError(f"term {t.name!r} is gated on {gate.term!r}, which is not another term",
                                 where=f"rewards term {t.name}", fix=f"gate on one of {names}")
        if t.reward_name == PERCEPTION:
            if perception is None:
                raise PerceptrlError(
                    f"reward spec {spec.name!r} has a perception term but no judge was given",
                    where="rewards config / judge config",
                    fix="configure a judge (e.g. --judge-backend rules) or use the preset perception_r1_no_judge",
                )
            if t.params:
                raise PerceptrlError("the perception term takes no params", where=f"rewards term {t.name}",
                                     fix="configure the judge in the judge section")
            terms.append(ResolvedTerm(t.name, float(t.weight), gate, batch=perception))
        else:
            terms.append(ResolvedTerm(t.name, float(t.weight), gate, info=get_reward(t.reward_name, **t.params)))
    return Hybrid(spec, terms)
