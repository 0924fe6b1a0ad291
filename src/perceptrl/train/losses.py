"""Pure tensor functions of the perception-aware methods (docs/methods.md §3).

All tensors are ``(B, T)`` over completion tokens with a ``mask`` (1 = a real completion token).
They are separate from the trainer so that tests can check them on fixed tensors.
"""

from __future__ import annotations

import math

import torch


def seq_token_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over each sequence's tokens, then over sequences (TRL's ``grpo`` aggregation)."""
    mask = mask.to(x.dtype)
    per_seq = (x * mask).sum(-1) / mask.sum(-1).clamp(min=1.0)
    return per_seq.mean()


def k3(d: torch.Tensor) -> torch.Tensor:
    """The k3 estimator ``exp(d) - d - 1`` of KL on sampled tokens (Schulman, "Approximating KL")."""
    return torch.exp(d) - d - 1.0


def papo_loss(
    logp: torch.Tensor,
    logp_mask: torch.Tensor,
    mask: torch.Tensor,
    *,
    gamma: float,
    eta_o: float,
    eta_m: float,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """PAPO's additions to the GRPO loss: ``-gamma * mean_t KL_t + eta_o * H + eta_m * H_mask``.

    ``KL_t = exp(d) - d - 1`` with ``d = logp_mask - logp`` (k3; the gradient flows through ``logp``
    only, ``logp_mask`` is detached here). ``H = -mean(logp)`` and ``H_mask = -mean(logp_mask)``
    (sampled-token estimates); ``logp_mask`` carries gradient into ``H_mask`` only if the caller
    computed it with gradient. Means are per sequence, then over sequences.
    """
    d = logp_mask.detach() - logp
    kl = seq_token_mean(k3(d), mask)
    ent = seq_token_mean(-logp, mask)
    ent_mask = seq_token_mean(-logp_mask, mask)
    loss = -gamma * kl + eta_o * ent + eta_m * ent_mask
    return loss, {"kl_prcp": kl.detach(), "entropy": ent.detach(), "entropy_masked": ent_mask.detach()}


def vppo_token_dependency(logp_mask: torch.Tensor, logp_old: torch.Tensor, s_max: float = 10.0) -> torch.Tensor:
    """VPPO visual dependency ``s_t = clamp(exp(d) - d - 1, 0, s_max)``, ``d = logp_mask - logp_old``."""
    return k3(logp_mask - logp_old).clamp(min=0.0, max=s_max)


def vppo_token_mask(s: torch.Tensor, mask: torch.Tensor, k: float) -> torch.Tensor:
    """The top ``ceil(k * L_i)`` tokens of each response by ``s_t`` (``L_i`` = its length); ties by position."""
    valid = mask.bool()
    lengths = valid.sum(-1)
    keep = torch.ceil(lengths.to(torch.float64) * k).to(torch.long)
    scores = s.masked_fill(~valid, -math.inf)
    order = torch.argsort(scores, dim=-1, descending=True, stable=True)
    ranks = torch.empty_like(order)
    ranks.scatter_(1, order, torch.arange(s.size(1), device=s.device).expand_as(order))
    return (ranks < keep[:, None]) & valid


def vppo_advantage_scale(seq_scores: torch.Tensor, beta_min: float) -> tuple[torch.Tensor, float]:
    """VPPO trajectory shaping factors from each response's mean dependency ``S_i``.

    ``n_i`` = min-max normalised ``S_i`` over the batch; ``beta_max = beta_min + (1 - beta_min) / mean(n)``;
    factor ``beta_min + n_i (beta_max - beta_min)`` (its batch mean is 1). A batch with equal scores
    gets factor 1 everywhere. Returns ``(factors, beta_max)``.
    """
    lo, hi = seq_scores.min(), seq_scores.max()
    if not torch.isfinite(hi - lo) or (hi - lo) <= 0:
        return torch.ones_like(seq_scores), 1.0
    n = (seq_scores - lo) / (hi - lo)
    beta_max = beta_min + (1.0 - beta_min) / n.mean()
    return beta_min + n * (beta_max - beta_min), float(beta_max)


def vppo_advantages(
    advantages: torch.Tensor,
    logp_mask: torch.Tensor,
    logp_old: torch.Tensor,
    mask: torch.Tensor,
    *,
    k: float,
    beta_min: float,
    s_max: float = 10.0,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Token-level VPPO advantages ``A_i * factor_i * [t in top-k of response i]`` and its statistics.

    ``advantages`` is ``(B,)``; the result is ``(B, T)`` (TRL's loss accepts token-level advantages).
    """
    s = vppo_token_dependency(logp_mask, logp_old, s_max)
    fmask = mask.to(s.dtype)
    seq_scores = (s * fmask).sum(-1) / fmask.sum(-1).clamp(min=1.0)
    factors, beta_max = vppo_advantage_scale(seq_scores, beta_min)
    tokens = vppo_token_mask(s, mask, k)
    token_adv = advantages[:, None] * factors[:, None] * tokens.to(advantages.dtype)
    stats = {
        "dependency_mean": seq_token_mean(s, mask),
        "token_share": tokens.sum() / mask.sum().clamp(min=1),
        "factor_min": factors.min(),
        "factor_max": factors.max(),
        "beta_max": torch.tensor(beta_max),
    }
    return token_adv, stats
