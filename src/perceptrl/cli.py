"""``perceptrl`` — one entry point; each feature package contributes its own subcommands.

A feature registers by adding a line to ``COMMANDS`` (command name, module, one-line help); that
module defines ``register(subparsers)`` which adds the command's subparser with
``set_defaults(func=...)``.
``func(args) -> int`` is the exit code. User errors (:class:`PerceptrlError`) are printed without a
traceback and exit with status 2.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

from perceptrl.errors import PerceptrlError

#: command -> (module defining ``register(subparsers)``, one-line help shown by ``perceptrl --help``).
#: Only the module of the command being run is imported: feature packages pull in torch,
#: transformers or openai, and ``perceptrl --help`` should not wait for them.
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("perceptrl.demo.cli", "the offline end-to-end demo: synth -> tiny VLM -> GRPO with/without perception reward -> report"),
    "experiment": ("perceptrl.demo.experiment_cli", "every perception-aware method as an arm on the synthetic world, powered, with a report"),
    "synth": ("perceptrl.synth.cli", "write procedural visual-reasoning problems (canonical + Perception-R1 parquet)"),
    "data": ("perceptrl.data.cli", "validate, convert and inspect datasets"),
    "model": ("perceptrl.models.cli", "build or inspect vision-language models"),
    "annotate": ("perceptrl.annotate.cli", "visual annotations from verified chains of thought (Perception-R1 stage 1)"),
    "judge": ("perceptrl.judge.cli", "score (annotations, response) pairs with the perception judge"),
    "score": ("perceptrl.rewards.cli", "score a JSONL of responses with a (hybrid) reward"),
    "train": ("perceptrl.train.cli", "GRPO training of a VLM with perception rewards (and PAPO / VPPO / NoisyRollout)"),
    "eval": ("perceptrl.eval.cli", "evaluate a model on MathVista/MathVerse/MathVision/WeMath/Geo3k/synth"),
}


def _requested_command(argv: list[str]) -> str | None:
    """The first argument that names a command (options come before it)."""
    for arg in argv:
        if not arg.startswith("-"):
            return arg if arg in COMMANDS else None
    return None


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser for ``argv``: the requested command's module registers its full subparser;
    every other command appears with its one-line help only."""
    parser = argparse.ArgumentParser(
        prog="perceptrl",
        description="RL for vision-language models with verifiable and perception rewards.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    wanted = _requested_command(sys.argv[1:] if argv is None else argv)
    for name, (module, help_text) in COMMANDS.items():
        if name == wanted:
            importlib.import_module(module).register(sub)
        else:
            sub.add_parser(name, help=help_text, add_help=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser(argv)
    args, extra = parser.parse_known_args(argv)
    # KEY=VALUE overrides after a --section.key flag (argparse stops the positional list at a flag)
    if extra and isinstance(getattr(args, "overrides", None), list) and all("=" in e and not e.startswith("-")
                                                                            for e in extra):
        args.overrides.extend(extra)
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
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
    except BrokenPipeError:  # output piped into `head` & co.: stop quietly, as Unix tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
