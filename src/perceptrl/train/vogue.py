"""VOGUE: visual-uncertainty-guided exploration (Liu et al., arXiv 2510.01444; docs/methods.md).

The image is treated as a stochastic context: each rollout of the noisy branch (NoisyRollout's
noised image, :mod:`.noise`) is scored by the policy twice, with the raw and with the noised
image, and the divergence between the two token distributions measures how sensitive the policy
is to a plausible visual perturbation. That visual uncertainty becomes a bonus on the noisy
branch's advantage; a token-entropy bonus is added to the loss.

The paper uses the symmetric KL of the two next-token distributions. We estimate it on the
sampled tokens, from the per-token log-probs the trainer's forward already returns (no
``(B, T, V)`` logits are kept): with ``d = logp_noisy - logp_raw`` the k3 estimates of the two
directions are ``exp(d) - d - 1`` and ``exp(-d) + d - 1``, whose mean is ``cosh(d) - 1`` (>= 0,
0 iff the two branches agree on the token). This estimator is our choice.
"""

from __future__ import annotations

import torch


def vogue_token_uncertainty(logp_noisy: torch.Tensor, logp_raw: torch.Tensor, u_max: float = 10.0) -> torch.Tensor:
    """Per-token visual uncertainty ``min(cosh(d) - 1, u_max)``, ``d = logp_noisy - logp_raw`` (``(B, T)``)."""
    return (torch.cosh(logp_noisy - logp_raw) - 1.0).clamp(min=0.0, max=u_max)


def vogue_bonus(
    u: torch.Tensor,
    mask: torch.Tensor,
    noisy: torch.Tensor,
    *,
    alpha: float,
    bonus_max: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Advantage bonus ``min(alpha * U_i, bonus_max)`` for the noisy-branch rollouts, 0 for the raw ones.

    ``U_i`` is the mean token uncertainty of response ``i`` over its completion tokens; ``noisy``
    is a ``(B,)`` bool tensor. Returns ``(bonus, U)``, both ``(B,)``.
    """
    fmask = mask.to(u.dtype)
    seq_u = (u * fmask).sum(-1) / fmask.sum(-1).clamp(min=1.0)
    bonus = (alpha * seq_u).clamp(max=bonus_max) * noisy.to(u.dtype)
    return bonus, seq_u


def add_sequence_bonus(advantages: torch.Tensor, bonus: torch.Tensor) -> torch.Tensor:
    """``advantages`` (``(B,)`` or token-level ``(B, T)``) plus a per-sequence ``bonus``."""
    bonus = bonus.to(advantages.dtype)
    return advantages + (bonus[:, None] if advantages.dim() == 2 else bonus)
