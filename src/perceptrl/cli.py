"""``perceptrl`` — one entry point; each feature package contributes its own subcommands.

A feature registers by adding its module to ``COMMAND_MODULES``; that module defines
``register(subparsers)`` which adds one or more subparsers, each with ``set_defaults(func=...)``.
``func(args) -> int`` is the exit code. User errors (:class:`PerceptrlError`) are printed without a
traceback and exit with status 2.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from perceptrl.errors import PerceptrlError

COMMAND_MODULES: list[str] = [
    # one line per feature package, e.g. "perceptrl.data.cli",
    "perceptrl.data.cli",
    "perceptrl.synth.cli",
    "perceptrl.models.cli",
    "perceptrl.eval.cli",
    "perceptrl.train.cli",
    "perceptrl.judge.cli",
    "perceptrl.annotate.cli",
    "perceptrl.rewards.cli",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="perceptrl",
        description="RL for vision-language models with verifiable and perception rewards.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not getattr(args, "func", None):
        parser.print_help()
        return 1
    try:
        return int(args.func(args) or 0)
    except PerceptrlError as e:
        print(f"error: {e.render()}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
