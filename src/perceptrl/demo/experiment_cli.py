"""``perceptrl experiment``: every perception-aware method as an arm, on the synthetic world, sized for power.

The same machinery as ``perceptrl demo`` (one warm start per seed, one job per arm, resumable per
job, one report) with the experiment preset of :meth:`perceptrl.demo.config.DemoConfig.preset`:
all arms of :data:`perceptrl.demo.arms.ARMS`, more seeds and the held-out size the power
calculation of docs/demo.md gives. See docs/demo.md, "The experiment".
"""

from __future__ import annotations

import argparse

from perceptrl.demo.cli import add_run_options, config_from_args, run_and_report

TITLE = "# perceptrl experiment: which perception-aware method helps a tiny VLM, and does RL itself work?"


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "experiment",
        help="every method as an arm (GRPO, Perception-R1, PAPO, VPPO, NoisyRollout, Perception-R1+PAPO, perception gate, VOGUE, GRPO-CARE), "
        "powered, offline",
        description="Synthetic problems -> tiny Qwen2.5-VL -> one SFT warm start per seed -> one GRPO job per arm "
        "(same warm start, steps and problems) -> held-out evaluation -> OUT/report.md (table with 95% intervals, "
        "McNemar p vs GRPO, minimum detectable effect, steps to GRPO's final accuracy, verdict), results.json "
        "(every per-item result) and learning-curve plots. Resumable: rerun the same command to finish an "
        "interrupted run. Example: perceptrl experiment --out runs/experiment",
    )
    add_run_options(p, command="experiment")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    return run_and_report(args, config_from_args(args, "experiment"), command="experiment", title=TITLE)
