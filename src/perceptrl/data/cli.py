"""``perceptrl data validate | convert | inspect``.

Examples::

    perceptrl data validate train.parquet --model Qwen/Qwen2.5-VL-7B-Instruct --max-prompt-length 4096
    perceptrl data validate train.parquet --fix --out train.fixed.parquet
    perceptrl data convert train.parquet train_trl.parquet --to trl --template perception_r1
    perceptrl data inspect data/train.jsonl
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from dataclasses import dataclass
from typing import Any

from perceptrl.config.options import add_flag, add_flags, option
from perceptrl.errors import PerceptrlError
from perceptrl.train.config import DataConfig

FORMAT_CHOICES = ("auto", "perception_r1", "trl", "jsonl", "hf", "geometry3k")
WRITE_FORMATS = ("perception_r1", "trl", "jsonl", "hf")
CONVERT_FORMATS = (*WRITE_FORMATS, "verl", "easyr1")  # + the engines' parquet (data/formats/verl.py)


def _mapping(items: list[str] | None) -> dict[str, str] | None:
    if not items:
        return None
    out = {}
    for item in items:
        field, sep, col = item.partition("=")
        if not sep or not field or not col:
            raise PerceptrlError(f"bad --map {item!r}", where="--map", fix="write FIELD=COLUMN, e.g. --map problem=query")
        out[field] = col
    return out


@dataclass
class DataCommand:
    """Options of ``perceptrl data`` besides the data reader's (:class:`DataConfig`)."""

    map: list[str] | None = option(None, help="Map a canonical field to a column (hf/jsonl) as FIELD=COLUMN, "
                                   "repeatable.")
    model: str | None = option(None, help="Model dir or hub id whose processor counts prompt tokens.")
    bench: str | None = option(None, help="Read PATH as `perceptrl eval --bench NAME=PATH` does (mathvista, "
                               "mathverse, mathvision, wemath, geo3k); --fix then writes a JSONL copy that "
                               "`--bench NAME=FIXED` reads.")
    report: str | None = option(None, help="Write every issue as JSON here (long reports print one line per kind); "
                                "null: ~/.cache/perceptrl/validate/NAME.issues.json.")
    pixel_bounds: str = option("error", help="How images outside the pixel bounds count: error (so that --fix "
                               "resizes them), warning (your pipeline resizes them, as perceptrl train/eval do) "
                               "or off.")
    fix: bool = option(False, help="Write to --out a copy with mechanical problems repaired (resize, mode, EXIF); "
                       "good rows are copied unchanged, rows it cannot repair are left out (and listed; exit 1).")
    out: str | None = option(None, help="Where --fix writes the repaired copy.")
    to: str | None = option(None, help="Output format; null: the input's.")
    json: bool = option(False, help="Print the report / statistics as JSON instead of a table.")
    convert_template: str | None = option(None, help="Prompt template written by --to trl|verl|easyr1; null: "
                                          "plain, and perception_r1 (which adds its instruction) for verl.")
    rows: int = option(3, help="Rows to show.")


def _add_input_args(p: argparse.ArgumentParser, *, path_help: str = "file, folder, or Hugging Face dataset id") -> None:
    p.add_argument("path", help=path_help)
    add_flags(p, DataConfig, {"format": None, "split": None}, extra={"format": {"choices": FORMAT_CHOICES}})
    add_flags(p, DataCommand, {"map": None}, extra={"map": {"action": "append", "metavar": "FIELD=COLUMN"}})
    add_flags(p, DataConfig, {"image_root": None}, extra={"image_root": {"metavar": "DIR"}})


def register(subparsers) -> None:
    from perceptrl.data.images import DEFAULT_MAX_PIXELS, DEFAULT_MIN_PIXELS

    data = subparsers.add_parser("data", help="validate, convert and inspect datasets")
    sub = data.add_subparsers(dest="data_command", metavar="SUBCOMMAND", required=True)

    v = sub.add_parser(
        "validate",
        help="check every row (images decoded, placeholders, prompt length with the real processor…)",
        description="List every bad row with its field, reason and fix; exit 1 when any row is bad.",
    )
    _add_input_args(v)
    add_flags(v, DataCommand, {"model": None})
    bounds = "Left out: the --model processor's (what training uses), else %s (Perception-R1)."
    add_flags(v, DataConfig, {"min_pixels": None, "max_pixels": None},
              extra={"min_pixels": {"help_extra": bounds % DEFAULT_MIN_PIXELS},
                     "max_pixels": {"help_extra": bounds % DEFAULT_MAX_PIXELS}})
    add_flags(v, DataCommand, {"bench": None, "report": None, "pixel_bounds": None},
              extra={"bench": {"metavar": "NAME"}, "report": {"metavar": "FILE"},
                     "pixel_bounds": {"choices": ("error", "warning", "off")}})
    add_flags(v, DataConfig, {"max_prompt_length": None, "template": None},
              extra={"max_prompt_length": {"help_extra": "Needs --model."}})
    add_flags(v, DataCommand, {"fix": None, "out": None, "to": None, "json": None},
              extra={"fix": {"action": "store_true"}, "to": {"choices": WRITE_FORMATS},
                     "json": {"action": "store_true"}})
    v.set_defaults(func=_validate)

    c = sub.add_parser("convert", help="convert between formats", description="Read any supported format and write another.")
    c.add_argument("path", help="input file, folder or dataset id")
    c.add_argument("out", help="output path")
    add_flags(c, DataCommand, {"to": None}, extra={"to": {"choices": CONVERT_FORMATS, "required": True}})
    add_flags(c, DataConfig, {"format": None, "split": None}, extra={"format": {"choices": FORMAT_CHOICES}})
    add_flags(c, DataCommand, {"map": None}, extra={"map": {"action": "append", "metavar": "FIELD=COLUMN"}})
    add_flags(c, DataConfig, {"image_root": None}, extra={"image_root": {"metavar": "DIR"}})
    add_flag(c, DataCommand, "convert_template", "--template", dest="template")
    c.set_defaults(func=_convert)

    i = sub.add_parser("inspect", help="counts, fields present, annotation stats, a few rows")
    _add_input_args(i)
    add_flags(i, DataCommand, {"rows": None, "json": None}, extra={"json": {"action": "store_true"}})
    i.set_defaults(func=_inspect)


def _read(args: argparse.Namespace):
    from perceptrl.data.io import detect_format, read_examples

    if getattr(args, "bench", None):  # rows as `perceptrl eval --bench NAME=PATH` reads them
        from perceptrl.eval.benchmarks import load_benchmark

        return "bench", load_benchmark(args.bench, args.path, split=args.split, image_root=args.image_root)

    fmt = detect_format(args.path) if args.format == "auto" else args.format
    return fmt, read_examples(args.path, fmt, split=args.split, column_mapping=_mapping(args.map),
                              image_root=getattr(args, "image_root", None))


def load_processor(name_or_path: str):
    """The processor of a model dir / hub id (image-only Qwen processor when torchvision is absent)."""
    try:
        from transformers import AutoConfig

        from perceptrl.models import load_processor as _load

        model_type = getattr(AutoConfig.from_pretrained(name_or_path), "model_type", None)
        return _load(name_or_path, model_type=model_type)
    except (OSError, ValueError) as e:
        raise PerceptrlError(
            f"cannot load the processor of {name_or_path!r}: {e}",
            where="--model",
            fix="pass a local model folder (config.json + processor files), or a hub id that is in the local cache",
        ) from e


def pixel_bounds_for(processor: Any, min_pixels: int | None, max_pixels: int | None) -> tuple[int, int]:
    """The bounds to check: explicit values, else the processor's own (``size`` shortest/longest
    edge: the bounds training and eval resize into), else Perception-R1's."""
    from perceptrl.data.images import DEFAULT_MAX_PIXELS, DEFAULT_MIN_PIXELS

    size = dict(getattr(getattr(processor, "image_processor", None), "size", None) or {}) if processor is not None else {}
    lo = min_pixels if min_pixels is not None else size.get("shortest_edge") or getattr(
        getattr(processor, "image_processor", None), "min_pixels", None) or DEFAULT_MIN_PIXELS
    hi = max_pixels if max_pixels is not None else size.get("longest_edge") or getattr(
        getattr(processor, "image_processor", None), "max_pixels", None) or DEFAULT_MAX_PIXELS
    return int(lo), int(hi)


MAX_TABLE_ROWS = 30  # more issues than this print one line per kind, the full list goes to a file


def _report_file(report, path: str | None) -> str:
    from pathlib import Path

    if path is None:
        import os
        import re

        cache = Path(os.environ.get("PERCEPTRL_CACHE") or Path.home() / ".cache" / "perceptrl") / "validate"
        name = re.sub(r"[^A-Za-z0-9._-]", "_", Path(str(report.source).rstrip("/")).name or "data")
        path = str(cache / f"{name}.issues.json")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(report.to_dict(), indent=1, ensure_ascii=False))
    return path


def _console():
    from rich.console import Console

    return Console(width=max(120, shutil.get_terminal_size((160, 24)).columns), soft_wrap=False)


def _print_report(report, as_json: bool, report_path: str | None = None) -> None:
    if as_json:
        print(json.dumps(report.to_dict(), indent=1, ensure_ascii=False))
        if report_path:
            _report_file(report, report_path)
        return
    from rich.table import Table

    console = _console()
    if len(report.issues) > MAX_TABLE_ROWS:  # one line per kind (MATH-V: ~6,000 warnings otherwise)
        groups: dict[tuple[str, str], list] = {}
        for i in report.issues:
            groups.setdefault((i.severity, i.code), []).append(i)
        table = Table(title=f"problems in {report.source}, by kind")
        for col, kw in (("level", {}), ("problem", {}), ("rows", {"justify": "right"}), ("e.g. ids", {"overflow": "fold"}),
                        ("reason (first)", {"overflow": "fold"}), ("fix", {"overflow": "fold"})):
            table.add_column(col, **kw)
        for (sev, code), items in sorted(groups.items(), key=lambda kv: (kv[0][0] != "error", -len(kv[1]))):
            ids = ", ".join(i.id for i in items[:3]) + (", …" if len(items) > 3 else "")
            table.add_row(sev, code, str(len({i.row for i in items})), ids, items[0].reason,
                          items[0].fix + (" [--fix]" if items[0].fixable else ""))
        console.print(table)
        console.print(f"every issue (row, field, reason): {_report_file(report, report_path)}")
    elif report.issues:
        table = Table(title=f"problems in {report.source}", show_lines=False)
        for col, kw in (("row", {"justify": "right"}), ("id", {}), ("field", {}), ("level", {}), ("problem", {}), ("reason", {"overflow": "fold"}), ("fix", {"overflow": "fold"})):
            table.add_column(col, **kw)
        for i in report.issues:
            table.add_row(str(i.row), i.id, i.field, i.severity, i.code, i.reason, i.fix + (" [--fix]" if i.fixable else ""))
        console.print(table)
        if report_path:
            _report_file(report, report_path)
    console.print(report.summary())


def _validate(args: argparse.Namespace) -> int:
    from perceptrl.data.io import write_examples
    from perceptrl.data.validate import fix_examples, validate_examples

    if args.fix and not args.out:
        raise PerceptrlError("--fix needs --out", where="--fix", fix="add --out PATH for the repaired copy (the input is never modified)")
    if args.max_prompt_length is not None and not args.model:
        raise PerceptrlError("--max-prompt-length needs --model", where="--max-prompt-length", fix="add --model DIR_OR_ID (its processor counts the tokens)")
    fmt, examples = _read(args)
    processor = load_processor(args.model) if args.model else None
    args.min_pixels, args.max_pixels = pixel_bounds_for(processor, args.min_pixels, args.max_pixels)
    kw: dict[str, Any] = dict(
        processor=processor,
        min_pixels=args.min_pixels,
        max_pixels=args.max_pixels,
        max_prompt_length=args.max_prompt_length,
        template=args.template,
        pixel_bounds=args.pixel_bounds,
    )
    report = validate_examples(examples, source=str(args.path), progress=not args.json and sys.stderr.isatty(), **kw)
    _print_report(report, args.json, args.report)
    if not args.fix:
        return 0 if report.ok else 1

    fixed, changed = fix_examples(examples, report, min_pixels=args.min_pixels, max_pixels=args.max_pixels)
    after = validate_examples(fixed, source=str(args.out), **kw)
    still_bad = set(after.bad_rows)
    kept = [ex for r, ex in enumerate(fixed) if r not in still_bad]
    out_fmt = args.to or (fmt if fmt in WRITE_FORMATS else "jsonl")  # read-only layouts (and --bench) are repaired into JSONL
    written = write_examples(kept, args.out, format=out_fmt)
    print(f"fixed {len(changed)} rows; wrote {len(kept)} rows to {written} ({out_fmt})")
    if still_bad:
        ids = ", ".join(repr(fixed[r].id) for r in sorted(still_bad))
        print(f"left out {len(still_bad)} rows that --fix cannot repair (see the table): {ids}")
    return 1 if still_bad else 0


def _convert(args: argparse.Namespace) -> int:
    from perceptrl.data.io import write_examples

    from perceptrl.data.formats._rows import BINARY_TEXT_KEY

    fmt, examples = _read(args)
    if args.to in ("verl", "easyr1"):
        from perceptrl.data.formats.verl import write as write_engine

        written = write_engine(examples, args.out, engine=args.to, template=args.template)
    else:
        kw = {"template": args.template or "plain"} if args.to == "trl" else {}
        written = write_examples(examples, args.out, format=args.to, **kw)
    print(f"wrote {len(examples)} examples from {args.path} ({fmt}) to {written} ({args.to})")
    binary = sorted({m[0] for ex in examples for m in (ex.metadata.get(BINARY_TEXT_KEY) or {}).values()})
    if binary:  # the writers refuse bytes that are not UTF-8, so these all decoded
        print(f"binary column(s) {', '.join(map(repr, binary))} were written as text (decoded as UTF-8)")
    return 0


def _inspect(args: argparse.Namespace) -> int:
    from perceptrl.data.inspect import dataset_stats

    fmt, examples = _read(args)
    stats = {"path": str(args.path), "format": fmt, **dataset_stats(examples)}
    if args.json:
        print(json.dumps(stats, indent=1, ensure_ascii=False, default=str))
        return 0
    from rich.pretty import Pretty
    from rich.table import Table

    console = _console()
    console.print(Pretty(stats))
    if examples and args.rows > 0:
        table = Table(title=f"first {min(args.rows, len(examples))} rows")
        for col in ("id", "images", "problem", "answer", "annotations"):
            table.add_column(col, overflow="fold")
        for ex in examples[: args.rows]:
            table.add_row(
                ex.id,
                str(len(ex.images)),
                ex.problem[:200],
                ex.answer[:60],
                "\n".join(f"{k}. {a[:80]}" for k, a in enumerate(ex.visual_annotations, 1)),
            )
        console.print(table)
    return 0
