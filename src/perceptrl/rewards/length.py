"""Length rewards.

* ``overlong`` — DAPO's soft overlong punishment (arXiv 2503.14476, eq. 13): 0 up to
  ``max_length − cache_length``, then linear down to −1 at ``max_length``, −1 beyond.
  Defaults from DAPO: ``max_length = 20480``, ``cache_length = 4096`` tokens; set ``max_length``
  to your ``max_completion_length``.
* ``length_group`` — Kimi k1.5's group-relative length penalty (arXiv 2501.12599, §2.3.3):
  within the rollouts of one prompt, ``λ_i = 0.5 − (L_i − L_min)/(L_max − L_min)``
  (0 when all lengths are equal); a correct rollout gets ``λ_i``, an incorrect one
  ``min(0, λ_i)``. It needs the whole group, so it is a *group* reward
  ``fn(completions, rows, components)``; correctness is read from the batch's ``accuracy``
  component when the hybrid has one (≥ 1 is correct), otherwise every rollout counts as correct.
  Rollouts are grouped by the row's ``id`` (else ``problem``/``prompt``): the whole group must be
  in the scored batch (TRL scores complete groups on a single process).

Length is ``row["completion_length"]`` when present (tokens; the TRL adapter sets it from
``completion_ids``), else the number of whitespace-separated words.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from perceptrl.rewards.registry import register_reward

__all__ = ["completion_length", "overlong_penalty", "make_overlong_reward", "group_length_penalty", "group_key"]


def completion_length(completion: str, row: Mapping) -> int:
    n = row.get("completion_length")
    if n is not None:
        return int(n)
    return len((completion or "").split())


def overlong_penalty(length: int, max_length: int = 20480, cache_length: int = 4096) -> float:
    start = max_length - cache_length
    if length <= start:
        return 0.0
    if length > max_length:
        return -1.0
    return (start - length) / cache_length


def make_overlong_reward(max_length: int = 20480, cache_length: int = 4096):
    """``max_length``: L_max (DAPO: 20480 tokens); ``cache_length``: L_cache (DAPO: 4096)."""
    if not 0 < cache_length <= max_length:
        raise ValueError("need 0 < cache_length <= max_length")

    def overlong(completion: str, row: Mapping) -> float:
        return overlong_penalty(completion_length(completion, row), max_length, cache_length)

    return overlong


register_reward("overlong", penalty=True, factory=make_overlong_reward)(make_overlong_reward())


def group_key(row: Mapping) -> object:
    """The prompt a rollout belongs to."""
    for k in ("id", "problem", "prompt"):
        v = row.get(k)
        if v is not None:
            return (k, v if isinstance(v, (str, int)) else repr(v))
    return ("row", id(row))


def group_length_penalty(
    completions: Sequence[str],
    rows: Sequence[Mapping],
    components: Mapping[str, Sequence[float | None]] | None = None,
) -> list[float]:
    lengths = [completion_length(c, r) for c, r in zip(completions, rows)]
    acc = (components or {}).get("accuracy")
    groups: dict[object, list[int]] = {}
    for i, r in enumerate(rows):
        groups.setdefault(group_key(r), []).append(i)
    out = [0.0] * len(completions)
    for idx in groups.values():
        ls = [lengths[i] for i in idx]
        lo, hi = min(ls), max(ls)
        if hi == lo:
            continue
        for i in idx:
            lam = 0.5 - (lengths[i] - lo) / (hi - lo)
            correct = acc is None or (acc[i] is not None and acc[i] >= 1.0)
            out[i] = lam if correct else min(0.0, lam)
    return out


register_reward("length_group", kind="group", penalty=True)(group_length_penalty)
