"""Benchmark: perception-judge requests against a real local batching server, ours vs a naive client.

Server: llama.cpp's ``llama-server`` on loopback with ``--parallel`` slots and continuous batching
(provisioned and started by :mod:`perceptrl.judge.local_server`; ``--model`` picks the judge:
``qwen2.5-coder-0.5b`` by default, a real instruct model that answers in the verdict format;
``qwen2.5-coder-1.5b`` judges better and is ~3x slower; ``smollm2-135m`` only times the plumbing),
or ``--base-url`` for your own server.

Workload: ``--n`` requests (default 1,024 = 128 prompts x 8 rollouts, one GRPO batch of the
reference recipe). Each prompt has 2 annotations; each group of 8 rollouts is drawn (seeded) from
``--distinct`` different responses (default 2, i.e. ~75 % duplicates: what GRPO groups of a small
model with short answers look like; set ``--distinct 8`` for an all-distinct batch). The exact
duplicate rate used is printed.

* naive — the reference way: one request at a time with the plain ``openai`` client, no cache, no
  de-duplication (same prompt and sanitisation, so only the client differs);
* ours — ``build_perception_reward`` (openai backend): ``--concurrency`` requests in flight (the
  server decodes them in one batch), in-batch de-duplication, persistent cache (empty at start);
* ours, constrained — the same, with the judge's answer constrained to exactly m verdicts
  (``--constrained``, default ``grammar``: llama.cpp GBNF; the answer stops after the last verdict
  instead of running on to ``max_tokens``), on a fresh cache;
* cached — the same batch again through a fresh reward object on the same cache file.

Prints the times, seconds per request, the judge's verdict rate (parseable answers),
``judge_speedup`` (naive / ours with free decoding: the client alone, same decoding on both sides),
``judge_speedup_constrained`` (naive / ours with constrained verdicts: our recommended llama.cpp
setting, whose verdict accuracy docs/judge.md measures next to free decoding) and
``judge_cached_speedup`` (naive / cached). The full 1,024
requests take ~70 min on 2 loaded CPU cores with the 0.5B judge (the naive pass, ~3.3 s/request,
is most of it): ``--n 256`` took 21 min, ``--n 128`` is a quick look. Measured numbers and how to
read them: ``docs/judge.md``.
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
from perceptrl.judge.llama_models import MODELS
from perceptrl.judge.local_server import llama_server
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


def naive(base_url: str, model: str, responses: list[str], rows: list[dict], max_tokens: int,
          extra: dict | None = None) -> tuple[float, int, int]:
    """One request at a time, no cache, no de-duplication. Returns (seconds, failed requests,
    unparseable answers)."""
    client = openai.OpenAI(base_url=base_url, api_key="EMPTY", timeout=300, max_retries=3)
    prep = LLMJudge(callable_generator(lambda m: ""), model_id=model)  # same prompt + sanitisation
    failures = unparseable = 0
    t0 = time.perf_counter()
    for resp, row in zip(responses, rows):
        msgs, _ = prep.prepare(row["visual_annotations"], resp)
        try:
            out = client.chat.completions.create(model=model, messages=msgs, temperature=0, max_tokens=max_tokens,
                                                 extra_body=extra or None)
            if parse_verdicts(out.choices[0].message.content or "", len(row["visual_annotations"])).verdicts is None:
                unparseable += 1
        except openai.OpenAIError:
            failures += 1
    return time.perf_counter() - t0, failures, unparseable


def ours(cfg: JudgeConfig, responses: list[str], rows: list[dict]) -> tuple[float, dict]:
    reward = build_perception_reward(cfg)
    t0 = time.perf_counter()
    asyncio.run(reward.ascore(responses, rows))
    return time.perf_counter() - t0, reward.metrics()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1024,
                    help="requests per pass (default 1024 = 128 prompts x 8 rollouts; ~70 min on 2 loaded cores "
                         "with the 0.5B judge: pass e.g. --n 128 for a quick look)")
    ap.add_argument("--group", type=int, default=8, help="rollouts per prompt")
    ap.add_argument("--distinct", type=int, default=2, help="distinct responses per group")
    ap.add_argument("--model", default="qwen2.5-coder-0.5b",
                    help=f"local judge model ({', '.join(MODELS)}), or the served name with --base-url")
    ap.add_argument("--parallel", type=int, default=8, help="server slots decoded together (local server)")
    ap.add_argument("--threads", type=int, default=None, help="server threads (default: one per two cores)")
    ap.add_argument("--max-tokens", type=int, default=24, help="judge answer budget (2 verdict lines ~ 16 tokens)")
    ap.add_argument("--concurrency", type=int, default=None, help="our requests in flight (default: --parallel)")
    ap.add_argument("--base-url", help="use this server instead of starting the local one")
    ap.add_argument("--constrained", default="grammar", choices=("off", "grammar", "json_schema"),
                    help="decoding of the constrained 'ours' pass (default grammar; off skips that pass)")
    args = ap.parse_args(argv)
    concurrency = args.concurrency or args.parallel

    responses, rows = workload(args.n, args.group, args.distinct)
    unique = len({(tuple(r["visual_annotations"]), s) for s, r in zip(responses, rows)})
    dup_rate = 1 - unique / len(responses)
    print(f"workload: {len(responses)} requests, {len(responses) // args.group} prompts x {args.group} rollouts, "
          f"{unique} distinct (duplicate rate {dup_rate:.1%}), max_tokens {args.max_tokens}")
    ctx = nullcontext(None) if args.base_url else llama_server(model=args.model, parallel=args.parallel,
                                                               n_threads=args.threads)
    with ctx as srv, tempfile.TemporaryDirectory() as tmp:
        base_url = args.base_url or srv.base_url
        model = args.model if args.base_url else srv.model
        where = base_url if args.base_url else f"{base_url}: {' '.join(srv.command()[1:])}"
        print(f"server: {where}")
        # warm the server for both alike: weights paged in, and the static judge prompt in the prefix
        # cache of every slot (one request per slot, in flight together), as after a first GRPO step
        warm = JudgeConfig(backend="openai", base_url=base_url, model=model, max_tokens=args.max_tokens,
                           max_concurrency=args.parallel, timeout=300, cache_path=None)
        ours(warm, [f"warm-up {k}" for k in range(args.parallel)], rows[:1] * args.parallel)
        cfg = JudgeConfig(backend="openai", base_url=base_url, model=model, max_tokens=args.max_tokens,
                          max_concurrency=concurrency, timeout=300, cache_path=str(Path(tmp) / "c.sqlite"))
        t_naive, naive_fail, naive_unp = naive(base_url, model, responses, rows, args.max_tokens)
        print(f"naive (sequential, no cache, no dedupe): {t_naive:8.2f} s  ({naive_fail} failed requests, "
              f"{naive_unp} unparseable answers, {t_naive / len(responses):.2f} s/request)")
        t_ours, m1 = ours(cfg, responses, rows)
        sent = m1.get("judge/requests", 0)
        print(f"ours  (concurrency {concurrency} + dedupe + cache): {t_ours:8.2f} s  "
              f"(requests {sent:g}, deduplicated {m1.get('judge/deduplicated', 0):g}, "
              f"failures {m1.get('judge/failures', 0):g}, unparseable {m1.get('judge/unparseable', 0):g}, "
              f"{t_ours / max(sent, 1):.2f} s/request sent, {t_ours / len(responses):.3f} s/rollout)")
        t_cached, m2 = ours(cfg, responses, rows)
        print(f"ours, second pass (cache):              {t_cached:8.2f} s  "
              f"(cache hits {m2.get('judge/cache_hits', 0):g}, requests {m2.get('judge/requests', 0):g})")
        t_con = None
        if args.constrained != "off":
            ccfg = JudgeConfig(backend="openai", base_url=base_url, model=model, max_tokens=args.max_tokens,
                               max_concurrency=concurrency, timeout=300, constrained=args.constrained,
                               cache_path=str(Path(tmp) / "constrained.sqlite"))
            t_con, m3 = ours(ccfg, responses, rows)
            print(f"ours, constrained ({args.constrained}):          {t_con:8.2f} s  "
                  f"(requests {m3.get('judge/requests', 0):g}, unparseable {m3.get('judge/unparseable', 0):g}, "
                  f"{t_con / max(m3.get('judge/requests', 0), 1):.2f} s/request sent)")
    print(f"judge_speedup: {t_naive / t_ours:.2f}")
    if t_con is not None:
        print(f"judge_speedup_constrained: {t_naive / t_con:.2f}")
    print(f"judge_cached_speedup: {t_naive / max(t_cached, 1e-9):.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
