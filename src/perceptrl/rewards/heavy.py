"""Heavy rewards (accuracy: math-verify) over a batch: each rollout reduced to a small key, each
unique key scored once in a :class:`~perceptrl.rewards.pool.WorkerPool` (or in-process), under a
per-item timeout and the batch's deadline.

* the unique keys of one prompt form one chunk (at most 16), so a worker parses a prompt's gold
  once (math-verify parse results are cached per worker);
* an item that times out, crashes or misses the deadline gets the reward's ``timeout_score`` (0 for
  accuracy), counted in ``<term>/timeouts``, ``<term>/errors``, ``<term>/over_budget``;
* keys that timed out are remembered (:class:`TimedOutKeys`, an LRU), so a policy repeating a
  pathological answer pays once.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

from perceptrl.rewards.length import group_key
from perceptrl.rewards.pool import BUDGET, ERROR, OK, TIMEOUT, WorkerPool

logger = logging.getLogger(__name__)

CHUNK = 16  # keys per chunk at most


class TimedOutKeys:
    """The last ``size`` keys that timed out (least recently seen dropped first).

    An ``OrderedDict`` rather than a library LRU (``cachetools``): it holds keys only, no values,
    no expiry, and is touched once per timed-out item."""

    def __init__(self, size: int):
        self.size = int(size)
        self._keys: OrderedDict = OrderedDict()

    def __contains__(self, key: Hashable) -> bool:
        return key in self._keys

    def add(self, key: Hashable) -> None:
        self._keys[key] = True
        self._keys.move_to_end(key)
        while len(self._keys) > self.size:
            self._keys.popitem(last=False)


class HeavyScorer:
    """Scores the heavy terms of a hybrid; owns the worker pool (forked on first need)."""

    def __init__(self, terms: Sequence[Any], *, workers: int, item_timeout: float, batch_budget: float,
                 start_method: str = "fork", timeout_cache: int = 10_000):
        self.terms = list(terms)
        self.workers = workers
        self.item_timeout = item_timeout
        self.batch_budget = batch_budget
        self.start_method = start_method
        self.timed_out = TimedOutKeys(timeout_cache)
        self.pool: WorkerPool | None = None
        self._pool_lock = threading.Lock()
        self._run_lock = threading.Lock()  # one batch at a time through the pool

    def ensure_pool(self) -> WorkerPool:
        with self._pool_lock:
            if self.pool is None:
                self.pool = WorkerPool(self.workers, item_timeout=self.item_timeout, start_method=self.start_method)
            return self.pool

    def close(self) -> None:
        if self.pool is not None:
            self.pool.close()
            self.pool = None

    def score(self, completions: Sequence[str], rows: Sequence[Mapping], deadline: float,
              metrics: dict) -> dict[str, list[float | None]]:
        return {t.name: self._score_term(t, completions, rows, deadline, metrics) for t in self.terms}

    def _score_term(self, t: Any, completions, rows, deadline: float, metrics: dict) -> list[float | None]:
        info = t.info
        keys = [info.key(c, r) for c, r in zip(completions, rows)]
        uniq, index, chunks, cached = self._plan(t.name, keys, rows)
        values: list = [None] * len(uniq)
        status = [TIMEOUT] * len(uniq)  # keys remembered as timed out stay TIMEOUT
        errors = self._run(t, info, uniq, chunks, deadline, values, status, metrics)
        for i, st in enumerate(status):
            if st == TIMEOUT:
                self.timed_out.add((t.name, uniq[i]))
        per_item, counts = [], {OK: 0, TIMEOUT: 0, ERROR: 0, BUDGET: 0}
        for k in keys:
            if k is None:
                per_item.append(None)
                continue
            i = index[k]
            counts[status[i]] += 1
            per_item.append(as_score(values[i], t.name) if status[i] == OK else info.timeout_score)
        metrics.update({f"{t.name}/timeouts": float(counts[TIMEOUT]), f"{t.name}/errors": float(counts[ERROR]),
                        f"{t.name}/over_budget": float(counts[BUDGET]), f"{t.name}/unique_keys": float(len(uniq)),
                        f"{t.name}/cached_timeouts": float(cached)})
        if errors:
            logger.warning("reward %s: %d item(s) failed, e.g. %s", t.name, len(errors), errors[0])
        if counts[BUDGET]:
            logger.warning("reward %s: %d item(s) missed the %.1f s batch budget (scored %s)",
                           t.name, counts[BUDGET], self.batch_budget, info.timeout_score)
        return per_item

    def _plan(self, name: str, keys: list, rows: Sequence[Mapping]):
        """``(unique keys, key -> position, chunks of positions to score, keys remembered as timed out)``:
        identical keys are scored once; a prompt's unique keys form its chunks."""
        index: dict[Any, int] = {}
        uniq: list[Any] = []
        groups: dict[Any, list[int]] = {}
        cached = 0
        for k, r in zip(keys, rows):
            if k is None or k in index:
                continue
            index[k] = len(uniq)
            uniq.append(k)
            if (name, k) in self.timed_out:
                cached += 1
                continue
            groups.setdefault(group_key(r), []).append(index[k])
        chunks = [c[i : i + CHUNK] for c in groups.values() for i in range(0, len(c), CHUNK)]
        return uniq, index, chunks, cached

    def _run(self, t, info, uniq, chunks, deadline, values, status, metrics) -> list[str]:
        """Score the chunks' keys into ``values``/``status``; returns the error messages."""
        todo = [i for c in chunks for i in c]
        if not todo:
            return []
        if self.workers == 0:
            return self._run_in_process(info, uniq, todo, deadline, values, status)
        pool = self.ensure_pool()
        with self._run_lock:
            res = pool.run(info.score_key, uniq, chunks, deadline)
        for i in todo:
            values[i], status[i] = res.values[i], res.status[i]
        metrics[f"{t.name}/workers_replaced"] = float(res.replaced)
        return res.errors

    def _run_in_process(self, info, uniq, todo, deadline, values, status) -> list[str]:
        """Sequentially, for debugging (``workers=0``): math-verify's own alarm, main thread only;
        the deadline is checked between items."""
        secs = max(1, math.ceil(self.item_timeout)) if threading.current_thread() is threading.main_thread() else None
        errors: list[str] = []
        for i in todo:
            if time.monotonic() >= deadline:
                status[i] = BUDGET
                continue
            try:
                values[i], status[i] = info.score_key(uniq[i], secs), OK
            except Exception as e:  # noqa: BLE001 - reported and scored as a failure
                status[i] = ERROR
                errors.append(f"{type(e).__name__}: {e}")
        return errors


def as_score(v: Any, name: str) -> float | None:
    """A reward's value as a float (``None`` stays: not applicable); a non-finite value is a bug."""
    if v is None:
        return None
    f = float(v)
    if not math.isfinite(f):
        raise ValueError(f"reward {name!r} returned {v!r}")
    return f
