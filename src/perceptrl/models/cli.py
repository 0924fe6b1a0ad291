"""``perceptrl model build-tiny``: build and save a tiny random-init VLM for offline runs."""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass
from pathlib import Path

from perceptrl.config.options import add_flag, add_flags, option
from perceptrl.errors import PerceptrlError


@dataclass
class BuildTinyCommand:
    """Options of ``perceptrl model build-tiny`` besides the sizes (:class:`TinyVLMSize`)."""

    arch: str = option("qwen2_5_vl", help="Architecture (config.model_type) of the tiny VLM.")
    out: str | None = option(None, help="Output directory (created; must be empty if it exists).")
    seed: int = option(0, help="Weight initialisation seed.")
    corpus: list[str] = option(default_factory=list, help="Text file(s) added to the tokenizer's training corpus, "
                               "one document per line (repeatable).")


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
    add_flags(p, BuildTinyCommand, {"arch": None, "out": None, "seed": None, "corpus": None},
              extra={"arch": {"choices": TINY_ARCHS}, "out": {"required": True, "type": Path},
                     "corpus": {"type": Path, "action": "append"}})
    for f in dataclasses.fields(TinyVLMSize):  # left out: TinyVLMSize's default, listed in the help
        add_flag(p, TinyVLMSize, f.name, dest=f.name, default=None, type=int,
                 help_extra=f"Left out: {f.default}.")
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
