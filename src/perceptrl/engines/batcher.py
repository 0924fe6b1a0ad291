"""Coalesce concurrent per-sample reward calls into batches (verl's async reward loop).

verl's reward loop (``verl.experimental.reward_loop``, 0.9.1) scores a step by starting one
``compute_score`` coroutine per sample at once. Scored one by one, each sample would be its own
GRPO group (the judge's ``neutral`` failure policy needs the group), identical judge requests of a
group would not be de-duplicated, and a step would pay one runner round trip per sample. The
:class:`MicroBatcher` gathers the calls that arrive within ``window`` seconds of the first one (or
``max_batch`` of them) and scores them with one batch call, in a thread, so the event loop keeps
serving the other coroutines. A group split across two windows is scored as two groups.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

DEFAULT_WINDOW = 0.05


class MicroBatcher:
    """``await batcher.submit(item)`` → ``score_batch(items)[i]`` for that item.

    ``score_batch`` is synchronous (it runs in the loop's default executor); an exception it
    raises is raised in every caller of that batch.
    """

    def __init__(self, score_batch: Callable[[list[Any]], Sequence[Any]], *, window: float = DEFAULT_WINDOW,
                 max_batch: int = 4096):
        if window < 0 or max_batch < 1:
            raise ValueError("MicroBatcher needs window >= 0 and max_batch >= 1")
        self.score_batch = score_batch
        self.window = float(window)
        self.max_batch = int(max_batch)
        self.batch_sizes: list[int] = []  # one entry per batch scored (for tests and logs)
        self._pending: dict[asyncio.AbstractEventLoop, list[tuple[Any, asyncio.Future]]] = {}
        self._timers: dict[asyncio.AbstractEventLoop, asyncio.TimerHandle] = {}

    async def submit(self, item: Any) -> Any:
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        pending = self._pending.setdefault(loop, [])
        pending.append((item, fut))
        if len(pending) >= self.max_batch:
            self._flush(loop)
        elif loop not in self._timers:
            self._timers[loop] = loop.call_later(self.window, self._flush, loop)
        return await fut

    def _flush(self, loop: asyncio.AbstractEventLoop) -> None:
        timer = self._timers.pop(loop, None)
        if timer is not None:
            timer.cancel()
        batch = self._pending.pop(loop, [])
        if not batch:
            return
        self.batch_sizes.append(len(batch))
        job = loop.run_in_executor(None, self.score_batch, [item for item, _ in batch])
        job.add_done_callback(lambda done: _deliver(done, [f for _, f in batch]))


def _deliver(done: asyncio.Future, futures: list[asyncio.Future]) -> None:
    if done.cancelled():
        for fut in futures:
            fut.cancel()
        return
    exc = done.exception()
    results = None if exc is not None else list(done.result())
    if results is not None and len(results) != len(futures):
        exc = RuntimeError(f"the batch scorer returned {len(results)} results for {len(futures)} items")
    for i, fut in enumerate(futures):
        if fut.done():  # the caller was cancelled
            continue
        if exc is not None:
            fut.set_exception(exc)
        else:
            fut.set_result(results[i])
