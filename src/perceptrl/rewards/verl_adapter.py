"""``compute_score`` entry points so perceptrl rewards drop into verl and EasyR1.

Point the engine at this file (``python -c "import perceptrl.rewards.verl_adapter as m; print(m.__file__)"``):

* **verl** — ``custom_reward_function.path=<this file>``, ``custom_reward_function.name=compute_score``
  (per-sample ``compute_score(data_source, solution_str, ground_truth, extra_info=None, **kw)``,
  returns ``{"score": total, <component>: value, ...}``), or ``name=compute_score_batched`` with
  verl's batch reward manager (lists in, list of dicts out);
* **EasyR1** — ``worker.reward.reward_function=<this file>:easyr1_compute_score`` with
  ``reward_type=batch`` (``reward_inputs`` = dicts with ``response``, ``ground_truth``,
  optionally ``response_length``; returns dicts with ``overall`` and each component).

Keyword ``preset`` (default ``perception_r1_no_judge``: these engines bring their own judge
plumbing, if any) selects the hybrid; ``extra_info``/other input keys become row fields
(``choices``, ``precision``, ``tolerance``, ``boxes``, ``caption``…). One runner (with its
worker processes) is kept per preset (and judge) for the life of the process. ``None`` components
(not applicable) are reported as 0.0, since these engines expect floats.

Keyword ``judge`` (a :class:`~perceptrl.judge.JudgeConfig` mapping, e.g. from verl's
``custom_reward_function.reward_kwargs``) adds the perception judge, for ``preset=perception_r1``.
Its failure policy needs each rollout's GRPO group: the row's ``id`` / ``problem`` / ``prompt``
(:func:`~perceptrl.rewards.length.group_key`), else ``uid`` or ``index`` from the extra info; a row
with none of these is its own group, where ``neutral`` gives a failed judge request 0 (as ``zero``).
Keyword ``runner_options`` (``workers``, ``item_timeout``, ``batch_budget``) configures the
:class:`~perceptrl.rewards.runner.RewardRunner`; ``batch_budget`` bounds each call, judge included.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from perceptrl.rewards.length import group_key
from perceptrl.rewards.runner import RewardRunner

__all__ = ["compute_score", "compute_score_batched", "easyr1_compute_score"]

DEFAULT_PRESET = "perception_r1_no_judge"
_runners: dict[tuple[str, str], RewardRunner] = {}
_lock = threading.Lock()


def _runner(preset: str, judge: Mapping | None = None, options: Mapping | None = None) -> RewardRunner:
    key = (preset, json.dumps([judge, options], sort_keys=True, default=str))
    with _lock:
        if key not in _runners:
            opts = dict(options or {})
            if judge is None:
                _runners[key] = RewardRunner(preset, **opts)
            else:
                from perceptrl.judge import build_perception_reward
                from perceptrl.rewards.hybrid import build_hybrid

                hybrid = build_hybrid(preset, perception=build_perception_reward(dict(judge)))
                _runners[key] = RewardRunner(hybrid, **opts)
        return _runners[key]


def _groups(rows: list[dict]) -> list:
    out = []
    for row in rows:
        key = group_key(row)
        if key[0] == "row":
            for k in ("uid", "index"):
                if isinstance(row.get(k), (str, int)):
                    key = (k, row[k])
                    break
        out.append(key)
    return out


def _score(responses: list[str], rows: list[dict], preset: str, total_key: str,
           judge: Mapping | None = None, options: Mapping | None = None) -> list[dict[str, float]]:
    batch = _runner(preset, judge, options).score(responses, rows, groups=_groups(rows))
    out = []
    for i, total in enumerate(batch.total):
        d = {total_key: float(total)}
        for name, vals in batch.components.items():
            d[name] = 0.0 if vals[i] is None else float(vals[i])
        out.append(d)
    return out


def _row(ground_truth: Any, extra: Mapping | None) -> dict:
    row = dict(extra or {})
    row["answer"] = ground_truth if not isinstance(ground_truth, Mapping) else ground_truth.get("answer")
    return row


def compute_score(data_source: str, solution_str: str, ground_truth: Any, extra_info: Mapping | None = None,
                  *, preset: str = DEFAULT_PRESET, judge: Mapping | None = None,
                  runner_options: Mapping | None = None, **_: Any) -> dict[str, float]:
    """verl's per-sample entry point (a group of one: a failed judge request scores 0)."""
    return _score([solution_str], [_row(ground_truth, extra_info)], preset, "score", judge, runner_options)[0]


def compute_score_batched(data_sources: Sequence[str], solution_strs: Sequence[str], ground_truths: Sequence[Any],
                          extra_infos: Sequence[Mapping | None] | None = None, *, preset: str = DEFAULT_PRESET,
                          judge: Mapping | None = None, runner_options: Mapping | None = None,
                          **_: Any) -> list[dict[str, float]]:
    """verl's batch entry point (``reward_manager=batch``)."""
    extras = list(extra_infos) if extra_infos is not None else [None] * len(solution_strs)
    rows = [_row(g, e) for g, e in zip(ground_truths, extras)]
    return _score(list(solution_strs), rows, preset, "score", judge, runner_options)


def easyr1_compute_score(reward_inputs: list[dict[str, Any]], *, preset: str = DEFAULT_PRESET,
                         judge: Mapping | None = None, runner_options: Mapping | None = None,
                         **_: Any) -> list[dict[str, float]]:
    """EasyR1's batch entry point (``reward_type=batch``)."""
    if not isinstance(reward_inputs, list):
        raise ValueError("use reward_type=batch with easyr1_compute_score")
    rows = []
    for ri in reward_inputs:
        row = {k: v for k, v in ri.items() if k not in ("response", "ground_truth", "response_length")}
        row["answer"] = ri.get("ground_truth")
        if ri.get("response_length") is not None:
            row["completion_length"] = ri["response_length"]
        rows.append(row)
    return _score([ri["response"] for ri in reward_inputs], rows, preset, "overall", judge, runner_options)
