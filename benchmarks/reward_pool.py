"""Reward worker pool: pebble's ``ProcessPool`` (the library) vs perceptrl's ``WorkerPool``, same run.

Does the hand-written :class:`perceptrl.rewards.pool.WorkerPool` earn its place? pebble is the
well-kept library for the job: a process pool with a timeout per task that kills and replaces the
worker running it. The work is what :class:`~perceptrl.rewards.runner.RewardRunner` sends the pool:
the unique accuracy keys (extracted answer + gold) of 1,024 rollouts (128 prompts × 8, built by
``benchmarks/rewards.py``), scored with math-verify, 1 s per item, a 10 s batch deadline, forked
workers that imported and warmed math-verify first:

* baseline — pebble 5: ``ProcessPool(workers, context=fork)``, one ``schedule(score, timeout=1)``
  per key (a pebble timeout covers one task, so a task is one key), results read by the deadline,
  the rest cancelled;
* ours — ``WorkerPool.run``: the keys of one prompt form one chunk (a worker parses that gold
  once), a wall-clock timer inside the worker interrupts a Python-level item without losing the
  worker, a silent worker is killed and replaced.

Run with 0% and with 1% pathological answers (``9**9**9**9``, 500 nested parentheses, ...: each
needs the item timeout). Prints ``baseline_s``, ``ours_s`` and ``pool_speedup: X`` per case, the
timeouts, worker replacements and CPU seconds of each, and checks that both give the same value for every key
neither timed out. Needs ``pip install pebble`` (not a dependency of perceptrl: only this
comparison uses it); without it the benchmark says so and exits 0.

    python benchmarks/reward_pool.py [--n-prompts 128] [--group 8] [--workers 2]
"""

from __future__ import annotations

import argparse
import importlib.util
import resource
import sys
import time
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path

from perceptrl.rewards.accuracy import accuracy_key, score_accuracy_key, warmup
from perceptrl.rewards.length import group_key
from perceptrl.rewards.pool import OK, TIMEOUT, WorkerPool

ITEM_TIMEOUT = 1.0
BUDGET = 10.0


def _rewards_bench():
    path = Path(__file__).resolve().parent / "rewards.py"
    spec = importlib.util.spec_from_file_location("perceptrl_bench_rewards", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def unique_keys(completions, rows):
    """The runner's work: unique keys, and chunks of at most 16 keys of one prompt."""
    index, uniq, groups = {}, [], {}
    for c, r in zip(completions, rows):
        k = accuracy_key(c, r)
        if k is None or k in index:
            continue
        index[k] = len(uniq)
        uniq.append(k)
        groups.setdefault(group_key(r), []).append(index[k])
    chunks = [g[i : i + 16] for g in groups.values() for i in range(0, len(g), 16)]
    return uniq, chunks


def cpu_s() -> float:
    """CPU seconds of this process and its reaped children (workers count once their pool is closed)."""
    return sum(resource.getrusage(who).ru_utime + resource.getrusage(who).ru_stime
               for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))


def run_pebble(pebble, keys, workers: int):
    """``(seconds, values, statuses, replaced)`` with one pebble task per key."""
    pool = pebble.ProcessPool(max_workers=workers, context=__import__("multiprocessing").get_context("fork"))
    try:
        t0 = time.perf_counter()
        deadline = time.monotonic() + BUDGET
        futures = [pool.schedule(score_accuracy_key, args=(k, None), timeout=ITEM_TIMEOUT) for k in keys]
        values, status = [None] * len(keys), ["budget"] * len(keys)
        for i, f in enumerate(futures):
            try:
                values[i], status[i] = f.result(timeout=max(0.0, deadline - time.monotonic())), OK
            except FutureTimeout:
                status[i] = TIMEOUT  # pebble's per-task timeout (the worker was terminated)
            except Exception:  # noqa: BLE001 - the deadline passed (result wait) or the task failed
                status[i] = "budget" if time.monotonic() >= deadline else "error"
        for f in futures:
            f.cancel()
        return time.perf_counter() - t0, values, status, status.count(TIMEOUT)
    finally:
        pool.stop()
        pool.join()


def run_ours(keys, chunks, workers: int):
    pool = WorkerPool(workers, item_timeout=ITEM_TIMEOUT)
    try:
        t0 = time.perf_counter()
        res = pool.run(score_accuracy_key, keys, chunks, time.monotonic() + BUDGET)
        return time.perf_counter() - t0, res.values, res.status, res.replaced
    finally:
        pool.close()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n-prompts", type=int, default=128)
    ap.add_argument("--group", type=int, default=8)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args(argv)
    try:
        import pebble
    except ImportError:
        print("reward_pool: pebble is not installed (pip install pebble); nothing measured")
        return 0
    bench = _rewards_bench()
    warmup()  # as the runner does before forking its workers
    ok = True
    for name, share in (("0pct", 0.0), ("1pct", 0.01)):
        completions, rows, _ = bench.make_batch(args.n_prompts, args.group, pathological=share, seed=0)
        keys, chunks = unique_keys(completions, rows)
        c0 = cpu_s()
        base_t, bv, bs, b_repl = run_pebble(pebble, keys, args.workers)
        c1 = cpu_s()
        ours_t, ov, os_, o_repl = run_ours(keys, chunks, args.workers)
        c2 = cpu_s()
        both = [i for i in range(len(keys)) if bs[i] == OK and os_[i] == OK]
        same = sum(bv[i] == ov[i] for i in both)
        print(f"[{name}] {len(keys)} unique keys, {args.workers} workers, {ITEM_TIMEOUT:g} s per item: "
              f"baseline_s (pebble): {base_t:.3f} (timeouts {bs.count(TIMEOUT)}, workers replaced {b_repl}, "
              f"over budget {bs.count('budget')})  ours_s: {ours_t:.3f} (timeouts {os_.count(TIMEOUT)}, "
              f"workers replaced {o_repl}, over budget {os_.count('budget')})")
        print(f"[{name}] cpu_s: baseline {c1 - c0:.2f}, ours {c2 - c1:.2f} (parent + workers; less sensitive to "
              f"machine load than the wall time)")
        print(f"[{name}] same value on {same}/{len(both)} keys both scored")
        print(f"pool_speedup: {base_t / ours_t:.2f}" + ("" if name == "0pct" else "  (1% pathological)"))
        ok &= same == len(both)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
