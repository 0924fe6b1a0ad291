"""The run summary printed before step 1: model, rewards, judge, method settings, batch and expected steps."""

from __future__ import annotations

import math
from typing import Any

from perceptrl.train.config import TrainConfig


def build_summary(cfg: TrainConfig, args: Any, model: Any, n_rows: int, setup: Any) -> dict[str, Any]:
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    world = args.world_size
    rollouts_per_step = args.per_device_train_batch_size * world * args.gradient_accumulation_steps
    prompts_per_step = rollouts_per_step / args.num_generations
    if args.max_steps and args.max_steps > 0:
        steps = args.max_steps
    else:
        prompts = args.generation_batch_size // args.num_generations  # TRL drops an incomplete last batch
        used = (n_rows // prompts) * prompts
        steps = math.ceil(used * args.num_generations * args.num_iterations * args.num_train_epochs / rollouts_per_step)
    m = cfg.method
    method = m.name
    if m.needs_masked_pass:
        method += f" (mask p={m.effective_mask_prob()}"
        if "papo" in m.parts:
            method += f", gamma={m.papo_gamma}, eta_o={m.papo_eta_o}, eta_m={m.papo_eta_m}"
        if "vppo" in m.parts:
            method += f", k={m.vppo_k}, beta_min={m.vppo_beta_min}"
        method += ")"
    if m.parts & {"noisy_rollout", "vogue"}:
        method += f" (noise step {m.noise_step}/1000, {m.noise_schedule} annealing, share {m.noise_share})"
    if "vogue" in m.parts:
        method += f" (VOGUE alpha {m.vogue_alpha}, cap {m.vogue_bonus_max}, entropy {m.vogue_entropy_coef})"
    if "grpo_care" in m.parts:
        method += (f" (CARE: EMA {m.care_ema_decay} every {m.care_ema_every} steps, bonus {m.care_bonus_coef}, "
                   f"cap {m.care_confidence_upper}, margin {m.care_margin})")
    return {
        "model": getattr(model.config, "_name_or_path", "") or cfg.model.name_or_path or type(model).__name__,
        "parameters": f"{total / 1e6:.2f}M total, {trainable / 1e6:.2f}M trainable",
        "rows": n_rows,
        "rewards": setup.description or ", ".join(f"{n}×{w:g}" for n, w in zip(setup.names, setup.weights, strict=False)),
        "judge": setup.judge_summary,
        "method": method,
        "loss": f"{args.loss_type}, clip {args.epsilon}/{args.epsilon_high or args.epsilon}, beta {args.beta}",
        "effective batch": f"{rollouts_per_step} rollouts = {prompts_per_step:g} prompts × {args.num_generations} "
                           f"({world} process(es) × {args.per_device_train_batch_size} × {args.gradient_accumulation_steps} accum)",
        "expected steps": steps,
        "output": args.output_dir,
    }


def print_summary(summary: dict[str, Any]) -> None:
    width = max(len(k) for k in summary)
    lines = ["perceptrl train"] + [f"  {k.ljust(width)}  {v}" for k, v in summary.items()]
    print("\n".join(lines), flush=True)


def record_mixture(mixture: Any, summary: dict[str, Any], output_dir: str, *, main: bool, resume: bool) -> None:
    """The mixture on the summary and in ``mixture.json`` (a resume with another mixture is refused)."""
    from perceptrl.train.mixture import record_or_check

    summary["data mixture"] = ", ".join(f"{n} ({k} rows) {w:g}->{we:g}" for n, k, w, we in
                                        zip(mixture.names, mixture.sizes, mixture.weights, mixture.weights_end))
    if main:
        record_or_check(mixture, output_dir, resume=resume)
