"""``perceptrl eval``: run, rescore, compare, report.

    perceptrl eval --model DIR_OR_ID --bench mathvista,geo3k=/data/geo3k --protocol greedy_rules --out runs/base
    perceptrl eval rescore runs/base --protocol greedy_judge --judge-base-url http://127.0.0.1:8000/v1 --judge-model qwen
    perceptrl eval compare runs/base runs/ours
    perceptrl eval report runs/base
    perceptrl eval import --from lmms-eval OUT/MODEL/*_samples_mathvista_testmini_cot.jsonl --out runs/lmms
"""

from __future__ import annotations

import argparse
from pathlib import Path

from perceptrl.errors import PerceptrlError
from perceptrl.judge.config import JudgeConfig

ACTIONS = ("rescore", "compare", "report", "import")


def _add_judge_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("LLM judge (protocol greedy_judge)")
    g.add_argument("--judge-base-url", help="OpenAI-compatible server root, e.g. http://127.0.0.1:8000/v1")
    g.add_argument("--judge-model", help="model name the judge server expects")
    g.add_argument("--judge-api-key", default=None, help="default: $OPENAI_API_KEY or 'EMPTY'")
    g.add_argument("--judge-concurrency", type=int, default=JudgeConfig.max_concurrency,
                   help="requests in flight (default %(default)s, judge.max_concurrency)")
    g.add_argument("--judge-timeout", type=float, default=JudgeConfig.timeout,
                   help="seconds per request (default %(default)s, judge.timeout)")


def _judge(args, run_dir: str | Path):
    if not args.judge_base_url:
        return None
    if not args.judge_model:
        raise PerceptrlError("--judge-model is required with --judge-base-url", where="--judge-model",
                             fix="name the model the judge server serves")
    from perceptrl.eval.judge_scorer import JudgeScorer
    from perceptrl.judge.client import ChatClient

    Path(run_dir).mkdir(parents=True, exist_ok=True)
    client = ChatClient(args.judge_base_url, args.judge_model, api_key=args.judge_api_key,
                        max_concurrency=args.judge_concurrency, timeout=args.judge_timeout,
                        cache_path=Path(run_dir) / "judge_cache.sqlite")
    return JudgeScorer(client)


def _print_summary(summary: dict) -> None:
    for bench, m in summary["benches"].items():
        extra = ""
        if "wemath" in m:
            from perceptrl.eval.wemath import format_score

            extra = f"  strict score {format_score(m['wemath']['score_strict'])}"
        print(f"{bench:<12} n={m['n']:<5} accuracy {100 * m['accuracy']:.1f}%{extra}")


def cmd_run(args) -> int:
    if not args.model or not args.bench:
        raise PerceptrlError("--model and --bench are required to run an evaluation", where="perceptrl eval",
                             fix="e.g. perceptrl eval --model DIR --bench mathvista --protocol greedy_rules --out runs/x")
    from perceptrl.eval.benchmarks import parse_bench_spec
    from perceptrl.eval.protocols import get_protocol
    from perceptrl.eval.runner import run_eval

    benches = parse_bench_spec(args.bench)
    proto = get_protocol(args.protocol, k=args.k, max_new_tokens=args.max_new_tokens, seed=args.seed)
    out = args.out or str(Path("runs") / "eval" / f"{Path(args.model.rstrip('/')).name}-{proto.name}")
    summary = run_eval(
        args.model, benches, out, protocol=proto, limit=args.limit, batch_size=args.batch_size,
        template=args.template, backend=args.backend, judge=_judge(args, out),
        offline=True if args.offline else None, report=not args.no_report, image_root=args.image_root,
    )
    _print_summary(summary)
    print(f"results: {out}")
    return 0


def cmd_rescore(args) -> int:
    from perceptrl.eval.protocols import get_protocol
    from perceptrl.eval.report import write_report
    from perceptrl.eval.runner import score_run

    proto = get_protocol(args.protocol)
    summary = score_run(args.run, proto, judge=_judge(args, args.run))
    write_report(args.run, proto.name)
    _print_summary(summary)
    return 0


def cmd_compare(args) -> int:
    from perceptrl.eval.compare import compare_runs, format_comparison

    result = compare_runs(args.run_a, args.run_b, protocol_a=args.protocol_a, protocol_b=args.protocol_b,
                          labels_a=args.labels_a, labels_b=args.labels_b, force=args.force)
    print(format_comparison(result))
    if args.json:
        from perceptrl.eval.store import write_json_atomic

        write_json_atomic(args.json, result)
    return 0


def cmd_report(args) -> int:
    from perceptrl.eval.report import write_report

    md, png = write_report(args.run, args.protocol)
    print(md.read_text())
    print(f"plot: {png}")
    return 0


def cmd_import(args) -> int:
    from perceptrl.eval.importers import import_results

    summary = import_results(args.harness, args.files, args.out, model=args.model)
    _print_summary(summary)
    print(f"imported into: {args.out} (scores under protocol {summary['protocol']})")
    return 0


def _dispatch(args) -> int:
    return {"rescore": cmd_rescore, "compare": cmd_compare, "report": cmd_report,
            "import": cmd_import}.get(args.eval_action, cmd_run)(args)


def register(subparsers) -> None:
    from perceptrl.eval.protocols import PROTOCOLS

    p = subparsers.add_parser(
        "eval",
        help="evaluate a model on benchmarks; rescore, compare, report",
        description="Run: perceptrl eval --model M --bench B[,B=PATH…] --protocol P [--out DIR]. "
        "Actions on stored runs: rescore, compare, report.",
    )
    p.add_argument("--model", help="hub id or local directory of an image-text-to-text model")
    p.add_argument("--bench", help="comma-separated: mathvista, mathverse, mathvision, wemath, geo3k, synth; "
                                   "NAME=PATH reads a local copy; NAME:SPLIT picks a split (mathvision:testmini)")
    p.add_argument("--protocol", default="greedy_rules", choices=sorted(PROTOCOLS), help="default greedy_rules")
    p.add_argument("--out", help="run folder (default runs/eval/MODEL-PROTOCOL); rerun to resume")
    p.add_argument("--limit", type=int, help="first N items per benchmark (smoke runs)")
    p.add_argument("--batch-size", type=int, default=8, help="prompts per generate call (default 8)")
    p.add_argument("--max-new-tokens", type=int, help="override the protocol's 4096")
    p.add_argument("--k", type=int, help="samples per item for avg_at_k (default 8)")
    p.add_argument("--seed", type=int, help="sampling seed (default 0)")
    p.add_argument("--template", help="prompt template (default: the protocol's: perception_r1; lmms_eval / "
                                      "vlmevalkit for those protocols, the harness's own prompts)")
    p.add_argument("--backend", default="hf", choices=["hf", "vllm"], help="generation backend (default hf)")
    p.add_argument("--image-root", metavar="DIR", help="folder relative image paths start from (default: the data "
                   "file's folder, or a parent where the images are, as in MATH-V's repository)")
    p.add_argument("--offline", action="store_true", help="never contact the hub (also: HF_HUB_OFFLINE=1)")
    p.add_argument("--no-report", action="store_true", help="skip report.md/png")
    _add_judge_args(p)
    p.set_defaults(func=_dispatch, eval_action=None)
    sub = p.add_subparsers(dest="eval_action", metavar="ACTION")

    r = sub.add_parser("rescore", help="score stored responses under another protocol")
    r.add_argument("run")
    r.add_argument("--protocol", required=True, choices=sorted(PROTOCOLS))
    _add_judge_args(r)

    c = sub.add_parser("compare", help="paired per-item comparison of two runs (McNemar exact)")
    c.add_argument("run_a")
    c.add_argument("run_b")
    c.add_argument("--protocol-a", help="scores of run A to use (default: its own protocol)")
    c.add_argument("--protocol-b", help="scores of run B to use (default: its own protocol)")
    c.add_argument("--labels-a", help="perception labels JSONL for run A (real benchmarks)")
    c.add_argument("--labels-b", help="perception labels JSONL for run B")
    c.add_argument("--json", help="also write the full result as JSON here")
    c.add_argument("--force", action="store_true", help="compare runs whose harness, protocol, judge, template, "
                   "decoding or pixel bounds differ (every difference is printed)")

    im = sub.add_parser("import", help="turn another harness's per-sample results into a run folder")
    from perceptrl.eval.importers import HARNESSES

    im.add_argument("--from", dest="harness", required=True, choices=HARNESSES, help="the harness that wrote FILES")
    im.add_argument("files", nargs="+", help="lmms-eval: the *_samples_<task>.jsonl files of --log_samples; "
                    "vlmevalkit: the judged per-sample files (*_gpt-4o-mini.xlsx, MathVerse *_score.xlsx; .tsv/.json too)")
    im.add_argument("--out", required=True, help="new run folder")
    im.add_argument("--model", help="model name to record (default: the samples folder's name)")

    rep = sub.add_parser("report", help="write report.md and report.png of a run")
    rep.add_argument("run")
    rep.add_argument("--protocol", help="default: the run's own protocol")
