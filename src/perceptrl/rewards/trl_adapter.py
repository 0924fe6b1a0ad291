"""TRL ``GRPOTrainer`` reward functions from a :class:`~perceptrl.rewards.runner.RewardRunner`.

TRL 1.16 calls every reward function on the same batch, one after another, as
``fn(prompts=, completions=, completion_ids=, **columns, trainer_state=, log_metric=, ...)``
(dataset columns arrive as keyword lists), logs ``rewards/<fn.__name__>/mean`` and ``/std``
per function (ignoring NaN = ``None``), and optimises ``nansum_f(weight_f · reward_f)``.

:func:`trl_reward_funcs` returns one function per hybrid component, each with weight **0**
(logged under the component's name, raw and ungated, e.g. ``rewards/accuracy/mean`` is the
accuracy rate), plus one function named ``hybrid`` with weight **1** that returns the
hybrid's total. So TRL's optimised reward equals the hybrid total exactly (gates and None
renormalisation included), while every component is visible in the logs. The batch is scored
once: the first function called scores it with the runner; the others read the cached result.
Runner metrics (timeouts, judge failures, seconds) go to TRL's ``log_metric`` as
``reward_runner/<name>``.

**Groups.** The runner is told each rollout's GRPO group, for the judge's ``neutral`` failure
policy (a failed judge request scores the pessimistic mean of its group, see
:func:`perceptrl.rewards.hybrid.fill_failed`): TRL gives every prompt's ``num_generations``
completions the same dataset row, so the group is the row's ``id`` / ``problem``
(:func:`~perceptrl.rewards.length.group_key`), else perceptrl's ``row_id``, else the prompt itself
(TRL passes it as ``prompts``, not as a column).

Pass them as ``GRPOTrainer(reward_funcs=funcs, args=GRPOConfig(reward_weights=weights, ...))``.
Rows given to the rewards are the dataset columns of each rollout plus ``completion_length``
(tokens, from ``completion_ids``).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from perceptrl.rewards.base import completion_text
from perceptrl.rewards.length import group_key
from perceptrl.rewards.runner import RewardBatch, RewardRunner

__all__ = ["trl_reward_funcs", "TOTAL_NAME"]

TOTAL_NAME = "hybrid"
_NOT_COLUMNS = {"prompts", "completions", "completion_ids", "trainer_state", "log_extra", "log_metric", "environments"}


class _Shared:
    """Scores a batch once for all the functions TRL calls on it.

    TRL calls each of the ``n_funcs`` functions once per batch: the batch is scored on the first
    call and re-used by the other ``n_funcs - 1``; after that, the next call scores anew even when
    it looks the same (a new step may bring the same completion texts, even the same list object,
    with other rows)."""

    def __init__(self, runner: RewardRunner, n_funcs: int):
        self.runner = runner
        self.n_funcs = n_funcs
        self._lock = threading.Lock()
        self._key: tuple | None = None
        self._reads = 0
        self._batch: RewardBatch | None = None

    def get(self, kwargs: dict) -> RewardBatch:
        completions = [completion_text(c) for c in kwargs["completions"]]
        key = (id(kwargs["completions"]), len(completions), hash(tuple(completions)))
        with self._lock:
            if key != self._key or self._reads >= self.n_funcs:
                self._reads = 0
                rows = _rows(kwargs, len(completions))
                self._batch = self.runner.score(completions, rows, groups=_groups(kwargs, rows))
                self._key = key
                log_metric = kwargs.get("log_metric")
                if callable(log_metric):
                    for name, value in self._batch.metrics.items():
                        log_metric(f"reward_runner/{name}", float(value))
            self._reads += 1
            return self._batch


def _rows(kwargs: dict, n: int) -> list[dict]:
    cols = {k: v for k, v in kwargs.items() if k not in _NOT_COLUMNS and isinstance(v, Sequence) and len(v) == n}
    rows = [{k: v[i] for k, v in cols.items()} for i in range(n)]
    for row in rows:
        # TRL's datasets (and perceptrl's `trl` writer) name the gold answer `solution`
        if "answer" not in row and "solution" in row:
            row["answer"] = row["solution"]
    ids = kwargs.get("completion_ids")
    if ids is not None:
        for row, c in zip(rows, ids):
            row["completion_length"] = len(c)
    return rows


def _groups(kwargs: dict, rows: list[dict]) -> list:
    """The GRPO group of each rollout (see the module docstring)."""
    prompts = kwargs.get("prompts")
    out = []
    for i, row in enumerate(rows):
        key = group_key(row)
        if key[0] == "row":  # no id/problem column
            if row.get("row_id") is not None:
                key = ("row_id", row["row_id"])
            elif isinstance(prompts, Sequence) and len(prompts) == len(rows):
                key = ("prompts", repr(prompts[i]))
        out.append(key)
    return out


class _ComponentFunc:
    """A TRL reward function returning one component (``__name__`` is what TRL logs)."""

    def __init__(self, shared: _Shared, name: str, total: bool = False):
        self._shared = shared
        self._component = name
        self._total = total
        self.__name__ = name

    def __call__(self, **kwargs) -> list[float | None]:
        batch = self._shared.get(kwargs)
        return list(batch.total) if self._total else list(batch.components[self._component])

    def __repr__(self) -> str:
        return f"<perceptrl reward {self.__name__}>"


def trl_reward_funcs(runner: RewardRunner) -> tuple[list, list[float]]:
    """``(funcs, weights)`` for ``GRPOTrainer(reward_funcs=funcs)`` and ``GRPOConfig(reward_weights=weights)``."""
    names = runner.hybrid.names
    shared = _Shared(runner, len(names) + 1)
    if TOTAL_NAME in names:
        raise ValueError(f"a reward term may not be named {TOTAL_NAME!r} (the total's name in TRL logs)")
    funcs = [_ComponentFunc(shared, n) for n in names] + [_ComponentFunc(shared, TOTAL_NAME, total=True)]
    weights = [0.0] * len(names) + [1.0]
    return funcs, weights
