"""``perceptrl demo``: the offline end-to-end demo (synthetic world, tiny VLM, SFT, GRPO with and
without the perception reward, held-out evaluation, report)."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from perceptrl.config.options import add_flag, add_flags, option
from perceptrl.demo.config import DemoConfig
from perceptrl.errors import PerceptrlError


@dataclass
class DemoCommand:
    """Options of ``perceptrl demo`` / ``perceptrl experiment`` besides the :class:`DemoConfig` knobs."""

    quick: bool = option(False, help="One seed, few steps (<= 90 s): a smoke run; its numbers mean nothing.")
    out: str | None = option(None, help="Report folder; null: runs/<command> (runs/demo, runs/experiment).")
    settings: list[str] = option(default_factory=list, help="Any DemoConfig field as KEY=VALUE, value parsed as "
                                 "YAML (repeatable), e.g. --set sft_steps=200.")
    restart: bool = option(False, help="Discard finished jobs in --out instead of resuming them.")
    no_progress: bool = option(False, help="No progress bar.")


#: DemoConfig knobs with their own flag; left out, each keeps the preset's value.
PRESET_FLAGS = ("seeds", "workers", "grpo_steps", "perception_weight")


def add_run_options(p: argparse.ArgumentParser, *, command: str) -> None:
    """The options ``perceptrl demo`` and ``perceptrl experiment`` share (one declaration)."""
    from perceptrl.demo.arms import ARMS

    add_flags(p, DemoCommand, {"quick": None}, extra={"quick": {"action": "store_true"}})
    add_flag(p, DemoConfig, "seeds", default=None, help_extra="Left out: the preset's (--quick: 1).")
    add_flag(p, DemoCommand, "out", dest="out", type=Path, default=Path("runs") / command,
             help_extra=f"Left out: runs/{command}.")
    for name in PRESET_FLAGS[1:]:
        add_flag(p, DemoConfig, name, dest=name, default=None, help_extra="Left out: the preset's.")
    add_flag(p, DemoConfig, "arms", dest="arms", default=None, metavar="A,B,...",
             help_extra=f"Left out: the preset's. Comma-separated here (choose from: {', '.join(ARMS)}).")
    add_flag(p, DemoCommand, "settings", "--set", dest="settings", action="append", metavar="KEY=VALUE")
    add_flags(p, DemoCommand, {"restart": None, "no_progress": None},
              extra={"restart": {"action": "store_true"}, "no_progress": {"action": "store_true"}})


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "demo",
        help="offline end-to-end demo: does the perception reward help? (tiny VLM, synthetic problems, CPU)",
        description="Synthetic problems -> tiny Qwen2.5-VL -> SFT warm start -> GRPO with accuracy + format "
        "(arm A) vs the same + the perception reward (arm B) -> held-out evaluation -> OUT/report.md and "
        "PNG plots. Offline; <= 10 min on 2 CPU cores (--quick: <= 90 s). "
        "Example: perceptrl demo --quick --out runs/demo-quick",
    )
    add_run_options(p, command="demo")
    p.set_defaults(func=_run)


def _parse_settings(items: list[str]) -> dict:
    """``--set KEY=VALUE`` items -> ``{field: value}`` converted to the DemoConfig field's type by
    OmegaConf (a scalar given for a tuple field is a one-element tuple)."""
    import dataclasses
    import difflib

    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    from perceptrl.config.recipe import yaml_load

    known = {f.name: f for f in dataclasses.fields(DemoConfig)}
    schema = OmegaConf.structured(DemoConfig)
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise PerceptrlError(f"bad --set {item!r}{hint}", where="perceptrl demo --set",
                                 fix=f"write KEY=VALUE with KEY one of {', '.join(sorted(known))}")
        parsed = yaml_load(value)
        is_tuple = isinstance(getattr(DemoConfig, key, None), tuple)
        if is_tuple and not isinstance(parsed, list):
            parsed = [parsed]
        try:
            node = OmegaConf.merge(schema, {key: parsed})
        except OmegaConfBaseException:
            default = getattr(DemoConfig(), key)
            raise PerceptrlError(f"bad value in --set {item!r}", where="perceptrl demo --set",
                                 fix=f"{key} takes a {type(default).__name__}, e.g. {key}={default!r}") from None
        value = OmegaConf.to_container(node)[key]
        out[key] = tuple(value) if is_tuple else value
    return out


def config_from_args(args: argparse.Namespace, preset: str = "demo"):
    """The run's :class:`DemoConfig`: the preset, then the flags, then ``--set`` (checked before any work)."""
    overrides = {k: getattr(args, k) for k in PRESET_FLAGS if getattr(args, k) is not None}
    if args.arms is not None:
        overrides["arms"] = tuple(a.strip() for a in args.arms.split(",") if a.strip())
    overrides.update(_parse_settings(args.settings))
    cfg = DemoConfig.preset(preset, quick=args.quick, **overrides)
    cfg.check()  # bad numbers fail here, before anything is loaded
    return cfg


def run_and_report(args: argparse.Namespace, cfg, *, command: str, title: str | None = None) -> int:
    from perceptrl.demo.run import check_output_dir, run_demo

    check_output_dir(args.out)
    run = run_demo(cfg, args.out, show_progress=not args.no_progress, resume=not args.restart,
                   desc=f"perceptrl {command}", title=title)
    report = Path(run.out_dir) / "report.md"
    from perceptrl.demo.report import summarize, verdict

    print(f"\n{verdict(summarize(run))}\nreport: {report} ({run.seconds:.0f} s)")
    if not report.is_file():
        raise PerceptrlError(f"the {command} finished but wrote no report", where=str(report), fix="rerun with -v")
    return 0


def _run(args: argparse.Namespace) -> int:
    return run_and_report(args, config_from_args(args, "demo"), command="demo")
