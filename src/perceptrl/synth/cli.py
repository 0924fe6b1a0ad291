"""``perceptrl synth``: write a synthetic data set in the canonical JSONL format and as
Perception-R1 (EasyR1) parquet."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from perceptrl.errors import PerceptrlError
from perceptrl.synth.generate import DEFAULT_IMAGE_SIZE, DIFFICULTIES, KINDS, generate
from perceptrl.synth.writers import write_dataset

logger = logging.getLogger(__name__)


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "synth",
        help="generate synthetic visual-reasoning problems (shapes with digits, bar charts, geometry)",
        description="Write N procedural problems with exact answers, visual annotations, boxes, captions and "
        "a gold chain of thought: DIR/synth.jsonl + DIR/images/ (canonical) and DIR/synth.parquet "
        "(Perception-R1 / EasyR1 schema). Example: perceptrl synth --n 2000 --out data/synth",
    )
    p.add_argument("--n", type=int, default=2000, help="number of problems (default 2000)")
    p.add_argument("--out", required=True, type=Path, help="output folder")
    p.add_argument("--seed", type=int, default=0, help="generation seed (default 0); same seed, same bytes")
    p.add_argument("--kinds", default=",".join(KINDS),
                   help=f"comma-separated kinds, cycled (default {','.join(KINDS)})")
    p.add_argument("--difficulty", type=int, default=1, choices=DIFFICULTIES,
                   help="1 = fewest objects and distractors (default 1)")
    p.add_argument("--image-size", type=int, default=DEFAULT_IMAGE_SIZE,
                   help=f"square image side in px, a multiple of 28 (default {DEFAULT_IMAGE_SIZE})")
    p.add_argument("--choice-share", type=float, default=0.0,
                   help="share of problems made multiple choice: four options, the gold answer a letter "
                   "(0-1, default 0: all open)")
    p.add_argument("--shortcut", type=float, default=0.0,
                   help="share of problems whose three distractors are impossible for the question, so the "
                   "text alone gives the answer (0-1, at most --choice-share; default 0; evaluate with 0). "
                   "See docs/synth-world.md")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.n < 1:
        raise PerceptrlError(f"--n must be positive, got {args.n}", where="perceptrl synth --n", fix="pass --n 2000")
    for flag, x in (("--choice-share", args.choice_share), ("--shortcut", args.shortcut)):
        if not 0.0 <= x <= 1.0:  # also refuses nan
            raise PerceptrlError(f"{flag} must be a share between 0 and 1, got {x}", where=f"perceptrl synth {flag}",
                                 fix=f"pass {flag} 0.5 (half the problems)")
    if args.shortcut > args.choice_share:
        raise PerceptrlError(f"--shortcut {args.shortcut} is larger than --choice-share {args.choice_share}: "
                             "shortcut problems are multiple choice", where="perceptrl synth --shortcut",
                             fix=f"pass --choice-share 1 --shortcut {args.shortcut:g}")
    kinds = tuple(k.strip() for k in args.kinds.split(",") if k.strip())
    examples = generate(args.n, seed=args.seed, kinds=kinds, difficulty=args.difficulty,
                        image_size=args.image_size, choice_share=args.choice_share, shortcut=args.shortcut)
    paths = write_dataset(examples, args.out)
    for fmt, path in paths.items():
        print(f"wrote {len(examples)} problems ({fmt}): {path}")
    return 0
