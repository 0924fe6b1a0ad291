"""A small pool of persistent worker processes that score CPU-heavy reward items under a
per-item timeout and a per-batch deadline, killing and replacing a worker that gets stuck.

Why not ``concurrent.futures.ProcessPoolExecutor``: a future cannot be cancelled once running,
and killing one of its workers breaks the whole pool. Here each worker has its own pipe, so the
parent knows exactly which item a worker is on, can kill just that worker, re-queue the items it
had not started, and fork a replacement.

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
        n = len(keys)
        values: list = [None] * n
        status: list[str | None] = [None] * n
        errors: list[str] = []
        queue = deque(list(c) for c in chunks if c)
        replaced0 = self.replaced_total
        remaining = n

        def send(i: int, chunk: list[int], data: bytes) -> bool:
            w = self._workers[i]
            try:
                w.conn.send_bytes(data)
            except (BrokenPipeError, OSError):  # died while idle or busy: settle its items, replace it
                logger.warning("reward worker %d is gone; replacing it", w.proc.pid)
                queue.appendleft(chunk)
                abandon(i, ERROR)
                return False
            if not w.pending:
                w.since = time.monotonic()
            w.pending.extend(chunk)
            return True

        def abandon(i: int, current_status: str) -> None:
            """Worker i is dead or stuck: its current item gets ``current_status``, the rest re-queue."""
            nonlocal remaining
            w = self._workers[i]
            if w.pending:
                cur = w.pending.popleft()
                if status[cur] is None:
                    status[cur] = current_status
                    remaining -= 1
                rest = [t for t in w.pending if status[t] is None]
                if rest:
                    queue.appendleft(rest)
            w.pending.clear()
            self._replace(i)

        inflight = [0] * self.n  # chunks sent and not finished, per worker
        chunk_ends: list[set[int]] = [set() for _ in range(self.n)]  # last task id of each in-flight chunk
        while remaining > 0:
            now = time.monotonic()
            if now >= deadline:
                break
            for i in range(self.n):
                while queue and inflight[i] < self.chunk_inflight:
                    chunk = queue[0]
                    data = pickle.dumps((fn, [(t, keys[t]) for t in chunk]))
                    # A busy worker reads its next chunk only when done: a large one could fill the pipe
                    # and block us in send() while the worker is stuck — so large chunks go to idle workers.
                    if self._workers[i].pending and len(data) > _PIPELINE_MAX_BYTES:
                        break
                    queue.popleft()
                    if send(i, chunk, data):
                        inflight[i] += 1
                        chunk_ends[i].add(chunk[-1])
                    else:
                        inflight[i], chunk_ends[i] = 0, set()
                        break
            busy = [i for i in range(self.n) if self._workers[i].pending]
            if not busy:
                if not queue:
                    break
                continue
            next_kill = min(self._workers[i].since for i in busy) + self.kill_after
            timeout = max(0.0, min(deadline, next_kill) - time.monotonic())
            ready = wait([self._workers[i].conn for i in busy], timeout=timeout)
            now = time.monotonic()
            for i in busy:
                w = self._workers[i]
                if w.conn not in ready:
                    continue
                try:
                    while w.conn.poll():
                        tid, st, val = w.conn.recv()
                        if w.pending and w.pending[0] == tid:
                            w.pending.popleft()
                        w.since = now
                        if tid in chunk_ends[i]:
                            chunk_ends[i].discard(tid)
                            inflight[i] -= 1
                        if status[tid] is None:
                            status[tid] = st
                            remaining -= 1
                            if st == OK:
                                values[tid] = val
                            elif st == ERROR:
                                errors.append(str(val))
                except (EOFError, OSError):
                    logger.warning("reward worker %d died; replacing it", w.proc.pid)
                    errors.append("worker died")
                    abandon(i, ERROR)
                    inflight[i], chunk_ends[i] = 0, set()
            for i in range(self.n):
                w = self._workers[i]
                if w.pending and now - w.since > self.kill_after:
                    logger.warning("reward worker %d stuck for %.1f s; killing it", w.proc.pid, now - w.since)
                    abandon(i, TIMEOUT)
                    inflight[i], chunk_ends[i] = 0, set()
        # Deadline: whatever is not done is out of budget; busy workers are replaced.
        for i in range(self.n):
            w = self._workers[i]
            if w.pending:
                for t in w.pending:
                    if status[t] is None:
                        status[t] = BUDGET
                w.pending.clear()
                self._replace(i)
        for chunk in queue:
            for t in chunk:
                if status[t] is None:
                    status[t] = BUDGET
        return PoolResult(values, [s or BUDGET for s in status], errors, self.replaced_total - replaced0)

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
