"""``perceptrl train CONFIG.yaml [section.key=value ...] [--resume]``."""

from __future__ import annotations

import argparse


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "train",
        help="GRPO training of a VLM with perception rewards (and PAPO / VPPO / NoisyRollout)",
        description=(
            "Train with TRL's GRPOTrainer from a YAML recipe (configs/*.yaml). Overrides use dotted keys, "
            "values parsed as YAML, e.g. `trl.max_steps=10 method.name=papo model.lora_r=64`. "
            "Multi-GPU / multi-node: `accelerate launch --config_file configs/accelerate/<file> "
            "-m perceptrl train CONFIG.yaml` (see docs/training.md)."
        ),
    )
    p.add_argument("config", help="YAML recipe, e.g. configs/perception_r1.yaml")
    p.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="overrides such as trl.max_steps=4")
    p.add_argument("--resume", action="store_true",
                   help="continue from the last checkpoint in trl.output_dir (same data order and RNG state)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from perceptrl.train import load_train_config, train

    cfg = load_train_config(args.config, overrides=args.overrides)
    result = train(cfg, resume=args.resume)
    if result.is_main_process:
        print(f"model saved to {result.output_dir}")
    return 0
