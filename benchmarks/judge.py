"""Benchmark: perception-judge requests against a real local server, ours vs a naive client.

Server: llama-cpp-python's OpenAI-compatible server with SmolLM2-135M-Instruct on loopback
(provisioned and started by :mod:`perceptrl.judge.local_server`, or ``--base-url`` for your own).

Workload: ``--n`` requests (default 1,024 = 128 prompts × 8 rollouts, one GRPO batch of the
reference recipe). Each prompt has 2 annotations; each group of 8 rollouts is drawn (seeded) from
``--distinct`` different responses (default 2, i.e. ~75 % duplicates: what GRPO groups of a small
model with short answers look like; set ``--distinct 8`` for an all-distinct batch). The exact
duplicate rate used is printed.

* naive — the reference way: one request at a time with the plain ``openai`` client, no cache, no
  de-duplication (same prompt and sanitisation, so only the client differs);
* ours — ``build_perception_reward`` (openai backend): concurrency, in-batch de-duplication,
  persistent cache (empty at the start);
* cached — the same batch again through a fresh reward object on the same cache file.

Prints the three times, ``judge_speedup`` (naive / ours) and ``judge_cached_speedup``
(naive / cached). SmolLM2 answers are poor (most are unparseable): the benchmark times the
plumbing, and ``max_tokens`` is kept small (``--max-tokens``, default 8). The default 1,024
requests take about 17 minutes on 2 shared CPU cores (``--n 128`` about 2). llama-cpp-python's
server runs one request at a time, so against it our gain comes from de-duplication and the
cache; concurrency pays on batching servers (``--base-url`` of a vLLM/SGLang judge).
Measured numbers and how to read them: ``docs/judge.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path

import openai

from perceptrl.judge import JudgeConfig, build_perception_reward
from perceptrl.judge.backends import LLMJudge, callable_generator
from perceptrl.judge.local_server import MODEL_ALIAS, llama_server
from perceptrl.judge.parse import parse_verdicts


def workload(n: int, group: int, distinct: int, seed: int = 0) -> tuple[list[str], list[dict]]:
    rng = random.Random(seed)
    responses, rows = [], []
    for p in range(n // group):
        anns = [f"AB = {p + 3}", f"angle ABC = {(p * 7) % 170 + 5}°"]
        variants = [f"<think>AB = {p + 3 + v}, so the perimeter is {4 * (p + 3 + v)}.</think>"
                    f"<answer>\\boxed{{{4 * (p + 3 + v)}}}</answer>" for v in range(distinct)]
        for _ in range(group):
            responses.append(rng.choice(variants))
            rows.append({"visual_annotations": anns})
    return responses, rows


def naive(base_url: str, model: str, responses: list[str], rows: list[dict], max_tokens: int) -> tuple[float, int]:
    """One request at a time, no cache, no de-duplication."""
    client = openai.OpenAI(base_url=base_url, api_key="EMPTY", timeout=120, max_retries=3)
    prep = LLMJudge(callable_generator(lambda m: ""), model_id=model)  # same prompt + sanitisation
    failures = 0
    t0 = time.perf_counter()
    for resp, row in zip(responses, rows):
        msgs, _ = prep.prepare(row["visual_annotations"], resp)
        try:
            out = client.chat.completions.create(model=model, messages=msgs, temperature=0, max_tokens=max_tokens)
            parse_verdicts(out.choices[0].message.content or "", len(row["visual_annotations"]))
        except openai.OpenAIError:
            failures += 1
    return time.perf_counter() - t0, failures


def ours(cfg: JudgeConfig, responses: list[str], rows: list[dict]) -> tuple[float, dict]:
    reward = build_perception_reward(cfg)
    t0 = time.perf_counter()
    asyncio.run(reward.ascore(responses, rows))
    return time.perf_counter() - t0, reward.metrics()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1024,
                    help="requests per pass (default 1024 = 128 prompts x 8 rollouts; on 2 shared cores with "
                         "SmolLM2 the naive pass alone takes ~25 min: pass e.g. --n 128 for a quick look)")
    ap.add_argument("--group", type=int, default=8, help="rollouts per prompt")
    ap.add_argument("--distinct", type=int, default=2, help="distinct responses per group")
    ap.add_argument("--max-tokens", type=int, default=8)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--base-url", help="use this server instead of starting the local one")
    ap.add_argument("--model", default=MODEL_ALIAS)
    args = ap.parse_args(argv)

    responses, rows = workload(args.n, args.group, args.distinct)
    unique = len({(tuple(r["visual_annotations"]), s) for s, r in zip(responses, rows)})
    dup_rate = 1 - unique / len(responses)
    print(f"workload: {len(responses)} requests, {len(responses) // args.group} prompts x {args.group} rollouts, "
          f"{unique} distinct (duplicate rate {dup_rate:.1%}), max_tokens {args.max_tokens}")
    ctx = nullcontext(None) if args.base_url else llama_server()
    with ctx as srv, tempfile.TemporaryDirectory() as tmp:
        base_url = args.base_url or srv.base_url
        print(f"server: {base_url} model {args.model}")
        # warm the server's prefix cache with the static judge prompt, for both contenders alike
        naive(base_url, args.model, responses[:1], rows[:1], args.max_tokens)
        cfg = JudgeConfig(backend="openai", base_url=base_url, model=args.model, max_tokens=args.max_tokens,
                          max_concurrency=args.concurrency, timeout=300, cache_path=str(Path(tmp) / "c.sqlite"))
        t_naive, naive_fail = naive(base_url, args.model, responses, rows, args.max_tokens)
        print(f"naive (sequential, no cache, no dedupe): {t_naive:8.2f} s  ({naive_fail} failed requests, "
              f"{t_naive / len(responses):.2f} s/request)")
        t_ours, m1 = ours(cfg, responses, rows)
        print(f"ours  (concurrency {args.concurrency} + dedupe + cache): {t_ours:8.2f} s  "
              f"(requests {m1.get('judge/requests', 0):g}, deduplicated {m1.get('judge/deduplicated', 0):g}, "
              f"failures {m1.get('judge/failures', 0):g}, unparseable {m1.get('judge/unparseable', 0):g}, "
              f"{t_ours / max(m1.get('judge/requests', 0), 1):.2f} s/request sent)")
        t_cached, m2 = ours(cfg, responses, rows)
        print(f"ours, second pass (cache):              {t_cached:8.2f} s  "
              f"(cache hits {m2.get('judge/cache_hits', 0):g}, requests {m2.get('judge/requests', 0):g})")
    print(f"judge_speedup: {t_naive / t_ours:.2f}")
    print(f"judge_cached_speedup: {t_naive / max(t_cached, 1e-9):.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
