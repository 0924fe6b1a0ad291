"""The settings section of a demo / experiment report, written from the run's DemoConfig."""

from __future__ import annotations


def settings_lines(cfg) -> list[str]:
    """The report's "Settings" section: the warm start, GRPO and rewards of the run in words."""
    lines: list[str] = []
    lines += [
        "",
        "## Settings",
        "",
        f"- SFT warm start: {cfg.sft_steps} steps × {cfg.sft_batch_size} problems, lr {cfg.sft_learning_rate:g} "
        "(TRL SFTTrainer, completion-only loss on the synthetic chains of thought).",
        f"- GRPO: {cfg.grpo_steps} steps × {cfg.prompts_per_step} prompts × {cfg.num_generations} rollouts, "
        f"lr {cfg.grpo_learning_rate:g}, temperature {cfg.temperature:g}, max {cfg.max_completion_length} tokens, "
        f"{_kl(cfg)}{_frozen(cfg)}, DAPO token-mean loss, clip 0.2/0.3; held-out evaluation every {cfg.eval_every} steps.",
        f"- Rewards: 0.9·accuracy + 0.1·format(strict) + repetition penalty; arms with perception add "
        f"{cfg.perception_weight:g}·perception (rules judge). Prompt template: {cfg.template}.",
        "- Full settings: `config.json`; raw numbers and every per-item final result: `results.json`; per-job "
        "logs and weights: `runs/seed-*/`.",
    ]
    if getattr(cfg, "teacher_bias", 0) > 0:
        from perceptrl.synth.draw import COLORS
        from perceptrl.synth.teacher import BIASED_COLORS

        colors = list(getattr(cfg, "teacher_colors", BIASED_COLORS))
        which = "every chart" if set(colors) == set(COLORS) else f"each {'/'.join(colors)} chart"
        lines.insert(4, f"- Warm-start teacher: misreads {which} with probability {cfg.teacher_bias:g} "
                        "(every bar one unit high, carried through; perceptrl.synth.teacher); verifier, annotations "
                        "and held-out set are the gold.")
    return lines


def _kl(cfg) -> str:
    beta = getattr(cfg, "kl_beta", 0.0)
    return f"KL β {beta:g} to the warm start" if beta else "no KL (Perception-R1)"


def _frozen(cfg) -> str:
    return ", vision encoder frozen" if getattr(cfg, "freeze_vision", False) else ""
