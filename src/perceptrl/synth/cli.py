"""``perceptrl synth``: write a synthetic data set in the canonical JSONL format and as
Perception-R1 (EasyR1) parquet."""

from __future__ import annotations

import argparse
import inspect
import logging
from dataclasses import dataclass, fields
from pathlib import Path

from perceptrl.config.options import add_flags, option
from perceptrl.errors import PerceptrlError
from perceptrl.synth.generate import DIFFICULTIES, KINDS, generate
from perceptrl.synth.writers import write_dataset

logger = logging.getLogger(__name__)


def _default(name: str):
    """The default of ``generate(name=...)``: the generator's signature is the one declaration."""
    return inspect.signature(generate).parameters[name].default


@dataclass
class SynthCommand:
    """Options of ``perceptrl synth`` (defaults: :func:`perceptrl.synth.generate`'s)."""

    n: int = option(2000, help="Number of problems.")
    out: str | None = option(None, help="Output folder.")
    seed: int = option(_default("seed"), help="Generation seed; same seed, same bytes.")
    kinds: str = option(",".join(_default("kinds")), help=f"Comma-separated kinds, cycled ({', '.join(KINDS)}).")
    difficulty: int = option(_default("difficulty"), help="1 = fewest objects and distractors.")
    image_size: int = option(_default("image_size"), help="Square image side in px, a multiple of 28.")
    choice_share: float = option(_default("choice_share"), help="Share of problems made multiple choice: four "
                                 "options, the gold answer a letter (0-1; 0: all open).")
    shortcut: float = option(_default("shortcut"), help="Share of problems whose three distractors are impossible "
                             "for the question, so the text alone gives the answer (0-1, at most --choice-share; "
                             "evaluate with 0). See docs/synth-world.md.")

    def __post_init__(self) -> None:
        self.check()

    def check(self) -> None:
        if self.n < 1:
            raise PerceptrlError(f"--n must be positive, got {self.n}", where="perceptrl synth --n", fix="pass --n 2000")
        for flag, x in (("--choice-share", self.choice_share), ("--shortcut", self.shortcut)):
            if not 0.0 <= x <= 1.0:  # also refuses nan
                raise PerceptrlError(f"{flag} must be a share between 0 and 1, got {x}",
                                     where=f"perceptrl synth {flag}", fix=f"pass {flag} 0.5 (half the problems)")
        if self.shortcut > self.choice_share:
            raise PerceptrlError(f"--shortcut {self.shortcut} is larger than --choice-share {self.choice_share}: "
                                 "shortcut problems are multiple choice", where="perceptrl synth --shortcut",
                                 fix=f"pass --choice-share 1 --shortcut {self.shortcut:g}")


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "synth",
        help="generate synthetic visual-reasoning problems (shapes with digits, bar charts, geometry)",
        description="Write N procedural problems with exact answers, visual annotations, boxes, captions and "
        "a gold chain of thought: DIR/synth.jsonl + DIR/images/ (canonical) and DIR/synth.parquet "
        "(Perception-R1 / EasyR1 schema). Example: perceptrl synth --n 2000 --out data/synth",
    )
    add_flags(p, SynthCommand, {n: None for n in (f.name for f in fields(SynthCommand))},
              extra={"out": {"required": True, "type": Path}, "difficulty": {"choices": DIFFICULTIES}})
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    opts = SynthCommand(**{f.name: getattr(args, f.name) for f in fields(SynthCommand)})
    kinds = tuple(k.strip() for k in opts.kinds.split(",") if k.strip())
    examples = generate(opts.n, seed=opts.seed, kinds=kinds, difficulty=opts.difficulty,
                        image_size=opts.image_size, choice_share=opts.choice_share, shortcut=opts.shortcut)
    paths = write_dataset(examples, args.out)
    for fmt, path in paths.items():
        print(f"wrote {len(examples)} problems ({fmt}): {path}")
    return 0
