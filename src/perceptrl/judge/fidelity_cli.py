"""``perceptrl judge eval``: how often does a judge give the right verdict? (judge fidelity)

Judges a labelled set — by default the synthetic one of :mod:`perceptrl.judge.fidelity` (facts
stated verbatim, paraphrased, corrected, with a wrong value, under a near-miss label, missing,
retracted, injected; the truth is exact by construction), or your own JSONL with ``annotations``,
``response`` and ``truth`` (0/1 per annotation) — and prints accuracy, precision, recall, the
unparseable rate, the reward error |r_v − r_v_true| and seconds per request, overall and per
category. Use it to pick a judge model, prompt and decoding before training:

    perceptrl judge eval --backend rules
    perceptrl judge eval --backend openai --base-url http://127.0.0.1:8000/v1 --model Qwen2.5-32B-Instruct
    perceptrl judge eval --set my_labelled.jsonl --backend openai ... --prompt per_fact --output report.json
"""

from __future__ import annotations

import argparse
import json
import logging
from dataclasses import dataclass
from pathlib import Path

from perceptrl.config.options import add_flags, option
from perceptrl.errors import PerceptrlError
from perceptrl.judge.cli import add_judge_options, judge_config_from_args
from perceptrl.judge.config import JudgeConfig


@dataclass
class FidelityCommand:
    """Options of ``perceptrl judge eval`` besides the :class:`JudgeConfig` ones."""

    set: str | None = option(None, help="Labelled JSONL (annotations, response, truth); null: the synthetic set.")
    n_cases: int = option(100, help="Responses in the synthetic set (100 gives >= 300 verdicts; more narrows the "
                          "interval and costs requests).")
    seed: int = option(0, help="Seed of the synthetic set.")
    write_set: str | None = option(None, help="Also write the labelled set to this JSONL.")
    prompt: str = option("ours", help="Prompt variant: ours | per_fact | reason_first (perceptrl.judge.fidelity_prompts).")
    show_errors: int = option(0, help="Print the first N wrong verdicts.")
    output: str | None = option(None, help="Write the metrics and every verdict as JSON.")


def _config(args: argparse.Namespace) -> JudgeConfig:
    return judge_config_from_args(args, cache_path=None)  # a measurement: no verdict from a cache


def run(args: argparse.Namespace) -> int:
    for name in ("httpx", "httpx2"):
        logging.getLogger(name).setLevel(logging.WARNING)
    from perceptrl.judge import fidelity as F
    from perceptrl.judge.fidelity_prompts import VARIANTS

    if args.prompt not in VARIANTS:
        raise PerceptrlError(f"unknown prompt variant {args.prompt!r}", where="--prompt",
                             fix=f"use one of {', '.join(VARIANTS)}")
    cases = F.read_set(args.set) if args.set else F.build_set(args.n_cases, seed=args.seed)
    if args.write_set:
        F.write_set(cases, args.write_set)
        print(f"wrote {len(cases)} labelled cases -> {args.write_set}")
    cfg = _config(args)
    judge, per_fact = F.build_judge(cfg, prompt=args.prompt)
    if getattr(judge, "client", None) is not None:
        import asyncio

        from perceptrl.judge.reward import PerceptionReward

        asyncio.run(PerceptionReward(judge, client=judge.client).check())  # fail fast if unreachable
    print(F.summary_counts(cases))
    report, preds = F.evaluate(judge, cases, per_fact=per_fact)
    name = cfg.backend if cfg.backend == "rules" else f"{cfg.model or cfg.backend} / {args.prompt}"
    if getattr(cfg, "constrained", "off") not in ("off", None):
        name += f" / {cfg.constrained}"
    print(F.TABLE_HEADER)
    print(F.table_row(name[:34], report))
    print()
    print(F.category_table({name[:20]: report}))
    if args.show_errors:
        shown = 0
        for c, p in zip(cases, preds):
            got = p.verdicts or [0] * len(c.truth)
            for a, t, v, cat in zip(c.annotations, c.truth, got, c.categories):
                if t != v and shown < args.show_errors:
                    shown += 1
                    print(f"\n[{c.id}] {cat}: {a!r} truth {t}, judged {v}" + (f" ({p.error})" if p.error else ""))
                    print("  response: " + c.response.replace("\n", " / ")[:300])
                    if p.answer:
                        print("  judge:    " + p.answer.replace("\n", " / ")[:300])
    if args.output:
        out = {"judge": name, "config": {k: v for k, v in vars(args).items() if k != "func"},
               "report": report.to_json(),
               "cases": [{**c.to_json(), "predicted": p.verdicts, "error": p.error, "answer": p.answer}
                         for c, p in zip(cases, preds)]}
        Path(args.output).write_text(json.dumps(out, ensure_ascii=False, indent=1), encoding="utf-8")
        print(f"\nreport -> {args.output}")
    print(f"judge_fidelity_accuracy: {report.accuracy:.4f}")
    print(f"judge_unparseable_pct: {report.unparseable_pct:.2f}")
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("eval", help="measure a judge's verdict accuracy on a labelled set (judge fidelity)",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_flags(p, FidelityCommand, {"set": None, "n_cases": None, "seed": None, "write_set": None})
    add_judge_options(p)
    add_flags(p, FidelityCommand, {"prompt": None, "show_errors": None, "output": None})
    p.set_defaults(func=run)
