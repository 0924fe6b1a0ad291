"""``perceptrl demo``: the offline end-to-end demo (synthetic world, tiny VLM, SFT, GRPO with and
without the perception reward, held-out evaluation, report)."""

from __future__ import annotations

import argparse
from pathlib import Path

from perceptrl.errors import PerceptrlError


def add_run_options(p: argparse.ArgumentParser, *, default_out: str, seeds_help: str) -> None:
    """The options ``perceptrl demo`` and ``perceptrl experiment`` share (one declaration)."""
    p.add_argument("--quick", action="store_true", help="one seed, few steps (<= 90 s): a smoke run")
    p.add_argument("--seeds", type=int, default=None, help=seeds_help)
    p.add_argument("--out", type=Path, default=Path(default_out), help=f"report folder (default {default_out})")
    p.add_argument("--workers", type=int, default=None, help="worker processes, one torch thread each (default 2)")
    p.add_argument("--grpo-steps", type=int, default=None, help="GRPO steps per arm (default: the preset's)")
    p.add_argument("--perception-weight", type=float, default=None,
                   help="weight of the perception reward in the perception arms (default 0.7, Perception-R1)")
    p.add_argument("--arms", default=None, metavar="A,B,...",
                   help="comma-separated arms, the first is the baseline (choose from: "
                        "grpo, perception_r1, papo, vppo, noisy_rollout, perception_r1+papo, perception_gate)")
    p.add_argument("--set", dest="settings", action="append", default=[], metavar="KEY=VALUE",
                   help="any DemoConfig field, value parsed as YAML (repeatable), e.g. --set sft_steps=200")
    p.add_argument("--restart", action="store_true",
                   help="discard finished jobs in --out instead of resuming them (default: resume)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "demo",
        help="offline end-to-end demo: does the perception reward help? (tiny VLM, synthetic problems, CPU)",
        description="Synthetic problems -> tiny Qwen2.5-VL -> SFT warm start -> GRPO with accuracy + format "
        "(arm A) vs the same + the perception reward (arm B) -> held-out evaluation -> OUT/report.md and "
        "PNG plots. Offline; <= 10 min on 2 CPU cores (--quick: <= 90 s). "
        "Example: perceptrl demo --quick --out runs/demo-quick",
    )
    add_run_options(p, default_out="runs/demo", seeds_help="number of seeds (default: the preset's; --quick: 1)")
    p.set_defaults(func=_run)


def _parse_settings(items: list[str]) -> dict:
    import dataclasses

    import yaml

    from perceptrl.demo.config import DemoConfig

    known = {f.name for f in dataclasses.fields(DemoConfig)}
    defaults = DemoConfig().as_dict()
    defaults["kinds"] = tuple(defaults["kinds"])
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or key not in known:
            import difflib

            close = difflib.get_close_matches(key, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise PerceptrlError(f"bad --set {item!r}{hint}", where="perceptrl demo --set",
                                 fix=f"write KEY=VALUE with KEY one of {', '.join(sorted(known))}")
        default = defaults[key]
        try:
            parsed = yaml.safe_load(value)
            if isinstance(default, tuple):
                parsed = tuple(parsed) if isinstance(parsed, list) else (parsed,)
            elif isinstance(default, bool) or not isinstance(default, (int, float)):
                pass
            elif isinstance(default, float) or isinstance(parsed, str):
                parsed = type(default)(parsed)  # YAML 1.1 reads 5e-4 as a string
        except (ValueError, TypeError, yaml.YAMLError):
            raise PerceptrlError(f"bad value in --set {item!r}", where="perceptrl demo --set",
                                 fix=f"{key} takes a {type(default).__name__}, e.g. {key}={default!r}") from None
        out[key] = parsed
    return out


def config_from_args(args: argparse.Namespace, preset: str = "demo"):
    """The run's :class:`DemoConfig`: the preset, then the flags, then ``--set`` (checked before any work)."""
    from perceptrl.demo.config import DemoConfig

    overrides = {k: v for k, v in (("seeds", args.seeds), ("workers", args.workers),
                                   ("grpo_steps", args.grpo_steps),
                                   ("perception_weight", args.perception_weight)) if v is not None}
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
