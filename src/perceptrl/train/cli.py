"""``perceptrl train CONFIG.yaml [section.key=value ...] [--section.key VALUE ...] [--resume]``.

Every recipe option is listed by ``perceptrl train --help``, built from the section dataclasses of
:mod:`perceptrl.train.config` (their defaults and help texts); ``--model.lora_r 64`` and
``model.lora_r=64`` are the same override.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from perceptrl.config.options import option


@dataclass
class TrainCommand:
    """Options of ``perceptrl train`` besides the recipe's."""

    resume: bool = option(False, help="Continue from the last checkpoint in trl.output_dir (same data order and "
                          "RNG state).")

#: section -> help-group title shown by ``perceptrl train --help``.
TITLES = {
    "model": "the policy (perceptrl.train.config.ModelConfig)",
    "data": "the training set (DataConfig)",
    "rewards": "rewards and the reward runner (RewardsConfig)",
    "judge": "the perception judge (perceptrl.judge.JudgeConfig; used with a perception term)",
    "method": "PAPO / VPPO / NoisyRollout (MethodConfig)",
}


def register(subparsers) -> None:
    from perceptrl.config.options import add_flags, add_section_flags
    from perceptrl.train.config import SECTIONS

    p = subparsers.add_parser(
        "train",
        help="GRPO training of a VLM with perception rewards (and PAPO / VPPO / NoisyRollout)",
        usage="perceptrl train [-h] [--resume] CONFIG.yaml [KEY=VALUE ...] [--SECTION.KEY VALUE ...]",
        description=(
            "Train with TRL's GRPOTrainer from a YAML recipe (configs/*.yaml). Overrides use dotted keys, "
            "values parsed as YAML, e.g. `trl.max_steps=10 method.name=papo model.lora_r=64`, or the flags "
            "below (`--model.lora_r 64`). Section `trl` takes any field of TRL's GRPOConfig "
            "(`trl.learning_rate=1e-6`, `trl.num_generations=8`; TRL's defaults apply, keys are checked "
            "against GRPOConfig). Multi-GPU / multi-node: `accelerate launch --config_file "
            "configs/accelerate/<file> -m perceptrl train CONFIG.yaml` (see docs/training.md)."
        ),
    )
    p.add_argument("config", help="YAML recipe, e.g. configs/perception_r1.yaml")
    p.add_argument("overrides", nargs="*", metavar="KEY=VALUE",
                   help="overrides such as trl.max_steps=4 (any section.key below, or trl.<GRPOConfig field>)")
    add_flags(p, TrainCommand, {"resume": None}, extra={"resume": {"action": "store_true"}})
    for section, cls in SECTIONS.items():
        add_section_flags(p, section, cls, TITLES.get(section, cls.__name__))
    from trl import GRPOConfig

    from perceptrl.train.config import TRL_DEFAULTS

    add_section_flags(p, "trl", GRPOConfig, "TRL's GRPOConfig (its own help texts; perceptrl sets "
                      + ", ".join(TRL_DEFAULTS) + ")", defaults=TRL_DEFAULTS)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from perceptrl.config.options import section_overrides
    from perceptrl.train import load_train_config, train

    cfg = load_train_config(args.config, overrides=list(args.overrides) + section_overrides(args))
    result = train(cfg, resume=args.resume)
    if result.is_main_process:
        print(f"model saved to {result.output_dir}")
    return 0
