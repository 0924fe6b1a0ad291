"""Bounding what several processes send to one judge server together.

With N trainer ranks (or N reward workers) each holding a :class:`~perceptrl.judge.client.ChatClient`
with ``max_concurrency = c``, the server sees up to ``N × c`` requests at once. Two ways to keep
that at or below what it can batch (vLLM's ``max_num_seqs``, llama-server's ``--parallel``):

* **arithmetic** (any number of nodes): give each process ``c = per_rank_concurrency(total)`` —
  ``total // WORLD_SIZE`` (at least 1), so ``N × c <= total`` whenever ``total >= N``;
* **a shared limit** (the processes of one node): set ``PERCEPTRL_JUDGE_TOTAL_CONCURRENCY=T`` (and
  optionally ``PERCEPTRL_JUDGE_LIMIT_DIR``, default ``/dev/shm`` or the temp folder) before the
  processes start. Every client then also holds one of ``T`` slots of a :class:`FileSemaphore`
  while a request is in flight, so the node never has more than ``T`` requests out, however many
  processes and whatever their own ``max_concurrency``. With several nodes the server sees at
  most ``nodes × T``: set ``T = server_slots // nodes``.

The semaphore is ``T`` lock files taken with ``fcntl.flock`` (non-blocking, polled): the kernel
drops a lock when its holder exits or is killed, so a crashed rank never leaks a slot, and there
is no server process or manager to start. Polling costs at most ``poll_max`` seconds of latency
per request that has to wait; a request that does not wait pays one ``open`` + ``flock``.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import os
import random
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

from perceptrl.errors import PerceptrlError

ENV_TOTAL = "PERCEPTRL_JUDGE_TOTAL_CONCURRENCY"
ENV_DIR = "PERCEPTRL_JUDGE_LIMIT_DIR"


def world_size() -> int:
    """``WORLD_SIZE`` (torchrun, accelerate, deepspeed), else 1."""
    try:
        return max(1, int(os.environ.get("WORLD_SIZE", "1")))
    except ValueError:
        return 1


def per_rank_concurrency(total: int, world: int | None = None) -> int:
    """Requests in flight per process so that ``world`` processes send at most ``total`` together
    (``total // world``, at least 1: with more processes than ``total`` each still sends one)."""
    if total < 1:
        raise PerceptrlError(f"total concurrency must be >= 1, got {total}", where="judge total concurrency",
                             fix="set it to the judge server's batch size (e.g. vLLM max_num_seqs)")
    return max(1, total // (world or world_size()))


def default_dir() -> Path:
    shm = Path("/dev/shm")
    return shm if shm.is_dir() and os.access(shm, os.W_OK) else Path(tempfile.gettempdir())


class FileSemaphore:
    """At most ``slots`` holders at once among all processes (and coroutines) using the same
    ``name`` in ``directory``. ``async with sem.slot(): ...``; :meth:`try_acquire` /
    :meth:`release` for synchronous callers."""

    def __init__(self, slots: int, name: str = "judge", directory: str | os.PathLike | None = None,
                 *, poll: float = 0.002, poll_max: float = 0.05):
        if slots < 1:
            raise PerceptrlError(f"a shared judge limit needs >= 1 slot, got {slots}", where=ENV_TOTAL,
                                 fix="set it to the judge server's batch size")
        self.slots = int(slots)
        self.directory = Path(directory) if directory is not None else default_dir()
        self.directory.mkdir(parents=True, exist_ok=True)
        tag = hashlib.sha256(name.encode("utf-8")).hexdigest()[:16]
        self.paths = [self.directory / f"perceptrl-limit-{tag}-{i}.lock" for i in range(self.slots)]
        self.poll, self.poll_max = poll, poll_max

    def try_acquire(self) -> int | None:
        """A held slot's file descriptor, or ``None`` when all ``slots`` are taken."""
        for i in random.sample(range(self.slots), self.slots):  # no slot is everyone's first try
            fd = os.open(self.paths[i], os.O_RDWR | os.O_CREAT, 0o666)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            return fd
        return None

    @staticmethod
    def release(fd: int) -> None:
        os.close(fd)  # closing the last descriptor of the open file drops its flock

    async def acquire(self) -> int:
        delay = self.poll
        while (fd := self.try_acquire()) is None:
            await asyncio.sleep(delay * (0.5 + random.random()))
            delay = min(self.poll_max, delay * 2)
        return fd

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        fd = await self.acquire()
        try:
            yield
        finally:
            self.release(fd)


def shared_limit_from_env(name: str) -> FileSemaphore | None:
    """The node-wide limit for the server ``name`` (its base URL) if ``PERCEPTRL_JUDGE_TOTAL_CONCURRENCY``
    is set, else ``None``."""
    raw = os.environ.get(ENV_TOTAL, "").strip()
    if not raw:
        return None
    try:
        slots = int(raw)
    except ValueError:
        raise PerceptrlError(f"{ENV_TOTAL}={raw!r} is not an integer", where=ENV_TOTAL,
                             fix="set it to the number of judge requests the node may have in flight") from None
    return FileSemaphore(slots, name, os.environ.get(ENV_DIR) or None)
