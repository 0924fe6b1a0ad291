"""Entry points so perceptrl rewards — the perception judge included — run inside verl and EasyR1.

Point the engine at this file (``python -c "import perceptrl.rewards.verl_adapter as m; print(m.__file__)"``);
``docs/engines.md`` has the full recipes. Tested against verl 0.9.1 and EasyR1's
``verl/workers/reward/function.py`` (hiyouga/EasyR1, July 2026).

* **verl, per sample** — ``reward.custom_reward_function.path=<this file>``, ``name=compute_score``
  (``compute_score(data_source, solution_str, ground_truth, extra_info=None, **kw)`` → ``{"score":
  total, <component>: value, ...}``), for the ``naive`` reward manager; each call is a group of one.
* **verl, batch** — ``name=compute_score_batched`` with ``reward_manager=batch`` (lists in, list
  of dicts out): one runner call per step, so the judge's de-duplication, concurrency and GRPO
  groups (``neutral`` failure policy) work across the whole batch.
* **verl, async reward loop** — ``name=compute_score_async``: a coroutine; the reward loop's
  concurrent per-sample calls are gathered into batches (:class:`~perceptrl.engines.batcher.MicroBatcher`,
  ``batch_window`` seconds, default 0.05) and scored in a thread, off the event loop.
* **EasyR1** — ``worker.reward.reward_function=<this file>:easyr1_compute_score`` (this module's
  ``REWARD_TYPE`` is ``batch``); ``reward_inputs`` = dicts with ``response``, ``ground_truth``,
  ``response_length``; returns dicts with ``overall`` and each component.

**Rows.** ``extra_info`` (verl) or a structured ``ground_truth`` (EasyR1, written by ``perceptrl data
convert --to easyr1``) becomes the reward row (:mod:`perceptrl.engines.rows`): visual annotations,
choices, precision, tolerance, boxes, caption; a plain ``ground_truth`` is the gold answer.

**Preset and judge** (keywords from verl's ``custom_reward_function.reward_kwargs`` / EasyR1's
``reward_function_kwargs``, else environment variables, which a launcher can set on every worker):

* ``preset`` / ``$PERCEPTRL_REWARD_PRESET`` — default ``perception_r1`` when a judge is configured,
  else ``perception_r1_no_judge``;
* ``judge`` / ``$PERCEPTRL_JUDGE`` — a :class:`~perceptrl.judge.JudgeConfig` mapping, a JSON object,
  or a YAML/JSON file (its ``judge:`` section if it has one). The judge runs with perceptrl's
  client: concurrency, de-duplication, the sqlite cache (shared by the processes of a node), retries,
  failure policy, and the batch budget (``runner_options.batch_budget``);
* ``judge_total_concurrency`` / ``$PERCEPTRL_JUDGE_TOTAL_CONCURRENCY`` — at most this many judge
  requests in flight from all processes of the node together (:mod:`perceptrl.judge.limits`).

Failure policies need each rollout's GRPO group: the row's ``id`` / ``problem`` / ``prompt``
(:func:`~perceptrl.rewards.length.group_key`), else ``uid`` or ``index``; a row with none of these is its
own group, where ``neutral`` gives a failed judge request 0 (as ``zero``). ``runner_options``
(``workers``, ``item_timeout``, ``batch_budget``) configures the
:class:`~perceptrl.rewards.runner.RewardRunner`; one runner (with its worker processes) is kept per
setting for the life of the process. ``None`` components (not applicable) are reported as 0.0,
since these engines expect floats.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from perceptrl.engines.batcher import DEFAULT_WINDOW, MicroBatcher
from perceptrl.engines.rows import decode_ground_truth, row_from_fields
from perceptrl.errors import PerceptrlError
from perceptrl.rewards.length import group_key
from perceptrl.rewards.runner import RewardRunner

__all__ = ["compute_score", "compute_score_async", "compute_score_batched", "easyr1_compute_score"]

DEFAULT_PRESET = "perception_r1_no_judge"
JUDGE_PRESET = "perception_r1"
ENV_PRESET = "PERCEPTRL_REWARD_PRESET"
ENV_JUDGE = "PERCEPTRL_JUDGE"
ENV_WINDOW = "PERCEPTRL_REWARD_BATCH_WINDOW"
#: EasyR1 reads these module attributes when it loads the reward function file
REWARD_NAME = "perceptrl"
REWARD_TYPE = "batch"

_runners: dict[str, RewardRunner] = {}
_batchers: dict[str, MicroBatcher] = {}
_lock = threading.Lock()


def _plain(v: Any) -> Any:
    """OmegaConf containers (verl's reward_kwargs) and tuples as plain dicts / lists."""
    if isinstance(v, Mapping):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)) or type(v).__name__ == "ListConfig":
        return [_plain(x) for x in v]
    return v


def judge_settings(judge: Any) -> dict | None:
    """The judge mapping from a keyword value or ``$PERCEPTRL_JUDGE`` (mapping, JSON, or a file)."""
    if judge is None or judge == "":
        return None
    if isinstance(judge, Mapping):
        return _plain(judge)
    if not isinstance(judge, str):
        raise PerceptrlError(f"judge must be a mapping, JSON or a file path, not {type(judge).__name__}",
                             where="reward kwargs 'judge' / $PERCEPTRL_JUDGE", fix='e.g. {"backend": "rules"}')
    if judge.lstrip().startswith("{"):
        try:
            return _plain(json.loads(judge))
        except json.JSONDecodeError as e:
            raise PerceptrlError(f"judge is not valid JSON: {e}", where="reward kwargs 'judge' / $PERCEPTRL_JUDGE",
                                 fix='write a JSON object, e.g. {"backend": "openai", "base_url": "...", "model": "..."}') from e
    path = Path(judge).expanduser()
    if not path.is_file():
        raise PerceptrlError(f"judge file {judge!r} does not exist", where="reward kwargs 'judge' / $PERCEPTRL_JUDGE",
                             fix="pass a YAML/JSON file with the judge options, or the options as JSON")
    import yaml

    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, Mapping):
        raise PerceptrlError("the judge file does not hold a mapping", where=str(path), fix="write judge options as keys")
    return _plain(data.get("judge", data))


def resolve(preset: str | None, judge: Any) -> tuple[str, dict | None]:
    """(preset, judge mapping) from the keywords, else the environment (see module doc)."""
    judge = judge_settings(judge if judge is not None else os.environ.get(ENV_JUDGE))
    preset = preset or os.environ.get(ENV_PRESET) or (JUDGE_PRESET if judge is not None else DEFAULT_PRESET)
    if preset == JUDGE_PRESET and judge is None:
        raise PerceptrlError(f"the {JUDGE_PRESET} preset needs a judge", where="reward kwargs 'preset'",
                             fix="pass judge={...} in reward_kwargs / reward_function_kwargs, set $PERCEPTRL_JUDGE, "
                                 f"or use preset={DEFAULT_PRESET}")
    return preset, judge


def _total_concurrency(value: Any) -> int | None:
    raw = value if value is not None else os.environ.get("PERCEPTRL_JUDGE_TOTAL_CONCURRENCY")
    return None if raw in (None, "") else int(raw)


def _runner(preset: str, judge: Mapping | None, options: Mapping | None, total: int | None) -> RewardRunner:
    key = json.dumps([preset, judge, _plain(options), total], sort_keys=True, default=str)
    with _lock:
        if key not in _runners:
            opts = dict(_plain(options) or {})
            if judge is None:
                _runners[key] = RewardRunner(preset, **opts)
            else:
                from perceptrl.judge import build_perception_reward
                from perceptrl.judge.limits import FileSemaphore
                from perceptrl.rewards.hybrid import build_hybrid

                perception = build_perception_reward(dict(judge))
                if total is not None and perception.client is not None:
                    perception.client.shared_limit = FileSemaphore(total, perception.client.base_url)
                _runners[key] = RewardRunner(build_hybrid(preset, perception=perception), **opts)
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


def _score(responses: list[str], rows: list[dict], total_key: str, preset: str | None, judge: Any,
           options: Mapping | None, total: Any) -> list[dict[str, float]]:
    preset, judge = resolve(preset, judge)
    batch = _runner(preset, judge, options, _total_concurrency(total)).score(responses, rows, groups=_groups(rows))
    out = []
    for i, value in enumerate(batch.total):
        d = {total_key: float(value)}
        for name, vals in batch.components.items():
            d[name] = 0.0 if vals[i] is None else float(vals[i])
        out.append(d)
    return out


def _row(ground_truth: Any, extra: Mapping | None) -> dict:
    decoded = decode_ground_truth(ground_truth)
    if decoded is not None:  # a structured ground truth: its fields, then the engine's extras
        return row_from_fields(decoded.get("answer"), {**decoded, **dict(extra or {})})
    answer = ground_truth.get("answer") if isinstance(ground_truth, Mapping) else ground_truth
    return row_from_fields(answer, extra)


def compute_score(data_source: str, solution_str: str, ground_truth: Any, extra_info: Mapping | None = None,
                  *, preset: str | None = None, judge: Any = None, runner_options: Mapping | None = None,
                  judge_total_concurrency: int | None = None, **_: Any) -> dict[str, float]:
    """verl's per-sample entry point (a group of one: a failed judge request scores 0)."""
    return _score([solution_str], [_row(ground_truth, extra_info)], "score", preset, judge, runner_options,
                  judge_total_concurrency)[0]


def compute_score_batched(data_sources: Sequence[str], solution_strs: Sequence[str], ground_truths: Sequence[Any],
                          extra_infos: Sequence[Mapping | None] | None = None, *, preset: str | None = None,
                          judge: Any = None, runner_options: Mapping | None = None,
                          judge_total_concurrency: int | None = None, **_: Any) -> list[dict[str, float]]:
    """verl's batch entry point (``reward_manager=batch``)."""
    extras = list(extra_infos) if extra_infos is not None else [None] * len(solution_strs)
    rows = [_row(g, e) for g, e in zip(ground_truths, extras)]
    return _score(list(solution_strs), rows, "score", preset, judge, runner_options, judge_total_concurrency)


async def compute_score_async(data_source: str, solution_str: str, ground_truth: Any,
                              extra_info: Mapping | None = None, *, preset: str | None = None, judge: Any = None,
                              runner_options: Mapping | None = None, judge_total_concurrency: int | None = None,
                              batch_window: float | None = None, **_: Any) -> dict[str, float]:
    """verl's async reward-loop entry point: concurrent calls are scored together (module doc)."""
    window = float(batch_window if batch_window is not None else os.environ.get(ENV_WINDOW, DEFAULT_WINDOW))
    key = json.dumps([preset, _plain(judge), _plain(runner_options), judge_total_concurrency, window],
                     sort_keys=True, default=str)
    with _lock:
        if key not in _batchers:
            def score_batch(items: list[tuple[str, dict]]) -> list[dict[str, float]]:
                return _score([s for s, _ in items], [r for _, r in items], "score", preset, judge,
                              runner_options, judge_total_concurrency)

            _batchers[key] = MicroBatcher(score_batch, window=window)
        batcher = _batchers[key]
    return await batcher.submit((solution_str, _row(ground_truth, extra_info)))


def easyr1_compute_score(reward_inputs: list[dict[str, Any]], *, preset: str | None = None, judge: Any = None,
                         runner_options: Mapping | None = None, judge_total_concurrency: int | None = None,
                         **_: Any) -> list[dict[str, float]]:
    """EasyR1's batch entry point (``REWARD_TYPE = "batch"``)."""
    if not isinstance(reward_inputs, list):
        raise ValueError("use a batch reward function (REWARD_TYPE = 'batch') with easyr1_compute_score")
    rows = []
    for ri in reward_inputs:
        extra = {k: v for k, v in ri.items() if k not in ("response", "ground_truth", "response_length")}
        row = _row(ri.get("ground_truth"), extra)
        if ri.get("response_length") is not None:
            row["completion_length"] = ri["response_length"]
        rows.append(row)
    return _score([ri["response"] for ri in reward_inputs], rows, "overall", preset, judge, runner_options,
                  judge_total_concurrency)
