import os
import signal
import time

from perceptrl.rewards.pool import BUDGET, ERROR, OK, TIMEOUT, WorkerPool
from bounds import DEADLINE_SLACK_S


def square(key, timeout):
    return float(key * key)


def busy_python(key, timeout):
    """Pure-Python work: the worker's timer interrupts it."""
    if key < 0:
        t = time.perf_counter()
        while time.perf_counter() - t < 60:
            pass
    return float(key)


def stuck_in_c(key, timeout):
    """Blocks the timer signal and sleeps: like C code that never returns to Python."""
    if key < 0:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
        time.sleep(60)
    return float(key)


def crash(key, timeout):
    if key < 0:
        os._exit(3)
    return float(key)


def test_results_in_task_order():
    pool = WorkerPool(2, item_timeout=1.0)
    try:
        keys = list(range(20))
        res = pool.run(square, keys, [keys[i : i + 3] for i in range(0, 20, 3)], time.monotonic() + 10)
        assert res.values == [float(k * k) for k in keys] and set(res.status) == {OK}
    finally:
        pool.close()


def test_python_level_timeout_keeps_the_worker():
    pool = WorkerPool(1, item_timeout=0.3)
    try:
        pids = pool.pids
        keys = [1, -1, 2]
        t = time.monotonic()
        res = pool.run(busy_python, keys, [[0, 1, 2]], t + 10)
        assert res.status == [OK, TIMEOUT, OK] and res.values[2] == 2.0
        assert time.monotonic() - t < 0.3 + DEADLINE_SLACK_S  # the item would run 60 s
        assert pool.pids == pids and res.replaced == 0
    finally:
        pool.close()


def test_stuck_worker_is_killed_and_replaced_and_its_other_items_requeued():
    pool = WorkerPool(2, item_timeout=0.3, kill_after=0.8)
    try:
        old = set(pool.pids)
        keys = [1, -1, 2, 3, 4, 5]
        t = time.monotonic()
        res = pool.run(stuck_in_c, keys, [[0, 1, 2], [3, 4, 5]], t + 10)
        elapsed = time.monotonic() - t
        assert res.status == [OK, TIMEOUT, OK, OK, OK, OK]
        assert res.values[2] == 2.0  # queued behind the stuck item, re-run elsewhere
        assert res.replaced == 1 and len(old & set(pool.pids)) == 1
        assert elapsed < 0.8 + DEADLINE_SLACK_S  # the stuck item would sleep 60 s
        # the pool still works after the replacement
        again = pool.run(square, [3], [[0]], time.monotonic() + 5)
        assert again.values == [9.0]
    finally:
        pool.close()


def test_crashed_worker_is_reported_and_replaced():
    pool = WorkerPool(1, item_timeout=1.0)
    try:
        res = pool.run(crash, [1, -1, 2], [[0, 1, 2]], time.monotonic() + 10)
        assert res.status == [OK, ERROR, OK] and res.replaced == 1 and res.errors
    finally:
        pool.close()


def test_batch_deadline_is_kept():
    pool = WorkerPool(2, item_timeout=30.0)  # the items run 60 s: only the deadline can end them
    try:
        keys = [-1] * 6
        t = time.monotonic()
        res = pool.run(busy_python, keys, [[i] for i in range(6)], t + 1.0)
        assert time.monotonic() - t < 1.0 + DEADLINE_SLACK_S  # 1 s deadline + replacing the busy workers
        assert set(res.status) == {BUDGET}
    finally:
        pool.close()


def test_worker_killed_between_batches_is_replaced():
    pool = WorkerPool(2, item_timeout=1.0)
    try:
        victim = pool.pids[0]
        os.kill(victim, signal.SIGKILL)
        time.sleep(0.2)
        keys = list(range(8))
        res = pool.run(square, keys, [[i] for i in keys], time.monotonic() + 10)
        assert res.values == [float(k * k) for k in keys]
        assert victim not in pool.pids
    finally:
        pool.close()


def length(key, timeout):
    return float(len(key))


def test_large_keys_do_not_block_the_pipe():
    pool = WorkerPool(2, item_timeout=2.0)
    try:
        keys = ["x" * (30_000 + i) for i in range(24)]
        res = pool.run(length, keys, [list(range(i, i + 4)) for i in range(0, 24, 4)], time.monotonic() + 20)
        assert res.values == [float(len(k)) for k in keys]
    finally:
        pool.close()
