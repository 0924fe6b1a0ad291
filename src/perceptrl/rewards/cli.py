"""``perceptrl score``: score a JSONL file of responses offline, per component.

Each input line is one response with its row::

    {"id": "geo-1", "completion": "<think>…</think>\\n<answer>…</answer>", "answer": "60^\\\\circ",
     "choices": null, "visual_annotations": ["AB = 10"], ...}

(``response`` is accepted for ``completion``; ``metadata`` keys are lifted to the row as in
:meth:`perceptrl.data.schema.Example.to_row`). Output: one line per input with ``id``,
``total`` and each component (``null`` = not applicable). A summary table (mean, not-applicable
fraction, timeouts) is printed at the end.

    perceptrl score --rewards perception_r1 --judge-backend rules --input responses.jsonl --output scores.jsonl
    perceptrl score --rewards perception_r1_no_judge --input responses.jsonl --output scores.jsonl
"""

from __future__ import annotations

import argparse
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from perceptrl.config.options import add_flag, add_flags, option
from perceptrl.data.annotations import VISUAL_KEY_INFO_FIX, AnnotationFormatError, row_annotations
from perceptrl.data.json_lines import encoding_fix, json_objects
from perceptrl.errors import PerceptrlError

logger = logging.getLogger(__name__)


def _load_spec(arg: str):
    from perceptrl.rewards.hybrid import HybridSpec, available_presets

    p = Path(arg)
    if p.suffix in (".yaml", ".yml", ".json") and p.exists():
        import yaml

        try:
            from perceptrl.data.encoding import read_text

            cfg = yaml.safe_load(read_text(p))
        except yaml.YAMLError as e:
            raise PerceptrlError(f"cannot parse {p}: {e}", where=str(p), fix="fix the YAML") from None
        if isinstance(cfg, dict) and "rewards" in cfg:
            cfg = cfg["rewards"]
        return HybridSpec.from_config(cfg)
    if arg not in available_presets():
        raise PerceptrlError(f"--rewards {arg!r} is neither a preset nor a .yaml/.json file",
                             where="--rewards", fix=f"use one of {', '.join(available_presets())} or a spec file")
    return HybridSpec.from_config(arg)


def read_responses(path: Path) -> tuple[list[str], list[dict[str, Any]], list[Any]]:
    """``(completions, rows, ids)`` from a JSONL file; every bad line is reported at once.

    Annotations are checked here: a ``visual_key_info`` string without ``<infoN>`` tags (or with
    broken ones) is a bad line, not a row with "no annotations" whose perception term would then
    be not applicable; a good one is parsed into ``visual_annotations`` (the judge reads that)."""
    if not path.exists():
        raise PerceptrlError(f"input file not found: {path}", where="--input", fix="check the path")
    completions, rows, ids, bad = [], [], [], []
    for n, obj, problem in json_objects(path):
        if problem:
            bad.append(problem)
            continue
        text = obj.pop("completion", None)
        if text is None:
            text = obj.pop("response", None)
        if not isinstance(text, str):
            bad.append(f"line {n}: no 'completion' (or 'response') string")
            continue
        meta = obj.get("metadata")
        if isinstance(meta, dict):
            for k, v in meta.items():
                obj.setdefault(k, v)
        try:
            anns = row_annotations(obj)
        except AnnotationFormatError as e:
            bad.append(f"line {n}: {e}")
            continue
        if anns:
            obj["visual_annotations"] = anns
        completions.append(text)
        rows.append(obj)
        ids.append(obj.get("id", n))
    if bad:
        shown = "\n    ".join(bad[:20]) + (f"\n    … and {len(bad) - 20} more" if len(bad) > 20 else "")
        fix = 'each line must be a JSON object with a "completion" string and the row fields'
        if any("visual_key_info" in b or "visual_annotations" in b for b in bad):
            fix += f"; visual_annotations: a list of strings; visual_key_info: {VISUAL_KEY_INFO_FIX}"
        enc = encoding_fix(bad, path)
        raise PerceptrlError(f"{len(bad)} bad line(s) in {path}:\n    {shown}", where=str(path),
                             fix=f"{enc}; {fix}" if enc else fix)
    return completions, rows, ids


def _check_rows(spec, rows: list[dict], path: Path) -> None:
    names = {t.reward_name for t in spec.terms}
    if "accuracy" in names:
        missing = [i + 1 for i, r in enumerate(rows) if r.get("answer") in (None, "")]
        if len(missing) == len(rows) and rows:
            raise PerceptrlError(f"no row of {path} has an 'answer' but the rewards include accuracy",
                                 where=str(path), fix="add the gold 'answer' to each line, or drop accuracy")
        if missing:
            logger.warning("%d row(s) without 'answer' (accuracy not applicable), e.g. line %d", len(missing), missing[0])


def _build_judge(args):
    try:
        from perceptrl.judge import JudgeConfig, build_perception_reward
    except ImportError:  # pragma: no cover - the judge package ships with perceptrl
        raise PerceptrlError("the judge package is not available", where="--judge-backend",
                             fix="use --rewards perception_r1_no_judge") from None
    cfg = JudgeConfig(backend=args.judge_backend, base_url=args.judge_base_url, model=args.judge_model,
                      failure_policy=args.judge_failure_policy,
                      cache_path=None if str(args.judge_cache).lower() in ("none", "null") else args.judge_cache)
    return build_perception_reward(cfg)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table
    from tqdm import tqdm

    from perceptrl.rewards.hybrid import build_hybrid
    from perceptrl.rewards.runner import RewardRunner

    spec = _load_spec(args.rewards)
    in_path, out_path = Path(args.input), Path(args.output)
    completions, rows, ids = read_responses(in_path)
    _check_rows(spec, rows, in_path)
    perception = None
    if spec.needs_perception:
        if not args.judge_backend:
            raise PerceptrlError(f"--rewards {args.rewards} has a perception term, which needs a judge",
                                 where="--judge-backend",
                                 fix="add --judge-backend rules (or openai with --judge-base-url/--judge-model), "
                                     "or use --rewards perception_r1_no_judge")
        perception = _build_judge(args)
    hybrid = build_hybrid(spec, perception=perception)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    sums: dict[str, list[float]] = {n: [] for n in hybrid.names}
    nones = {n: 0 for n in hybrid.names}
    totals: list[float] = []
    counters: dict[str, float] = {}
    with RewardRunner(hybrid, workers=args.workers, item_timeout=args.item_timeout,
                      batch_budget=args.batch_budget) as runner, out_path.open("w", encoding="utf-8") as out, \
            tqdm(total=len(completions), desc="scoring", unit="resp") as bar:
        for start in range(0, len(completions), args.batch_size):
            sl = slice(start, start + args.batch_size)
            batch = runner.score(completions[sl], rows[sl])
            for j, total in enumerate(batch.total):
                rec = {"id": ids[start + j], "total": total}
                for name, vals in batch.components.items():
                    rec[name] = vals[j]
                    if vals[j] is None:
                        nones[name] += 1
                    else:
                        sums[name].append(vals[j])
                totals.append(total)
                out.write(json.dumps(rec) + "\n")
            out.flush()  # a batch written is never lost
            for k, v in batch.metrics.items():
                if k.endswith(("/timeouts", "/errors", "/over_budget", "/failures", "/skipped")):
                    counters[k] = counters.get(k, 0.0) + v
            bar.update(len(batch.total))
    table = Table(title=f"{spec.name}: {len(totals)} responses → {out_path}")
    for col in ("component", "mean", "n", "not applicable"):
        table.add_column(col, justify="left" if col == "component" else "right")
    for name in hybrid.names:
        vals = sums[name]
        table.add_row(name, f"{sum(vals) / len(vals):.4f}" if vals else "-", str(len(vals)), str(nones[name]))
    table.add_row("total", f"{sum(totals) / len(totals):.4f}" if totals else "-", str(len(totals)), "0")
    console = Console()
    console.print(table)
    for k, v in sorted(counters.items()):
        if v:
            console.print(f"{k}: {v:g}")
    return 0


@dataclass
class ScoreCommand:
    """Options of ``perceptrl score`` besides the reward runner's (:class:`RewardsConfig`) and the
    judge's (:class:`JudgeConfig`)."""

    input: str | None = option(None, help="JSONL: one response (completion + row fields) per line.")
    output: str | None = option(None, help="JSONL of scores, one line per input line.")
    batch_size: int = option(1024, help="Responses per batch: each batch is written when scored, so a smaller one "
                             "loses less on a crash and a larger one keeps the judge's batch fuller.")
    judge_cache: str | None = option(None, help="sqlite verdict cache; null (none on the command line): no cache, "
                                     "so that scoring a file never reuses verdicts of an earlier judge or prompt "
                                     "(training caches, see judge.cache_path).")


def register(subparsers) -> None:
    from perceptrl.judge.config import FAILURE_POLICIES, JudgeConfig
    from perceptrl.train.config import RewardsConfig

    p = subparsers.add_parser("score", help="score a JSONL of responses with a (hybrid) reward",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_flag(p, RewardsConfig, "preset", "--rewards", dest="rewards", help_extra="Or a YAML/JSON reward spec file.")
    add_flags(p, ScoreCommand, {"input": None, "output": None},
              extra={"input": {"required": True}, "output": {"required": True}})
    add_flags(p, RewardsConfig, {"workers": None, "item_timeout": None, "batch_budget": None})
    add_flags(p, ScoreCommand, {"batch_size": None})
    judge = {"backend": "--judge-backend", "base_url": "--judge-base-url", "model": "--judge-model",
             "failure_policy": "--judge-failure-policy"}
    for name, flag in judge.items():
        kw = {"dest": flag[2:].replace("-", "_")}
        if name == "backend":  # no judge unless asked for: a perception term without one is an error
            kw.update(default=None, help_extra="Left out: no judge (needed by a perception term).")
        if name == "failure_policy":
            kw["choices"] = FAILURE_POLICIES
        add_flag(p, JudgeConfig, name, flag, **kw)
    add_flags(p, ScoreCommand, {"judge_cache": None})
    p.set_defaults(func=run)


__all__ = ["register", "run", "read_responses"]
