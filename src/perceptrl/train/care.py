"""GRPO-CARE: consistency bonus from a slowly evolving (EMA) reference model, no KL
(Chen et al., arXiv 2506.16141; docs/methods.md).

An exponential moving average of the policy scores each rollout's *answer* given its own
reasoning: ``p_i = exp(mean log p_ref(answer tokens | image, question, reasoning))``. Within a
group, among the rollouts that are accurate (accuracy > 0.1 and at least the group's mean
accuracy), those whose ``p_i`` (capped at ``upper``) reaches the mean ``p`` of the accurate ones
minus ``margin`` are "consistent" and get ``coef * accuracy`` added to their reward before the
group normalisation. The bonus replaces the reference KL (beta = 0).

Pure functions here; :func:`apply_care` is the trainer hook.
"""

from __future__ import annotations

import copy
import logging
import os
from typing import Any

import torch

logger = logging.getLogger(__name__)

ANSWER_TAG = "<answer>"
REFERENCE_FILE = "care_reference.safetensors"  # in each checkpoint folder, so a resume keeps the EMA


def answer_token_mask(completion_ids: torch.Tensor, completion_mask: torch.Tensor, tokenizer,
                      tag: str = ANSWER_TAG) -> torch.Tensor:
    """``(B, T)`` mask of the completion tokens after the first ``tag`` (none when the tag is absent).

    The first token whose decoded prefix contains the whole tag is found by bisection over prefix
    lengths (O(log T) decodes per row), so a tag split over several tokens is still found.
    """
    out = torch.zeros_like(completion_mask, dtype=torch.bool)
    for i in range(completion_ids.size(0)):
        n = int(completion_mask[i].sum())
        ids = completion_ids[i, :n].tolist()
        if tag not in tokenizer.decode(ids, skip_special_tokens=False):
            continue
        lo, hi = 1, n  # smallest prefix length whose text contains the tag
        while lo < hi:
            mid = (lo + hi) // 2
            if tag in tokenizer.decode(ids[:mid], skip_special_tokens=False):
                hi = mid
            else:
                lo = mid + 1
        out[i, lo:n] = True
    return out


def answer_confidence(ref_logps: torch.Tensor, answer_mask: torch.Tensor) -> torch.Tensor:
    """``exp`` of the mean reference log-prob over each row's answer tokens (0 for a row without answer)."""
    m = answer_mask.to(ref_logps.dtype)
    n = m.sum(-1)
    mean = (ref_logps * m).sum(-1) / n.clamp(min=1.0)
    return torch.where(n > 0, mean.exp(), torch.zeros_like(mean))


def care_bonus(accuracy: torch.Tensor, confidence: torch.Tensor, num_generations: int, *, coef: float,
               upper: float | None, margin: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-rollout consistency bonus over consecutive groups of ``num_generations``; returns ``(bonus, consistent)``."""
    acc = accuracy.view(-1, num_generations)
    conf = confidence.view(-1, num_generations)
    if upper is not None:
        conf = conf.clamp(max=upper)
    accurate = (acc > 0.1) & (acc >= acc.mean(-1, keepdim=True))
    n_acc = accurate.sum(-1, keepdim=True)
    mean_conf = (conf * accurate).sum(-1, keepdim=True) / n_acc.clamp(min=1)
    consistent = accurate & (conf >= mean_conf - margin)
    bonus = coef * acc * consistent
    return bonus.reshape(-1), consistent.reshape(-1)


@torch.no_grad()
def ema_update(ref: torch.nn.Module, model: torch.nn.Module, decay: float) -> None:
    """``ref <- decay * ref + (1 - decay) * model``, parameter by parameter."""
    for p_ref, p in zip(ref.parameters(), model.parameters(), strict=True):
        p_ref.lerp_(p.detach().to(p_ref.dtype), 1.0 - decay)


def group_advantages(rewards: torch.Tensor, num_generations: int, scale: str) -> torch.Tensor:
    """TRL's ``sum_then_normalize`` advantages of summed rewards (``scale``: group | batch | none)."""
    from trl.trainer.utils import nanstd

    grouped = rewards.view(-1, num_generations)
    mean = torch.nanmean(grouped, dim=1).repeat_interleave(num_generations)
    adv = rewards - mean
    if scale == "group":
        adv = adv / (nanstd(grouped, dim=1).repeat_interleave(num_generations) + 1e-4)
    elif scale == "batch":
        adv = adv / (nanstd(rewards) + 1e-4)
    return torch.nan_to_num(adv, nan=0.0)


def check_care_supported(trainer) -> None:
    if trainer.is_deepspeed_enabled or trainer.is_fsdp_enabled:
        raise ValueError("method grpo_care keeps a full EMA copy of the policy; DeepSpeed/FSDP sharding is not "
                         "supported: train with DDP (or single process), or drop grpo_care")
    if trainer.multi_objective_aggregation != "sum_then_normalize":
        raise ValueError("method grpo_care adds its bonus to the summed reward: set "
                         "trl.multi_objective_aggregation=sum_then_normalize")
    if trainer.method.care_accuracy_reward not in trainer.reward_func_names:
        raise ValueError(f"method.care_accuracy_reward={trainer.method.care_accuracy_reward!r} is not one of the reward "
                         f"functions {trainer.reward_func_names}: name the accuracy term")


def apply_care(trainer, out: dict[str, Any], rewards_per_func: torch.Tensor) -> None:
    """Score the rollouts with the EMA reference, add the consistency bonus to the rewards and recompute
    the advantages (``rewards_per_func`` is TRL's, gathered over processes). Updates ``out`` in place."""
    m = trainer.method
    step = trainer.state.global_step
    if trainer._care_ref is None:
        trainer._care_ref = copy.deepcopy(trainer.accelerator.unwrap_model(trainer.model)).eval().requires_grad_(False)
        trainer._care_ref_step = step
        if trainer._care_resume and not load_reference(trainer, trainer._care_resume):
            logger.warning("GRPO-CARE: %s has no %s; the EMA reference restarts from the resumed policy",
                           trainer._care_resume, REFERENCE_FILE)
    elif step - trainer._care_ref_step >= m.care_ema_every:
        ema_update(trainer._care_ref, trainer.accelerator.unwrap_model(trainer.model), m.care_ema_decay)
        trainer._care_ref_step = step
    ref_logps = trainer._forward_logps(out, out.get("pixel_values"), model=trainer._care_ref)
    tok = getattr(trainer.processing_class, "tokenizer", trainer.processing_class)
    ans = answer_token_mask(out["completion_ids"], out["completion_mask"], tok)
    conf = trainer.accelerator.gather(answer_confidence(ref_logps, ans))
    idx = trainer.reward_func_names.index(m.care_accuracy_reward)
    acc = torch.nan_to_num(rewards_per_func[:, idx], nan=0.0).to(conf.device)
    bonus, consistent = care_bonus(acc, conf, trainer.num_generations, coef=m.care_bonus_coef,
                                   upper=m.care_confidence_upper, margin=m.care_margin)
    w = trainer.reward_weights.to(rewards_per_func.device)
    rewards = (rewards_per_func * w[None]).nansum(1).to(conf.device) + bonus
    adv = group_advantages(rewards, trainer.num_generations, trainer.scale_rewards)
    n = out["completion_ids"].size(0)
    rank = trainer.accelerator.process_index
    out["advantages"] = adv[rank * n:(rank + 1) * n].to(out["advantages"].dtype)
    trainer._metric("care/bonus_mean", bonus.mean())
    trainer._metric("care/consistent_share", consistent.float().mean())
    trainer._metric("care/answer_confidence", conf.mean())
    trainer._metric("care/answer_found_share", ans.any(-1).float().mean())


def save_reference(trainer, folder: str) -> None:
    """Write the EMA reference and the step of its last update into a checkpoint folder."""
    from safetensors.torch import save_model

    if trainer._care_ref is None:
        return
    os.makedirs(folder, exist_ok=True)
    save_model(trainer._care_ref, os.path.join(folder, REFERENCE_FILE), metadata={"step": str(trainer._care_ref_step)})


def load_reference(trainer, folder: str) -> bool:
    """Restore the EMA reference saved by :func:`save_reference`; False when the folder has none."""
    from safetensors import safe_open
    from safetensors.torch import load_model

    path = os.path.join(folder, REFERENCE_FILE)
    if not os.path.isfile(path):
        return False
    load_model(trainer._care_ref, path, device=str(next(trainer._care_ref.parameters()).device))
    with safe_open(path, framework="pt") as f:
        trainer._care_ref_step = int((f.metadata() or {}).get("step", trainer.state.global_step))
    return True
