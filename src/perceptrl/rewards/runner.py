"""Score a whole batch of rollouts with a hybrid reward: fast, bounded in time, deterministic.

What happens in :meth:`RewardRunner.ascore`:

* **batch rewards** (the perception judge) start first, as asyncio tasks, so their requests are
  in flight while everything else is computed;
* **heavy rewards** (accuracy: math-verify) — each rollout is reduced to a small key (the
  extracted answer + the gold); identical keys are scored **once**, in a persistent
  :class:`~perceptrl.rewards.pool.WorkerPool` with a per-item timeout and the batch's deadline
  (``batch_budget``): :mod:`perceptrl.rewards.heavy`;
* **light rewards** (format, repetition, IoU, …) run in a thread meanwhile;
* **group rewards** (group-relative length) run last, with the other components available;
* the hybrid combines the components (gates, None policy) into ``total``.

Results do not depend on the number of workers: every key is scored by the same pure function,
whichever process runs it (only the outcome of an item that hits a time limit can depend on
machine load, and it is reported).

The batch budget bounds the **whole step**: the heavy rewards, and the batch rewards (judge) too
(:mod:`perceptrl.rewards.batch_call`: a batch reward that takes ``deadline=`` cuts its own
outstanding requests and applies its failure policy; one that does not is cancelled one second
past the deadline and scores 0), counted as ``<term>/over_budget``. So :meth:`RewardRunner.score`
returns within ``batch_budget`` + about 1 s whatever the judge does.
Batch rewards that take ``groups=`` get each sample's GRPO group (the prompt: ``groups`` given to
:meth:`RewardRunner.score`, else :func:`~perceptrl.rewards.length.group_key` of the row). ``workers=0`` scores heavy rewards in-process, sequentially, for
debugging: there is no per-item time limit then (math-verify's alarm needs the main thread and
scoring runs on a helper thread); the batch deadline is checked between items only.

What is hand-written here and why: the event loop lives on its own thread
(:class:`~perceptrl.rewards.loop_thread.LoopThread`: the judge's client must see one loop across
steps, whichever thread calls); the light and heavy parts run on a stdlib ``ThreadPoolExecutor``;
the process pool is :class:`~perceptrl.rewards.pool.WorkerPool` (its docstring: what pebble, the
library for it, could not do, measured); the timed-out-key memory is
:class:`~perceptrl.rewards.heavy.TimedOutKeys`.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import logging
import math
import os
import time
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from perceptrl.errors import PerceptrlError
from perceptrl.rewards.batch_call import call_batch
from perceptrl.rewards.heavy import HeavyScorer, as_score
from perceptrl.rewards.hybrid import Hybrid, HybridSpec, build_hybrid
from perceptrl.rewards.length import group_key
from perceptrl.rewards.loop_thread import LoopThread
from perceptrl.rewards.pool import DEFAULT_ITEM_TIMEOUT

logger = logging.getLogger(__name__)

__all__ = ["RewardBatch", "RewardRunner", "default_workers", "DEFAULT_BUDGET", "DEFAULT_BUDGET_WITH_JUDGE",
           "DEFAULT_ITEM_TIMEOUT"]

#: default batch budget (s) of a hybrid without / with a batch reward (the judge)
DEFAULT_BUDGET = 10.0
DEFAULT_BUDGET_WITH_JUDGE = 120.0


def default_workers() -> int:
    """One worker per CPU this process may use, at most 8."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        n = os.cpu_count() or 1
    return max(1, min(8, n))


@dataclass
class RewardBatch:
    """``total[i]``: the hybrid reward of rollout i; ``components[name][i]``: each term, ungated
    (``None`` = not applicable / skipped); ``metrics``: counters and timings of this batch."""

    total: list[float]
    components: dict[str, list[float | None]]
    metrics: dict[str, float] = field(default_factory=dict)


def _group_metrics(fn: Any) -> dict[str, float]:
    """A group reward's own counters, if it keeps any: ``fn.metrics()``, ``fn.reward.metrics()``
    (a judge-backed reward) or a ``fn.counters`` dict (running totals)."""
    for owner in (fn, getattr(fn, "reward", None)):
        get = getattr(owner, "metrics", None)
        if callable(get):
            return dict(get() or {})
    counters = getattr(fn, "counters", None)
    return dict(counters) if isinstance(counters, dict) else {}


def _scoped(name: str, counters: Mapping) -> dict[str, float]:
    """A term's counters under ``<term>/`` unless already scoped."""
    return {k if "/" in k else f"{name}/{k}": float(v) for k, v in counters.items()}


class RewardRunner:
    """Scores batches with ``hybrid`` (a :class:`Hybrid`, a spec, or a preset name without judge).

    Args:
        workers: worker processes for heavy rewards (``None``, the default here, in
            ``RewardsConfig.workers`` and in ``perceptrl score --workers``: :func:`default_workers`,
            the usable CPUs, at most 8); 0 = in-process.
        item_timeout: seconds one heavy item may take (default 1.0; the Perception-R1 reference
            relies on math-verify's 5 s per call, which lets 1% pathological answers stall a step
            for a minute; legitimate items take milliseconds).
        batch_budget: seconds a batch may take in all, judge included (see the module docstring).
            Default: 10 s, or 120 s when the hybrid has a batch reward (the judge: the Perception-R1
            recipe sends ~1,000 requests per step to a 32B judge; samples cut by the deadline are
            counted in ``<term>/over_budget`` and logged with this advice).
        start_method: multiprocessing start method for workers (default ``"fork"``: workers
            inherit the parsed modules and start in milliseconds; ``"forkserver"`` if the parent
            holds state that must not be forked).
        timeout_cache: how many timed-out keys to remember (default 10,000).
    """

    def __init__(
        self,
        hybrid: "Hybrid | HybridSpec | str | Mapping",
        *,
        workers: int | None = None,
        item_timeout: float = DEFAULT_ITEM_TIMEOUT,
        batch_budget: float | None = None,
        start_method: str = "fork",
        timeout_cache: int = 10_000,
    ):
        self.hybrid = hybrid if isinstance(hybrid, Hybrid) else build_hybrid(hybrid)
        self.workers = default_workers() if workers is None else int(workers)
        if batch_budget is None:
            has_batch = any(t.batch is not None for t in self.hybrid.terms)
            batch_budget = DEFAULT_BUDGET_WITH_JUDGE if has_batch else DEFAULT_BUDGET
        if self.workers < 0 or item_timeout <= 0 or batch_budget <= 0:
            raise PerceptrlError("reward runner needs workers >= 0, item_timeout > 0, batch_budget > 0",
                                 where="rewards runner config", fix="check workers / item_timeout / batch_budget")
        self.item_timeout = float(item_timeout)
        self.batch_budget = float(batch_budget)
        self.start_method = start_method
        terms = self.hybrid.terms
        self._light = [t for t in terms if t.info is not None and not t.info.heavy and t.info.kind == "item"]
        self._group = [t for t in terms if t.info is not None and t.info.kind == "group"]
        self._batch = [t for t in terms if t.batch is not None]
        self._heavy = HeavyScorer([t for t in terms if t.info is not None and t.info.heavy], workers=self.workers,
                                  item_timeout=self.item_timeout, batch_budget=self.batch_budget,
                                  start_method=start_method, timeout_cache=timeout_cache)
        self._warned_none: set[str] = set()
        self._threads = concurrent.futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix="perceptrl-rewards")
        self._loop = LoopThread("perceptrl-rewards-loop")
        self._closed = False
        for t in self._heavy.terms:
            if t.info.warmup is not None:
                t.info.warmup()
        if self._heavy.terms and self.workers > 0:
            self._heavy.ensure_pool()  # fork now, while the parent is small and has few threads
        atexit.register(self.close)

    # ------------------------------------------------------------------ lifecycle

    @property
    def worker_pids(self) -> list[int]:
        return self._heavy.pool.pids if self._heavy.pool else []

    def close(self) -> None:
        """Stop the worker processes and threads (also done at exit)."""
        if self._closed:
            return
        self._closed = True
        self._heavy.close()
        self._loop.close()
        self._threads.shutdown(wait=False)

    def __enter__(self) -> "RewardRunner":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------ scoring

    def score(self, completions: Sequence[str], rows: Sequence[Mapping], *,
              groups: Sequence[Hashable] | None = None) -> RewardBatch:
        """Synchronous :meth:`ascore`. Batch rewards run on one persistent event loop owned by the
        runner (so a judge's HTTP client stays on one loop across steps)."""
        return self._loop.run(self.ascore(completions, rows, groups=groups))

    async def ascore(self, completions: Sequence[str], rows: Sequence[Mapping], *,
                     groups: Sequence[Hashable] | None = None) -> RewardBatch:
        """Score a batch. ``groups[i]``: the GRPO group (prompt) of rollout i, for failure
        policies that need it (default: :func:`~perceptrl.rewards.length.group_key` of each row)."""
        completions, rows, groups = self._inputs(completions, rows, groups)
        t0 = time.monotonic()
        deadline = t0 + self.batch_budget
        loop = asyncio.get_running_loop()
        metrics: dict[str, float] = {}
        batch_tasks = {t.name: asyncio.ensure_future(call_batch(t, completions, rows, groups, deadline))
                       for t in self._batch}
        heavy_fut = loop.run_in_executor(self._threads, self._heavy.score, completions, rows, deadline, metrics)
        light_fut = loop.run_in_executor(self._threads, self._score_light, completions, rows)
        components: dict[str, list[float | None]] = {}
        components.update(await light_fut)
        components.update(await heavy_fut)
        t_sync = time.monotonic() - t0
        await self._collect_batch(batch_tasks, len(completions), components, metrics)
        self._score_group(completions, rows, components, metrics)
        components = {t.name: components[t.name] for t in self.hybrid.terms}  # spec order
        total = self.hybrid.combine(components)
        self._summarise(components, groups, metrics)
        metrics["seconds/sync"] = t_sync
        metrics["seconds/total"] = time.monotonic() - t0
        return RewardBatch(total, components, metrics)

    def _inputs(self, completions, rows, groups):
        """The batch as lists, checked: one row and one group per completion."""
        if self._closed:
            raise RuntimeError("this RewardRunner is closed")
        completions = ["" if c is None else str(c) for c in completions]
        rows = list(rows)
        if len(completions) != len(rows):
            raise PerceptrlError(f"{len(completions)} completions but {len(rows)} rows",
                                 where="reward runner input", fix="pass one row per completion")
        groups = [group_key(r) for r in rows] if groups is None else list(groups)
        if len(groups) != len(rows):
            raise PerceptrlError(f"{len(groups)} groups for {len(rows)} rows", where="reward runner input",
                                 fix="pass one group key per completion")
        return completions, rows, groups

    async def _collect_batch(self, tasks: dict, n: int, components: dict, metrics: dict) -> None:
        """The batch rewards' values (started first, awaited last) and their counters."""
        for name, task in tasks.items():
            values, over = await task
            if len(values) != n:
                raise RuntimeError(f"batch reward {name!r} returned {len(values)} values for {n} rollouts")
            components[name] = [None if v is None else float(v) for v in values]
            metrics[f"{name}/over_budget"] = float(over)
            if over:
                logger.warning("reward %s: %d/%d sample(s) missed the %.1f s batch budget and follow the failure "
                               "policy; raise the batch budget (rewards.batch_budget) if this is not a stalled "
                               "judge", name, over, n, self.batch_budget)
        for t in self._batch:
            metrics.update(_scoped(t.name, t.batch.metrics() or {}))

    def _score_group(self, completions, rows, components: dict, metrics: dict) -> None:
        """Group rewards run last, with the other components available."""
        for t in self._group:
            values = t.info.fn(completions, rows, dict(components))
            components[t.name] = [None if v is None else float(v) for v in values]
            metrics.update(_scoped(t.name, _group_metrics(t.info.fn)))

    def _summarise(self, components: dict, groups, metrics: dict) -> None:
        for name, vals in components.items():
            present = [v for v in vals if v is not None]
            metrics[f"{name}/mean"] = sum(present) / len(present) if present else math.nan
            metrics[f"{name}/none_frac"] = 1 - len(present) / len(vals) if vals else 0.0
            if len(present) not in (0, len(vals)):
                self._check_none_is_row_decided(name, vals, groups, metrics)

    def _check_none_is_row_decided(self, name: str, vals, groups, metrics: dict) -> None:
        """``None`` must mean "not applicable to the row": if it varies between the rollouts of one
        prompt, the response decides it, and ``renormalize`` would let a response choose its own
        weights (skip a term it would fail). Counted (``<term>/none_varies_in_group``) and warned."""
        seen: dict[Hashable, set[bool]] = {}
        for v, g in zip(vals, groups):
            seen.setdefault(g, set()).add(v is None)
        varies = sum(1 for s in seen.values() if len(s) == 2)
        metrics[f"{name}/none_varies_in_group"] = float(varies)
        if varies and name not in self._warned_none:
            self._warned_none.add(name)
            logger.warning("reward %s is None (not applicable) for some rollouts of a prompt and not for others "
                           "(%d group(s)): the response decides it, so none_policy=renormalize lets a response "
                           "drop the term; return None only from the row", name, varies)

    def _score_light(self, completions: list[str], rows: list[Mapping]) -> dict[str, list[float | None]]:
        out = {}
        for t in self._light:
            fn = t.info.fn
            out[t.name] = [as_score(fn(c, r), t.name) for c, r in zip(completions, rows)]
        return out
