"""Learning curves of a demo / experiment run: per seed, mean over seeds, and their plots (matplotlib)."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from pathlib import Path
from typing import Any

_PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#7f7f7f")


def curve(run, arm: str, seed: int, key: str) -> list[tuple[int, float]]:
    """Held-out ``key`` per evaluated step, starting with the warm-started model at step 0."""
    points = [(0, run.warm[seed]["eval"][key])]
    points += [(e["step"], e[key]) for e in run.arms[(seed, arm)]["evals"]]
    return points


def train_curve(run, arm: str, seed: int, key: str) -> list[tuple[int, float]]:
    return [(h["step"], h[key]) for h in run.arms[(seed, arm)]["log_history"] if key in h and "step" in h]


def mean_curve(curves: list[list[tuple[int, float]]]) -> list[tuple[int, float, float, float]]:
    """(step, mean, min, max) over seeds at the steps all seeds share."""
    steps = sorted(set.intersection(*(set(s for s, _ in c) for c in curves))) if curves else []
    out = []
    for st in steps:
        vals = [dict(c)[st] for c in curves]
        out.append((st, statistics.fmean(vals), min(vals), max(vals)))
    return out


def plot_curves(run, out: Path, summary: dict[str, Any], label: Callable[[str], str]) -> list[str]:
    """Five learning-curve plots (held-out answers, perception, format; training reward and accuracy) in ``out``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    seeds, arms = summary["seeds"], summary["arms"]
    colors = {a: _PALETTE[i % len(_PALETTE)] for i, a in enumerate(arms)}
    panels = [
        ("accuracy.png", "held-out answer accuracy", "accuracy", "eval"),
        ("perception.png", "held-out perception accuracy (facts stated correctly)", "perception", "eval"),
        ("format.png", "held-out strict-format rate", "format", "eval"),
        ("reward.png", "training reward per step (arms' totals differ in their terms)", "reward", "train"),
        ("train_accuracy.png", "training accuracy reward per step", "rewards/accuracy/mean", "train"),
    ]
    files = []
    for name, title, key, source in panels:
        fig, ax = plt.subplots(figsize=(6.4, 4.2))
        for arm in arms:
            getter = curve if source == "eval" else train_curve
            mc = mean_curve([getter(run, arm, s, key) for s in seeds])
            if not mc:
                continue
            xs = [m[0] for m in mc]
            ax.plot(xs, [m[1] for m in mc], marker="o" if source == "eval" else None, ms=3, color=colors[arm],
                    label=label(arm))
            if len(seeds) > 1 and source == "eval" and len(arms) <= 2:  # more bands than two only blur
                ax.fill_between(xs, [m[2] for m in mc], [m[3] for m in mc], color=colors[arm], alpha=0.1)
        ax.set_xlabel("GRPO step")
        ax.set_ylabel(key.split("/")[-2] if "/" in key else key)
        bands = source == "eval" and len(seeds) > 1 and len(arms) <= 2
        ax.set_title(title + ("\n(mean over seeds; band = min–max)" if bands else "\n(mean over seeds)"), fontsize=9)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(out / name, dpi=100)
        plt.close(fig)
        files.append(name)
    return files
