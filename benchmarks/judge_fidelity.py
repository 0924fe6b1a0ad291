"""Judge fidelity: how often each judge × prompt × decoding gives the right verdict.

On the labelled synthetic set of :mod:`perceptrl.judge.fidelity` (≥ 300 verdicts whose truth is
exact by construction: facts stated verbatim, paraphrased, corrected, with a wrong value, under a
near-miss label, missing, retracted, injected), for

* the rules judge (the default backend; no model), and
* an LLM judge behind an OpenAI-compatible server (by default llama.cpp's ``llama-server`` with
  Qwen2.5-Coder-1.5B-Instruct Q4, started on loopback with ``--parallel`` slots), for each
  configuration ``PROMPT:DECODING`` of ``--configs`` (prompts: ``ours``, ``per_fact``,
  ``reason_first``; decodings: ``off`` or the constrained modes of ``JudgeConfig.constrained``),

it prints accuracy / precision / recall / unparseable % / reward error / s per request, the accuracy
per category, the baseline (our prompt, free decoding) against the chosen default, and the lines
``judge_fidelity_accuracy: X`` and ``judge_unparseable_pct: Y`` for the default.

    python benchmarks/judge_fidelity.py                      # starts the local server
    python benchmarks/judge_fidelity.py --base-url http://127.0.0.1:8000/v1 --model qwen
    python benchmarks/judge_fidelity.py --rules-only
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import sys
import time
from dataclasses import fields
from pathlib import Path

from perceptrl.judge import fidelity as F
from perceptrl.judge.backends import RulesJudge
from perceptrl.judge.config import JudgeConfig

#: the configuration ``judge_fidelity_accuracy`` is reported for (chosen from the numbers recorded
#: in docs/judge.md)
DEFAULT_PROMPT = "ours"
DEFAULT_DECODING = "grammar"
CONFIGS = ("ours:off", "ours:grammar", "ours:json_schema", "ours:json_reasoning", "per_fact:json_schema",
           "reason_first:off")


def machine() -> str:
    try:
        model = next(ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name"))
    except (OSError, StopIteration):
        model = platform.processor() or "unknown CPU"
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return f"{os.cpu_count()} cores ({model}), load {load:.1f}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"


def llm_config(base_url: str, model: str, decoding: str, args) -> JudgeConfig:
    kw = dict(backend="openai", base_url=base_url, model=model, max_concurrency=args.concurrency,
              timeout=args.timeout, max_retries=1, cache_path=None, max_tokens=args.max_tokens)
    if decoding != "off":
        kw["constrained"] = decoding
    return JudgeConfig(**kw)


@contextlib.contextmanager
def server(args):
    """Yields (base_url, model name, description): the given server, or the local llama-server."""
    if args.base_url:
        yield args.base_url, args.model, f"{args.model} at {args.base_url}"
        return
    from perceptrl.judge import local_server

    starter = getattr(local_server, "llama_server", None)
    if starter is None:
        raise SystemExit("this perceptrl has no local llama-server; pass --base-url and --model")
    with starter(model=args.judge_model, parallel=args.parallel) as srv:
        yield srv.base_url, srv.model, f"{srv.model} on llama-server --parallel {args.parallel} (loopback)"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n-cases", type=int, default=100, help="responses in the set (>= 300 verdicts)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--base-url", default=None, help="an already running OpenAI-compatible judge server")
    ap.add_argument("--model", default=None, help="model name at --base-url")
    ap.add_argument("--judge-model", default="qwen2.5-coder-1.5b", help="local model to serve (no --base-url)")
    ap.add_argument("--parallel", type=int, default=4, help="llama-server slots (continuous batching)")
    ap.add_argument("--concurrency", type=int, default=4, help="judge requests in flight")
    ap.add_argument("--timeout", type=float, default=300.0)
    ap.add_argument("--max-tokens", type=int, default=256)
    ap.add_argument("--configs", default=None,
                    help="comma-separated PROMPT:DECODING (default: " + ",".join(CONFIGS) + ")")
    ap.add_argument("--rules-only", action="store_true", help="only the rules judge (no server)")
    ap.add_argument("--out", default="judge_fidelity.json", help="every verdict and metric, as JSON")
    ap.add_argument("--report", default=None, help="only print the tables of a saved --out file")
    args = ap.parse_args(argv)
    if args.report:
        return reprint(args.report)

    cases = F.build_set(args.n_cases, seed=args.seed)
    configs = [c.strip() for c in args.configs.split(",") if c.strip()] if args.configs else list(CONFIGS)
    print(f"judge fidelity, measured on {machine()}")
    print(f"set {F.SET_VERSION} seed {args.seed}: {F.summary_counts(cases)}")
    reports: dict[str, F.Report] = {}
    dump: dict[str, dict] = {}
    served = None

    def record(name: str, report: F.Report, preds) -> None:
        reports[name] = report
        print(F.table_row(name, report), flush=True)
        dump[name] = {"report": report.to_json(),
                      "verdicts": [p.verdicts for p in preds], "errors": [p.error for p in preds],
                      "answers": [p.answer for p in preds]}
        save()

    def save() -> None:  # after every run, so that an interrupted benchmark keeps what it measured
        if args.out:
            Path(args.out).write_text(json.dumps({"machine": machine(), "server": served, "set": F.SET_VERSION,
                                                  "seed": args.seed, "cases": [c.to_json() for c in cases],
                                                  "runs": dump}, ensure_ascii=False, indent=1), encoding="utf-8")

    print(F.TABLE_HEADER)
    rep, preds = F.evaluate(RulesJudge(), cases)
    record("rules", rep, preds)
    if not args.rules_only:
        with server(args) as (base_url, model, served_by):
            served = served_by  # noqa: F841 (read by save())
            for conf in configs:
                prompt, _, decoding = conf.partition(":")
                judge, per_fact = F.build_judge(llm_config(base_url, model, decoding or "off", args), prompt=prompt)
                rep, preds = F.evaluate(judge, cases, per_fact=per_fact)
                record(f"llm {prompt} / {decoding or 'off'}", rep, preds)
    summarise(reports, served)
    if args.out:
        save()
        print(f"details -> {args.out}")
    return 0


def summarise(reports: dict[str, F.Report], served: str | None) -> None:
    """The per-category table, baseline vs default, and the lines for the default."""
    dec = DEFAULT_DECODING
    print()
    print(F.category_table({k.replace("llm ", "").replace(" / ", "/"): v for k, v in reports.items()}))
    print()
    if served:
        print(f"LLM judge: {served}")
        base_name = "llm ours / off"
        default_name = f"llm {DEFAULT_PROMPT} / {dec}"
        if default_name not in reports:
            default_name = base_name if base_name in reports else next(iter(k for k in reports if k != "rules"))
        base, ours = reports.get(base_name), reports[default_name]
        if base is not None:
            print(f"baseline ({base_name}): accuracy {base.accuracy:.4f}, unparseable {base.unparseable_pct:.2f} %")
            print(f"ours ({default_name}): accuracy {ours.accuracy:.4f}, unparseable {ours.unparseable_pct:.2f} %")
            print(f"accuracy ratio ours/baseline: {ours.accuracy / base.accuracy:.3f}")
        print(f"judge_default: {default_name}")
    else:
        ours = reports["rules"]
        print("judge_default: rules (no LLM judge was run)")
    print(f"judge_fidelity_accuracy: {ours.accuracy:.4f}")
    print(f"judge_unparseable_pct: {ours.unparseable_pct:.2f}")


def reprint(path: str) -> int:
    """Print the tables of a saved run (``--out`` of an earlier, possibly interrupted, benchmark)."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    names = {f.name for f in fields(F.Report)}
    reports = {k: F.Report(**{a: b for a, b in v["report"].items() if a in names}) for k, v in data["runs"].items()}
    print(f"judge fidelity, measured on {data['machine']} (saved run {path})")
    print(f"set {data['set']} seed {data['seed']}: {F.summary_counts([F.Case(**c) for c in data['cases']])}")
    print(F.TABLE_HEADER)
    for k, r in reports.items():
        print(F.table_row(k, r))
    summarise(reports, data.get("server"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
