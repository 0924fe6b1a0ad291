"""``perceptrl model build-tiny``: build and save a tiny random-init VLM for offline runs."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from perceptrl.errors import PerceptrlError


def register(subparsers) -> None:
    from perceptrl.models.sizes import TINY_ARCHS, TinyVLMSize

    model = subparsers.add_parser("model", help="build or inspect vision-language models")
    model_sub = model.add_subparsers(dest="model_command", metavar="SUBCOMMAND", required=True)
    p = model_sub.add_parser(
        "build-tiny",
        help="build a tiny random-init Qwen2.5-VL / Qwen2-VL with a locally trained tokenizer",
        description="Build a tiny random-init VLM (a few M parameters) and save it with its image-only "
        "processor; load it back with `perceptrl.models.load_vlm(DIR)` or the transformers Auto classes.",
    )
    p.add_argument("--arch", choices=TINY_ARCHS, default="qwen2_5_vl", help="architecture (default: qwen2_5_vl)")
    p.add_argument("--out", required=True, type=Path, help="output directory (created; must be empty if it exists)")
    p.add_argument("--seed", type=int, default=0, help="weight initialisation seed (default: 0)")
    p.add_argument(
        "--corpus",
        type=Path,
        action="append",
        default=[],
        help="text file(s) added to the tokenizer's training corpus, one document per line (repeatable)",
    )
    for f in dataclasses.fields(TinyVLMSize):
        p.add_argument(f"--{f.name.replace('_', '-')}", type=int, default=None, help=f"default: {f.default}")
    p.set_defaults(func=_build_tiny)


def _build_tiny(args: argparse.Namespace) -> int:
    from perceptrl.models.sizes import TinyVLMSize
    from perceptrl.models.tiny import build_tiny_vlm

    out: Path = args.out
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise PerceptrlError(
            f"output path {out} exists and is not an empty directory",
            where="--out",
            fix="choose a new directory, or delete the existing one first",
        )
    corpus: list[str] = []
    for path in args.corpus:
        try:
            corpus.extend(line for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
        except (OSError, UnicodeDecodeError) as e:
            raise PerceptrlError(
                f"cannot read corpus file: {e}", where=f"--corpus {path}", fix="pass a readable UTF-8 text file"
            ) from e
    size = {
        f.name: getattr(args, f.name) for f in dataclasses.fields(TinyVLMSize) if getattr(args, f.name) is not None
    }
    model, processor = build_tiny_vlm(args.arch, out_dir=out, seed=args.seed, extra_corpus=corpus, **size)
    n_params = sum(p.numel() for p in model.parameters())
    print(
        f"saved tiny {args.arch} to {out}: {n_params / 1e6:.2f}M parameters, vocabulary {len(processor.tokenizer)}"
    )
    return 0
