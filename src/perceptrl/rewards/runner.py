"""Score a whole batch of rollouts with a hybrid reward: fast, bounded in time, deterministic.

What happens in :meth:`RewardRunner.ascore`:

* **batch rewards** (the perception judge) start first, as asyncio tasks, so their requests are
  in flight while everything else is computed;
* **heavy rewards** (accuracy: math-verify) — each rollout is reduced to a small key (the
  extracted answer + the gold); identical keys are scored **once**; the unique keys of one prompt
  form one chunk, so each worker parses a prompt's gold once (math-verify parse results are
  cached per worker); chunks go to a persistent :class:`~perceptrl.rewards.pool.WorkerPool`
  with a per-item timeout and the batch's deadline (``batch_budget``). An item that times out,
  crashes, or misses the deadline gets the reward's ``timeout_score`` (0 for accuracy) and is
  counted in the metrics (``<term>/timeouts``, ``<term>/errors``, ``<term>/over_budget``).
  Keys that timed out are remembered (LRU), so a policy repeating a pathological answer pays once;
* **light rewards** (format, repetition, IoU, …) run in a thread meanwhile;
* **group rewards** (group-relative length) run last, with the other components available;
* the hybrid combines the components (gates, None policy) into ``total``.

Results do not depend on the number of workers: every key is scored by the same pure function,
whichever process runs it (only the outcome of an item that hits a time limit can depend on
machine load, and it is reported).

The batch budget bounds the **whole step**: the heavy rewards, and the batch rewards (judge) too —
a batch reward whose ``ascore`` takes ``deadline=`` (the perception reward does) gets the step's
deadline, cancels the requests still outstanding then and scores those samples by its failure
policy (``neutral``: the pessimistic group mean; counted as ``<term>/over_budget``); one that does
not, or that overruns it anyway, is cancelled one second past the deadline and scores 0 for the
whole batch (what ``neutral`` gives a group where every sample failed), counted the same way. So
:meth:`RewardRunner.score` returns within ``batch_budget`` + about 1 s whatever the judge does.
Batch rewards that take ``groups=`` get each sample's GRPO group (the prompt: ``groups`` given to
:meth:`RewardRunner.score`, else :func:`~perceptrl.rewards.length.group_key` of the row). ``workers=0`` scores heavy rewards in-process, sequentially, for
debugging: there is no per-item time limit then (math-verify's alarm needs the main thread and
scoring runs on a helper thread); the batch deadline is checked between items only.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import inspect
import logging
import math
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from perceptrl.errors import PerceptrlError
from perceptrl.rewards.hybrid import Hybrid, HybridSpec, ResolvedTerm, build_hybrid
from perceptrl.rewards.length import group_key
from perceptrl.rewards.pool import BUDGET, DEFAULT_ITEM_TIMEOUT, ERROR, OK, TIMEOUT, WorkerPool

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
        self._heavy = [t for t in self.hybrid.terms if t.info is not None and t.info.heavy]
        self._light = [t for t in self.hybrid.terms if t.info is not None and not t.info.heavy and t.info.kind == "item"]
        self._group = [t for t in self.hybrid.terms if t.info is not None and t.info.kind == "group"]
        self._batch = [t for t in self.hybrid.terms if t.batch is not None]
        self._timed_out: OrderedDict = OrderedDict()
        self._warned_none: set[str] = set()
        self._timeout_cache = int(timeout_cache)
        self._pool: WorkerPool | None = None
        self._pool_lock = threading.Lock()
        self._run_lock = threading.Lock()
        self._threads = concurrent.futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix="perceptrl-rewards")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: threading.Thread | None = None
        self._closed = False
        for t in self._heavy:
            if t.info.warmup is not None:
                t.info.warmup()
        if self._heavy and self.workers > 0:
            self._ensure_pool()  # fork now, while the parent is small and has few threads
        atexit.register(self.close)

    # ------------------------------------------------------------------ lifecycle

    def _ensure_pool(self) -> WorkerPool:
        with self._pool_lock:
            if self._pool is None:
                self._pool = WorkerPool(self.workers, item_timeout=self.item_timeout, start_method=self.start_method)
            return self._pool

    @property
    def worker_pids(self) -> list[int]:
        return self._pool.pids if self._pool else []

    def close(self) -> None:
        """Stop the worker processes and threads (also done at exit)."""
        if self._closed:
            return
        self._closed = True
        if self._pool is not None:
            self._pool.close()
            self._pool = None
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._loop_thread.join(timeout=5)
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
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
            self._loop_thread = threading.Thread(target=self._loop.run_forever, name="perceptrl-rewards-loop",
                                                 daemon=True)
            self._loop_thread.start()
        return asyncio.run_coroutine_threadsafe(self.ascore(completions, rows, groups=groups), self._loop).result()

    async def ascore(self, completions: Sequence[str], rows: Sequence[Mapping], *,
                     groups: Sequence[Hashable] | None = None) -> RewardBatch:
        """Score a batch. ``groups[i]``: the GRPO group (prompt) of rollout i, for failure
        policies that need it (default: :func:`~perceptrl.rewards.length.group_key` of each row)."""
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
        t0 = time.monotonic()
        deadline = t0 + self.batch_budget
        loop = asyncio.get_running_loop()
        metrics: dict[str, float] = {}

        batch_tasks = {t.name: asyncio.ensure_future(self._call_batch(t, completions, rows, groups, deadline))
                       for t in self._batch}
        heavy_fut = loop.run_in_executor(self._threads, self._score_heavy, completions, rows, deadline, metrics)
        light_fut = loop.run_in_executor(self._threads, self._score_light, completions, rows)
        components: dict[str, list[float | None]] = {}
        components.update(await light_fut)
        components.update(await heavy_fut)
        t_sync = time.monotonic() - t0
        for name, task in batch_tasks.items():
            values, over = await task
            if len(values) != len(completions):
                raise RuntimeError(f"batch reward {name!r} returned {len(values)} values for {len(completions)} rollouts")
            components[name] = [None if v is None else float(v) for v in values]
            metrics[f"{name}/over_budget"] = float(over)
            if over:
                logger.warning("reward %s: %d/%d sample(s) missed the %.1f s batch budget and follow the failure "
                               "policy; raise the batch budget (rewards.batch_budget) if this is not a stalled "
                               "judge", name, over, len(completions), self.batch_budget)
        for t in self._batch:
            for k, v in (t.batch.metrics() or {}).items():
                metrics[k if "/" in k else f"{t.name}/{k}"] = float(v)
        for t in self._group:
            values = t.info.fn(completions, rows, dict(components))
            components[t.name] = [None if v is None else float(v) for v in values]
            for k, v in _group_metrics(t.info.fn).items():
                metrics[k if "/" in k else f"{t.name}/{k}"] = float(v)
        components = {t.name: components[t.name] for t in self.hybrid.terms}  # spec order
        total = self.hybrid.combine(components)
        for name, vals in components.items():
            present = [v for v in vals if v is not None]
            metrics[f"{name}/mean"] = sum(present) / len(present) if present else math.nan
            metrics[f"{name}/none_frac"] = 1 - len(present) / len(vals) if vals else 0.0
            if len(present) not in (0, len(vals)):
                self._check_none_is_row_decided(name, vals, groups, metrics)
        metrics["seconds/sync"] = t_sync
        metrics["seconds/total"] = time.monotonic() - t0
        return RewardBatch(total, components, metrics)

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

    async def _call_batch(self, t: ResolvedTerm, completions, rows, groups, deadline: float):
        """``(values, over_budget samples)`` of a batch reward, within the deadline (module docstring)."""
        params = _accepted(t.batch.ascore)
        kw: dict[str, Any] = {}
        if "deadline" in params:
            kw["deadline"] = deadline
        if "groups" in params:
            kw["groups"] = groups
        task = asyncio.ensure_future(t.batch.ascore(completions, rows, **kw))
        try:
            values = await asyncio.wait_for(asyncio.shield(task), timeout=max(0.0, deadline + 1.0 - time.monotonic()))
        except asyncio.TimeoutError:
            task.cancel()
            await asyncio.wait([task], timeout=0.5)
            logger.warning("batch reward %s did not return within the %.1f s batch budget (+1 s): 0 for the batch",
                           t.name, self.batch_budget)
            return [0.0] * len(completions), len(completions)
        return list(values), int(getattr(t.batch, "last_over_budget", 0) or 0)

    def _score_light(self, completions: list[str], rows: list[Mapping]) -> dict[str, list[float | None]]:
        out = {}
        for t in self._light:
            fn = t.info.fn
            out[t.name] = [_as_score(fn(c, r), t.name) for c, r in zip(completions, rows)]
        return out

    def _score_heavy(self, completions, rows, deadline: float, metrics: dict) -> dict[str, list[float | None]]:
        out = {}
        for t in self._heavy:
            out[t.name] = self._score_heavy_term(t, completions, rows, deadline, metrics)
        return out

    def _score_heavy_term(self, t: ResolvedTerm, completions, rows, deadline, metrics) -> list[float | None]:
        info = t.info
        keys = [info.key(c, r) for c, r in zip(completions, rows)]
        # Dedupe: identical keys are scored once; a prompt's unique keys form one chunk.
        index: dict[Any, int] = {}
        uniq: list[Any] = []
        groups: dict[Any, list[int]] = {}
        cached_timeouts = 0
        for k, r in zip(keys, rows):
            if k is None or k in index:
                continue
            index[k] = len(uniq)
            uniq.append(k)
            if (t.name, k) in self._timed_out:
                cached_timeouts += 1
                continue
            groups.setdefault(group_key(r), []).append(index[k])
        chunks = [c[i : i + 16] for c in groups.values() for i in range(0, len(c), 16)]
        values: list = [None] * len(uniq)
        status = [TIMEOUT] * len(uniq)  # keys remembered as timed out stay TIMEOUT
        errors: list[str] = []
        todo = [i for c in chunks for i in c]
        if todo:
            if self.workers > 0:
                pool = self._ensure_pool()
                with self._run_lock:  # one batch at a time through the pool
                    res = pool.run(info.score_key, uniq, chunks, deadline)
                for i in todo:
                    values[i], status[i] = res.values[i], res.status[i]
                errors = res.errors
                metrics[f"{t.name}/workers_replaced"] = float(res.replaced)
            else:
                self._score_in_process(info, uniq, todo, deadline, values, status, errors)
        for i, st in enumerate(status):
            if st == TIMEOUT:
                self._remember_timeout((t.name, uniq[i]))
        per_item = []
        counts = {OK: 0, TIMEOUT: 0, ERROR: 0, BUDGET: 0}
        for k in keys:
            if k is None:
                per_item.append(None)
                continue
            i = index[k]
            counts[status[i]] += 1
            per_item.append(_as_score(values[i], t.name) if status[i] == OK else info.timeout_score)
        metrics[f"{t.name}/timeouts"] = float(counts[TIMEOUT])
        metrics[f"{t.name}/errors"] = float(counts[ERROR])
        metrics[f"{t.name}/over_budget"] = float(counts[BUDGET])
        metrics[f"{t.name}/unique_keys"] = float(len(uniq))
        metrics[f"{t.name}/cached_timeouts"] = float(cached_timeouts)
        if errors:
            logger.warning("reward %s: %d item(s) failed, e.g. %s", t.name, len(errors), errors[0])
        if counts[BUDGET]:
            logger.warning("reward %s: %d item(s) missed the %.1f s batch budget (scored %s)",
                           t.name, counts[BUDGET], self.batch_budget, info.timeout_score)
        return per_item

    def _score_in_process(self, info, uniq, todo, deadline, values, status, errors) -> None:
        secs = max(1, math.ceil(self.item_timeout)) if threading.current_thread() is threading.main_thread() else None
        for i in todo:
            if time.monotonic() >= deadline:
                status[i] = BUDGET
                continue
            try:
                values[i], status[i] = info.score_key(uniq[i], secs), OK
            except Exception as e:  # noqa: BLE001 - reported and scored as a failure
                status[i] = ERROR
                errors.append(f"{type(e).__name__}: {e}")

    def _remember_timeout(self, key) -> None:
        self._timed_out[key] = True
        self._timed_out.move_to_end(key)
        while len(self._timed_out) > self._timeout_cache:
            self._timed_out.popitem(last=False)


def _accepted(fn) -> set[str]:
    """The keyword parameters ``fn`` accepts (all of them for ``**kwargs``)."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return set()
    if any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values()):
        return {"deadline", "groups"}
    return set(sig.parameters)


def _as_score(v: Any, name: str) -> float | None:
    if v is None:
        return None
    f = float(v)
    if not math.isfinite(f):
        raise ValueError(f"reward {name!r} returned {v!r}")
    return f
