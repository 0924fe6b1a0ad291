"""A small pool of persistent worker processes that score CPU-heavy reward items under a
per-item timeout and a per-batch deadline, killing and replacing a worker that gets stuck.

Why not ``concurrent.futures.ProcessPoolExecutor``: a future cannot be cancelled once running,
and killing one of its workers breaks the whole pool. Here each worker has its own pipe, so the
parent knows exactly which item a worker is on, can kill just that worker, re-queue the items it
had not started, and fork a replacement.

Why not pebble (the well-kept library for a process pool with per-task timeouts and worker
replacement), measured by ``benchmarks/reward_pool.py`` (same keys, 2 workers, 1 s per item, on
the shared 2-core machine, 2026-12-02): a pebble timeout *terminates* the worker, so every
Python-level timeout costs a fork from the (in training: large, multi-threaded) parent and a worker
whose math-verify parse cache is cold, and its clock runs from dispatch, so under load it cut
legitimate items too: with 1% pathological answers pebble timed out 66 of 317 keys (ours 9, the
pathological ones, no worker replaced) — each a wrong 0 reward; wall 10.0 s vs 8.8 s, CPU 1.45 s vs
1.22 s. Without pathological answers the two are alike (5.0 s vs 4.6 s wall, 0.72 s vs 0.69 s CPU,
load ~8; 0.7-1.8 s each on a quieter run, noise larger than the difference). Here the timer runs
inside the worker from the item's start and interrupts the item without losing the worker.

Timeouts, two layers:

1. in the worker, a wall-clock timer (``signal.setitimer(ITIMER_REAL)``) raises
   :class:`ItemTimeout` (a ``BaseException``, so math-verify's ``except Exception`` cannot
   swallow it) after ``item_timeout`` seconds — this interrupts Python-level work such as
   sympy simplification. math-verify's own ``signal.alarm`` is switched off (whole seconds
   only). Wall time rather than CPU time because the batch budget is wall time: on a loaded
   machine a CPU-time limit let four 1-CPU-second items take 14 s;
2. in the parent, a worker silent for ``kill_after`` seconds (default ``item_timeout + 1``:
   stuck in C code, where signals wait) is killed (SIGKILL) and replaced.

Items not finished by the batch deadline get status ``"budget"``; workers still busy then are
killed and replaced, so the next batch never waits on them.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import pickle
import signal
import time
from collections import deque
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from typing import Any

logger = logging.getLogger(__name__)

OK, TIMEOUT, ERROR, BUDGET = "ok", "timeout", "error", "budget"
#: default seconds one heavy item may take (the reward runner's and ``RewardsConfig.item_timeout``'s:
#: legitimate items take milliseconds; the Perception-R1 reference relies on math-verify's 5 s)
DEFAULT_ITEM_TIMEOUT = 1.0
_PIPELINE_MAX_BYTES = 16 * 1024  # well under a pipe's buffer


class ItemTimeout(BaseException):
    """Raised inside a worker when an item exceeds its time."""


def _on_alarm(signum, frame):
    raise ItemTimeout()


def _worker_main(conn, item_timeout: float) -> None:
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's business
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError, KeyboardInterrupt):
            return
        if msg is None:
            return
        fn, items = msg
        for tid, key in items:
            try:
                try:
                    signal.setitimer(signal.ITIMER_REAL, item_timeout)
                    value, status = fn(key, None), OK
                finally:
                    signal.setitimer(signal.ITIMER_REAL, 0)
            except ItemTimeout:
                value, status = None, TIMEOUT
            except Exception as e:  # a bug or a parser crash (RecursionError…): reported, not fatal
                value, status = f"{type(e).__name__}: {e}"[:500], ERROR
            try:
                conn.send((tid, status, value))
            except (BrokenPipeError, OSError):
                return


@dataclass
class _Worker:
    proc: Any
    conn: Any
    pending: deque = field(default_factory=deque)  # task ids sent, in order; [0] is the current one
    since: float = 0.0  # when the current item started (last message, or dispatch when idle)


@dataclass
class PoolResult:
    values: list  # float | None per task (None unless status ok)
    status: list[str]
    errors: list[str]
    replaced: int


class WorkerPool:
    """``n`` persistent processes running ``fn(key, None)`` per task (see the module docstring)."""

    def __init__(
        self,
        n: int,
        *,
        item_timeout: float = DEFAULT_ITEM_TIMEOUT,
        kill_after: float | None = None,
        start_method: str = "fork",
        chunk_inflight: int = 2,
    ):
        if n < 1:
            raise ValueError("a WorkerPool needs n >= 1")
        self.n = n
        self.item_timeout = float(item_timeout)
        self.kill_after = float(kill_after) if kill_after is not None else self.item_timeout + 1.0
        self.chunk_inflight = chunk_inflight
        self._ctx = mp.get_context(start_method)
        self._workers: list[_Worker] = []
        self.replaced_total = 0
        for _ in range(n):
            self._workers.append(self._spawn())

    def _spawn(self) -> _Worker:
        parent, child = self._ctx.Pipe(duplex=True)
        proc = self._ctx.Process(target=_worker_main, args=(child, self.item_timeout), daemon=True,
                                 name="perceptrl-reward-worker")
        proc.start()
        child.close()
        return _Worker(proc, parent)

    def _replace(self, i: int) -> None:
        w = self._workers[i]
        if w.proc.is_alive():
            w.proc.kill()
        w.proc.join(timeout=5)
        w.conn.close()
        self._workers[i] = self._spawn()
        self.replaced_total += 1

    @property
    def pids(self) -> list[int]:
        return [w.proc.pid for w in self._workers]

    def run(
        self,
        fn: Callable[[Hashable, Any], Any],
        keys: Sequence[Hashable],
        chunks: Sequence[Sequence[int]],
        deadline: float,
    ) -> PoolResult:
        """Score ``keys`` (task i = ``keys[i]``), dispatched as ``chunks`` of task ids, by ``deadline``
        (``time.monotonic()``)."""
        batch = _Batch(self, fn, keys, chunks)
        replaced0 = self.replaced_total
        while batch.remaining > 0 and time.monotonic() < deadline:
            batch.dispatch()
            busy = batch.busy()
            if not busy:
                if not batch.queue:
                    break
                continue  # a worker was replaced while idle: dispatch again
            batch.collect(busy, deadline)
            batch.kill_stuck()
        batch.out_of_budget()
        return PoolResult(batch.values, [s or BUDGET for s in batch.status], batch.errors,
                          self.replaced_total - replaced0)

    def close(self) -> None:
        for w in self._workers:
            try:
                w.conn.send(None)
            except (BrokenPipeError, OSError):
                pass
        for w in self._workers:
            w.proc.join(timeout=1)
            if w.proc.is_alive():
                w.proc.kill()
                w.proc.join(timeout=5)
            w.conn.close()
        self._workers = []


class _Batch:
    """The state of one :meth:`WorkerPool.run`: each task's result, the chunks not yet sent, and
    per worker the chunks in flight. Each method is one step of the loop in ``run``."""

    def __init__(self, pool: WorkerPool, fn: Callable, keys: Sequence[Hashable], chunks: Sequence[Sequence[int]]):
        self.pool, self.fn, self.keys = pool, fn, keys
        self.values: list = [None] * len(keys)
        self.status: list[str | None] = [None] * len(keys)
        self.errors: list[str] = []
        self.queue = deque(list(c) for c in chunks if c)
        self.remaining = len(keys)
        self.inflight = [0] * pool.n  # chunks sent and not finished, per worker
        self.chunk_ends: list[set[int]] = [set() for _ in range(pool.n)]  # last task id of each in-flight chunk

    def settle(self, tid: int, st: str, val: Any = None) -> None:
        """The first outcome of a task is its outcome."""
        if self.status[tid] is None:
            self.status[tid] = st
            self.remaining -= 1
            if st == OK:
                self.values[tid] = val
            elif st == ERROR and val is not None:
                self.errors.append(str(val))

    def busy(self) -> list[int]:
        return [i for i, w in enumerate(self.pool._workers) if w.pending]

    def dispatch(self) -> None:
        """Send queued chunks until each worker has ``chunk_inflight`` of them."""
        for i in range(self.pool.n):
            while self.queue and self.inflight[i] < self.pool.chunk_inflight:
                chunk = self.queue[0]
                data = pickle.dumps((self.fn, [(t, self.keys[t]) for t in chunk]))
                # A busy worker reads its next chunk only when done: a large one could fill the pipe
                # and block us in send() while the worker is stuck — so large chunks go to idle workers.
                if self.pool._workers[i].pending and len(data) > _PIPELINE_MAX_BYTES:
                    break
                self.queue.popleft()
                if not self._send(i, chunk, data):
                    break
                self.inflight[i] += 1
                self.chunk_ends[i].add(chunk[-1])

    def _send(self, i: int, chunk: list[int], data: bytes) -> bool:
        w = self.pool._workers[i]
        try:
            w.conn.send_bytes(data)
        except (BrokenPipeError, OSError):  # died while idle or busy: settle its items, replace it
            logger.warning("reward worker %d is gone; replacing it", w.proc.pid)
            self.queue.appendleft(chunk)
            self.abandon(i, ERROR)
            return False
        if not w.pending:
            w.since = time.monotonic()
        w.pending.extend(chunk)
        return True

    def abandon(self, i: int, current_status: str) -> None:
        """Worker i is dead or stuck: its current item gets ``current_status``, the rest re-queue,
        and a fresh worker takes its place."""
        w = self.pool._workers[i]
        if w.pending:
            self.settle(w.pending.popleft(), current_status)
            rest = [t for t in w.pending if self.status[t] is None]
            if rest:
                self.queue.appendleft(rest)
        w.pending.clear()
        self.pool._replace(i)
        self.inflight[i], self.chunk_ends[i] = 0, set()

    def collect(self, busy: list[int], deadline: float) -> None:
        """Wait for a result (until the deadline or the next kill time) and read every one ready."""
        workers = self.pool._workers
        next_kill = min(workers[i].since for i in busy) + self.pool.kill_after
        ready = wait([workers[i].conn for i in busy], timeout=max(0.0, min(deadline, next_kill) - time.monotonic()))
        now = time.monotonic()
        for i in busy:
            w = workers[i]
            if w.conn not in ready:
                continue
            try:
                while w.conn.poll():
                    tid, st, val = w.conn.recv()
                    if w.pending and w.pending[0] == tid:
                        w.pending.popleft()
                    w.since = now
                    if tid in self.chunk_ends[i]:
                        self.chunk_ends[i].discard(tid)
                        self.inflight[i] -= 1
                    self.settle(tid, st, val)
            except (EOFError, OSError):
                logger.warning("reward worker %d died; replacing it", w.proc.pid)
                self.errors.append("worker died")
                self.abandon(i, ERROR)

    def kill_stuck(self) -> None:
        """A worker silent for ``kill_after`` seconds is stuck in C code (where the timer's signal
        waits): it is killed, its item times out, the rest of its chunk re-queues."""
        now = time.monotonic()
        for i, w in enumerate(self.pool._workers):
            if w.pending and now - w.since > self.pool.kill_after:
                logger.warning("reward worker %d stuck for %.1f s; killing it", w.proc.pid, now - w.since)
                self.abandon(i, TIMEOUT)

    def out_of_budget(self) -> None:
        """At the deadline: whatever is not done is out of budget; busy workers are replaced, so
        the next batch never waits on them."""
        for i, w in enumerate(self.pool._workers):
            if w.pending:
                for t in w.pending:
                    if self.status[t] is None:
                        self.status[t] = BUDGET
                w.pending.clear()
                self.pool._replace(i)
        for chunk in self.queue:
            for t in chunk:
                if self.status[t] is None:
                    self.status[t] = BUDGET
