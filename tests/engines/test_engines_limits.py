"""The node-wide judge limit (judge/limits.py), the per-rank arithmetic, the client hook, and the
async micro-batcher (engines/batcher.py). The server-side measurement with two processes and a real
judge server is tests/integration/test_engines_judge_server.py."""

import asyncio
import os
import signal
import subprocess
import sys

import pytest

from perceptrl.engines.batcher import MicroBatcher
from perceptrl.errors import PerceptrlError
from perceptrl.judge.client import ChatClient
from perceptrl.judge import limits
from perceptrl.judge.limits import ENV_DIR, ENV_TOTAL, FileSemaphore, per_rank_concurrency, shared_limit_from_env

# other processes load judge/limits.py by its path: importing perceptrl.judge (openai, …) would take
# seconds per process on a busy machine, and the module needs only perceptrl.errors
LOAD = ("import importlib.util as u; s = u.spec_from_file_location('limits', {path!r}); m = u.module_from_spec(s); "
        "s.loader.exec_module(m); FileSemaphore = m.FileSemaphore; ").format(path=limits.__file__)


def test_per_rank_arithmetic(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "8")
    assert per_rank_concurrency(64) == 8 and per_rank_concurrency(60) == 7  # 8 × 7 = 56 <= 60
    assert per_rank_concurrency(4) == 1 and per_rank_concurrency(64, world=3) == 21
    with pytest.raises(PerceptrlError, match="server's batch size"):
        per_rank_concurrency(0)


def test_slots_are_shared_within_and_across_processes(tmp_path):
    sem = FileSemaphore(2, "srv", tmp_path)
    a, b = sem.try_acquire(), sem.try_acquire()
    assert a is not None and b is not None and sem.try_acquire() is None  # same process, third fails
    probe = (LOAD + f"print(FileSemaphore(2, 'srv', {str(tmp_path)!r}).try_acquire() is not None)")
    other = [sys.executable, "-c", probe]
    assert subprocess.run(other, capture_output=True, text=True, check=True).stdout.strip() == "False"
    sem.release(a)
    assert subprocess.run(other, capture_output=True, text=True, check=True).stdout.strip() == "True"
    assert FileSemaphore(2, "another-server", tmp_path).try_acquire() is not None  # one limit per server
    sem.release(b)


def test_a_killed_holder_frees_its_slot(tmp_path):
    hold = (LOAD + "import time; "
            f"assert FileSemaphore(1, 'srv', {str(tmp_path)!r}).try_acquire() is not None; "
            "print('held', flush=True); time.sleep(60)")
    proc = subprocess.Popen([sys.executable, "-c", hold], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "held"
        sem = FileSemaphore(1, "srv", tmp_path)
        assert sem.try_acquire() is None
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        fd = sem.try_acquire()
        assert fd is not None  # the kernel dropped the dead holder's lock: no leaked slot
        sem.release(fd)
    finally:
        if proc.poll() is None:
            proc.kill()


def test_async_holders_never_exceed_the_slots(tmp_path):
    sem = FileSemaphore(3, "srv", tmp_path, poll=0.001, poll_max=0.005)
    state = {"now": 0, "max": 0}

    async def one():
        async with sem.slot():
            state["now"] += 1
            state["max"] = max(state["max"], state["now"])
            await asyncio.sleep(0.01)
            state["now"] -= 1

    async def main():
        await asyncio.gather(*(one() for _ in range(20)))

    asyncio.run(main())
    assert state["max"] == 3 and state["now"] == 0


def test_the_client_takes_the_limit_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv(ENV_TOTAL, raising=False)
    assert ChatClient("http://127.0.0.1:1/v1", "m").shared_limit is None
    monkeypatch.setenv(ENV_TOTAL, "3")
    monkeypatch.setenv(ENV_DIR, str(tmp_path))
    client = ChatClient("http://127.0.0.1:1/v1", "m")
    assert client.shared_limit.slots == 3 and client.shared_limit.directory == tmp_path
    monkeypatch.setenv(ENV_TOTAL, "three")
    with pytest.raises(PerceptrlError, match="not an integer"):
        shared_limit_from_env("x")


def test_micro_batcher_coalesces_concurrent_calls_and_keeps_order():
    calls = []

    def score(items):
        calls.append(list(items))
        return [x * 10 for x in items]

    batcher = MicroBatcher(score, window=0.05, max_batch=5)

    async def main():
        first = await asyncio.gather(*(batcher.submit(i) for i in range(7)))
        later = await batcher.submit(100)
        return first, later

    first, later = asyncio.run(main())
    assert first == [i * 10 for i in range(7)] and later == 1000
    assert calls == [[0, 1, 2, 3, 4], [5, 6], [100]]  # max_batch, then the window, then a new batch


def test_micro_batcher_raises_the_scorer_error_in_every_caller():
    def score(items):
        raise RuntimeError("scorer broke")

    batcher = MicroBatcher(score, window=0.01)

    async def main():
        return await asyncio.gather(*(batcher.submit(i) for i in range(3)), return_exceptions=True)

    out = asyncio.run(main())
    assert [str(e) for e in out] == ["scorer broke"] * 3
    with pytest.raises(ValueError):
        MicroBatcher(score, window=-1)
