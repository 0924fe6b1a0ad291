"""``perceptrl train``: every recipe option is a flag listed by ``--help``, and a flag is the same override
as ``section.key=value``."""

import dataclasses
from pathlib import Path

import pytest

from perceptrl.cli import build_parser, main
from perceptrl.config.options import render_default, section_overrides
from perceptrl.train.config import SECTIONS, TRL_DEFAULTS, load_train_config

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def test_help_lists_every_section_option_with_its_default(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    for section, cls in SECTIONS.items():
        for f in dataclasses.fields(cls):
            assert f"--{section}.{f.name} VALUE" in out, (section, f.name)
    assert "--trl.learning_rate VALUE" in out and "--trl.num_generations VALUE" in out
    assert "Requests in flight at once (openai)" in out  # the field's help text
    assert f"(default: {render_default(TRL_DEFAULTS['logging_steps'])})" in out.split("--trl.logging_steps")[1][:400]


def test_flags_are_overrides():
    argv = ["train", str(CONFIGS / "demo_cpu.yaml"), "trl.max_steps=3", "--method.name", "papo",
            "--judge.max_concurrency", "5", "--rewards.exclude", "[perception]", "--trl.save_strategy", "no"]
    args = build_parser(argv).parse_args(argv)
    cfg = load_train_config(args.config, list(args.overrides) + section_overrides(args))
    assert cfg.method.name == "papo" and cfg.judge.max_concurrency == 5 and cfg.rewards.exclude == ["perception"]
    assert cfg.trl["max_steps"] == 3 and cfg.trl["save_strategy"] == "no"
    assert {"method.name", "judge.max_concurrency", "trl.max_steps"} <= cfg.explicit


def test_bad_flag_value_names_the_key(capsys):
    rc = main(["train", str(CONFIGS / "demo_cpu.yaml"), "--model.lora_r", "many"])
    err = capsys.readouterr().err
    assert rc == 2 and "model.lora_r" in err and "Traceback" not in err



def test_overrides_may_follow_flags(capsys):
    """A KEY=VALUE after a --section.key flag still reaches the config (here: its typo is named)."""
    rc = main(["train", str(CONFIGS / "demo_cpu.yaml"), "--model.lora_r", "3", "trl.max_stepz=2"])
    err = capsys.readouterr().err
    assert rc == 2 and "trl.max_stepz" in err and "max_steps" in err
