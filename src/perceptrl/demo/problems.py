"""The problems of one seed: its training set and its held-out set (regenerated, never stored)."""

from __future__ import annotations

from perceptrl.demo.config import DemoConfig

EVAL_SEED_OFFSET = 1_000_003  # held-out problems come from a generator seed no training seed uses


def problems(cfg: DemoConfig, seed: int):
    """``(train, held_out)`` for ``seed``: the same share of multiple choice in both, the shortcut in
    training only (on held-out problems it would measure the text prior, not reading)."""
    from perceptrl.synth import generate

    train = generate(cfg.n_train, seed=seed, kinds=cfg.kinds, difficulty=cfg.difficulty,
                     choice_share=cfg.choice_share, shortcut=cfg.shortcut)
    held_out = generate(cfg.n_eval, seed=seed + EVAL_SEED_OFFSET, kinds=cfg.kinds, difficulty=cfg.difficulty,
                        choice_share=cfg.choice_share, shortcut=0.0)
    return train, held_out
