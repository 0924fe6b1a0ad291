"""One persistent asyncio event loop on a daemon thread, for synchronous callers of async rewards.

Why not ``asyncio.run`` per call, or ``asyncio.Runner``: a judge's HTTP client and its semaphore
belong to the loop they were created on, so every training step must reach the *same* loop; and a
synchronous ``score`` may be called from any thread, including one that is running a loop of its
own (``asyncio.Runner`` runs on the caller's thread and refuses there). A loop on its own thread
serves every caller: :meth:`LoopThread.run` hands it a coroutine and waits for the result.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any


class LoopThread:
    """``LoopThread(name).run(coro, timeout=None)``: the loop and its thread start on first use."""

    def __init__(self, name: str):
        self.name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
                self._thread = threading.Thread(target=self._loop.run_forever, name=self.name, daemon=True)
                self._thread.start()
            return self._loop

    def run(self, coro: Coroutine, *, timeout: float | None = None) -> Any:
        """The coroutine's result, run on the loop thread (``timeout``: seconds to wait for it)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=timeout)

    def close(self) -> None:
        """Stop the loop and its thread (a later :meth:`run` starts new ones)."""
        with self._lock:
            loop, thread, self._loop, self._thread = self._loop, self._thread, None, None
        if loop is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        loop.close()
