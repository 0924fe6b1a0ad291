"""``perceptrl eval``: run, rescore, compare, report.

    perceptrl eval --model DIR_OR_ID --bench mathvista,geo3k=/data/geo3k --protocol greedy_rules --out runs/base
    perceptrl eval rescore runs/base --protocol greedy_judge --judge-base-url http://127.0.0.1:8000/v1 --judge-model qwen
    perceptrl eval compare runs/base runs/ours
    perceptrl eval report runs/base
    perceptrl eval import --from lmms-eval OUT/MODEL/*_samples_mathvista_testmini_cot.jsonl --out runs/lmms
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from perceptrl.config.options import add_flag, add_flags, option
from perceptrl.errors import PerceptrlError
from perceptrl.judge.config import JudgeConfig
from perceptrl.train.config import DataConfig

ACTIONS = ("rescore", "compare", "report", "import")


@dataclass
class EvalCommand:
    """Options of ``perceptrl eval`` and its actions (one declaration each; judge and data-reader
    options come from :class:`JudgeConfig` and :class:`DataConfig`)."""

    model: str | None = option(None, help="Hub id or local directory of an image-text-to-text model.")
    bench: str | None = option(None, help="Comma-separated: mathvista, mathverse, mathvision, wemath, geo3k, synth; "
                               "NAME=PATH reads a local copy; NAME:SPLIT picks a split (mathvision:testmini).")
    protocol: str = option("greedy_rules", help="Evaluation protocol (docs/eval.md): decoding and scorer; "
                           "greedy_rules is the rule cascade at temperature 0, as lmms-eval and EasyR1.")
    out: str | None = option(None, help="Run folder; null: runs/eval/MODEL-PROTOCOL. Rerun to resume.")
    limit: int | None = option(None, help="First N items per benchmark (smoke runs); null: all.")
    batch_size: int = option(8, help="Prompts per generate call: larger is faster until memory runs out.")
    max_new_tokens: int | None = option(None, help="Response length; null: the protocol's (4096).")
    k: int | None = option(None, help="Samples per item for avg_at_k; null: the protocol's (8, as PAPO/VPPO).")
    seed: int | None = option(None, help="Sampling seed; null: the protocol's (0).")
    template: str | None = option(None, help="Prompt template; null: the protocol's (perception_r1; lmms_eval / "
                                  "vlmevalkit for those protocols, the harness's own prompts).")
    backend: str = option("hf", help="Generation backend: hf (transformers) or vllm (faster, needs a GPU).")
    offline: bool = option(False, help="Never contact the hub (also: HF_HUB_OFFLINE=1).")
    no_report: bool = option(False, help="Skip report.md/png.")
    protocol_a: str | None = option(None, help="Scores of run A to use; null: its own protocol.")
    protocol_b: str | None = option(None, help="Scores of run B to use; null: its own protocol.")
    labels_a: str | None = option(None, help="Perception labels JSONL for run A (real benchmarks).")
    labels_b: str | None = option(None, help="Perception labels JSONL for run B.")
    json: str | None = option(None, help="Also write the full comparison as JSON here.")
    force: bool = option(False, help="Compare runs whose harness, protocol, judge, template, decoding or pixel "
                         "bounds differ (every difference is printed).")
    rescore_protocol: str | None = option(None, help="The protocol to score the stored responses under.")
    report_protocol: str | None = option(None, help="Scores to report; null: the run's own protocol.")
    harness: str | None = option(None, help="The harness that wrote FILES.")
    import_out: str | None = option(None, help="New run folder.")
    import_model: str | None = option(None, help="Model name to record; null: the samples folder's name.")


#: JudgeConfig field -> its flag in ``perceptrl eval`` (argparse dest: the flag's name).
JUDGE_FLAGS = {"base_url": "--judge-base-url", "model": "--judge-model", "api_key": "--judge-api-key",
               "max_concurrency": "--judge-concurrency", "timeout": "--judge-timeout"}


def _add_judge_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("LLM judge (protocol greedy_judge)")
    for name, flag in JUDGE_FLAGS.items():
        add_flag(g, JudgeConfig, name, flag, dest=flag[2:].replace("-", "_"))


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
    if args.harness == "vlmevalkit":
        from perceptrl.eval.import_vlmevalkit import import_vlmevalkit as importer
    else:
        from perceptrl.eval.importers import import_lmms_eval as importer
    summary = importer(args.files, args.out, model=args.model)
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
    add_flags(p, EvalCommand, {"model": None, "bench": None, "protocol": None, "out": None, "limit": None,
                               "batch_size": None, "max_new_tokens": None, "k": None, "seed": None,
                               "template": None, "backend": None},
              extra={"protocol": {"choices": sorted(PROTOCOLS)}, "backend": {"choices": ["hf", "vllm"]}})
    add_flags(p, DataConfig, {"image_root": None}, extra={"image_root": {"metavar": "DIR"}})
    add_flags(p, EvalCommand, {"offline": None, "no_report": None},
              extra={"offline": {"action": "store_true"}, "no_report": {"action": "store_true"}})
    _add_judge_args(p)
    p.set_defaults(func=_dispatch, eval_action=None)
    sub = p.add_subparsers(dest="eval_action", metavar="ACTION")

    r = sub.add_parser("rescore", help="score stored responses under another protocol")
    r.add_argument("run")
    add_flag(r, EvalCommand, "rescore_protocol", "--protocol", dest="protocol", required=True,
             choices=sorted(PROTOCOLS))
    _add_judge_args(r)

    c = sub.add_parser("compare", help="paired per-item comparison of two runs (McNemar exact)")
    c.add_argument("run_a")
    c.add_argument("run_b")
    add_flags(c, EvalCommand, {"protocol_a": None, "protocol_b": None, "labels_a": None, "labels_b": None,
                               "json": None, "force": None}, extra={"force": {"action": "store_true"}})

    im = sub.add_parser("import", help="turn another harness's per-sample results into a run folder")
    from perceptrl.eval.importers import HARNESSES

    add_flag(im, EvalCommand, "harness", "--from", dest="harness", required=True, choices=HARNESSES)
    im.add_argument("files", nargs="+", help="lmms-eval: the *_samples_<task>.jsonl files of --log_samples; "
                    "vlmevalkit: the judged per-sample files (*_gpt-4o-mini.xlsx, MathVerse *_score.xlsx; .tsv/.json too)")
    add_flag(im, EvalCommand, "import_out", "--out", dest="out", required=True)
    add_flag(im, EvalCommand, "import_model", "--model", dest="model")

    rep = sub.add_parser("report", help="write report.md and report.png of a run")
    rep.add_argument("run")
    add_flag(rep, EvalCommand, "report_protocol", "--protocol", dest="protocol")
