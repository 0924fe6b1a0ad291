"""PAPO and VPPO quantities against values computed by hand on fixed tensors."""

import math

import pytest
import torch

from perceptrl.train.losses import (
    k3,
    papo_loss,
    seq_token_mean,
    vppo_advantage_scale,
    vppo_advantages,
    vppo_token_dependency,
    vppo_token_mask,
)

LOGP = [[-1.0, -2.0, -0.5, 0.0], [-0.2, -3.0, 0.0, 0.0]]
LOGP_MASK = [[-1.5, -1.0, -0.5, 0.0], [-2.2, -3.0, 0.0, 0.0]]
MASK = [[1, 1, 1, 0], [1, 1, 0, 0]]


def _by_hand_seq_mean(values, mask):
    per_seq = []
    for vs, ms in zip(values, mask):
        kept = [v for v, m in zip(vs, ms) if m]
        per_seq.append(sum(kept) / len(kept))
    return sum(per_seq) / len(per_seq)


def test_k3_is_exp_minus_d_minus_one():
    d = torch.tensor([-1.0, 0.0, 0.5])
    assert torch.allclose(k3(d), torch.tensor([math.exp(-1) + 1 - 1, 0.0, math.exp(0.5) - 0.5 - 1]))


def test_seq_token_mean_ignores_padding():
    x = torch.tensor(LOGP)
    assert seq_token_mean(x, torch.tensor(MASK)).item() == pytest.approx(_by_hand_seq_mean(LOGP, MASK))


def test_papo_loss_matches_hand_computation():
    gamma, eta_o, eta_m = 0.02, 0.03, 0.05
    logp = torch.tensor(LOGP, requires_grad=True)
    logp_mask = torch.tensor(LOGP_MASK, requires_grad=True)
    loss, stats = papo_loss(logp, logp_mask, torch.tensor(MASK), gamma=gamma, eta_o=eta_o, eta_m=eta_m)

    kl_tok = [[math.exp(m - p) - (m - p) - 1 for p, m in zip(rp, rm)] for rp, rm in zip(LOGP, LOGP_MASK)]
    kl = _by_hand_seq_mean(kl_tok, MASK)
    ent = _by_hand_seq_mean([[-v for v in r] for r in LOGP], MASK)
    ent_m = _by_hand_seq_mean([[-v for v in r] for r in LOGP_MASK], MASK)
    assert stats["kl_prcp"].item() == pytest.approx(kl)
    assert stats["entropy"].item() == pytest.approx(ent)
    assert stats["entropy_masked"].item() == pytest.approx(ent_m)
    assert loss.item() == pytest.approx(-gamma * kl + eta_o * ent + eta_m * ent_m)

    loss.backward()
    # d/dlogp of -gamma*KL_t with d = logp_mask - logp: -gamma * (-(exp(d) - 1)) / (L_i * B); plus -eta_o/(L_i * B)
    for i, (rp, rm, ms) in enumerate(zip(LOGP, LOGP_MASK, MASK)):
        n = sum(ms)
        for t, (p, m, keep) in enumerate(zip(rp, rm, ms)):
            expect_p = (gamma * (math.exp(m - p) - 1) - eta_o) / (n * 2) if keep else 0.0
            assert logp.grad[i, t].item() == pytest.approx(expect_p, abs=1e-6)
            # the KL term does not reach logp_mask: only the masked-entropy term does
            expect_m = -eta_m / (n * 2) if keep else 0.0
            assert logp_mask.grad[i, t].item() == pytest.approx(expect_m, abs=1e-6)


def test_papo_kl_is_zero_when_masked_image_changes_nothing():
    logp = torch.tensor(LOGP)
    loss, stats = papo_loss(logp, logp.clone(), torch.tensor(MASK), gamma=1.0, eta_o=0.0, eta_m=0.0)
    assert stats["kl_prcp"].item() == 0.0 and loss.item() == 0.0


def test_vppo_dependency_is_clamped_k3():
    logp_old = torch.tensor([[0.0, 0.0, 0.0]])
    logp_mask = torch.tensor([[-1.0, 5.0, 0.0]])
    s = vppo_token_dependency(logp_mask, logp_old, s_max=10.0)
    assert s[0, 0].item() == pytest.approx(math.exp(-1) + 1 - 1)
    assert s[0, 1].item() == 10.0  # exp(5) - 6 = 142.4 clamped
    assert s[0, 2].item() == 0.0


def test_vppo_token_mask_keeps_top_ceil_k_times_length():
    s = torch.tensor([[0.1, 0.9, 0.5, 0.7, 9.0], [0.3, 0.2, 0.1, 0.0, 0.0]])
    mask = torch.tensor([[1, 1, 1, 1, 0], [1, 1, 1, 0, 0]])
    kept = vppo_token_mask(s, mask, k=0.4)
    # row 0: L=4 -> ceil(1.6)=2 tokens: 0.9 and 0.7 (the padded 9.0 never counts)
    assert kept[0].tolist() == [False, True, False, True, False]
    # row 1: L=3 -> ceil(1.2)=2 tokens: 0.3 and 0.2
    assert kept[1].tolist() == [True, True, False, False, False]


def test_vppo_token_mask_ties_break_by_position():
    kept = vppo_token_mask(torch.zeros(1, 4), torch.ones(1, 4), k=0.5)
    assert kept[0].tolist() == [True, True, False, False]


def test_vppo_advantage_scale_by_hand():
    scores = torch.tensor([0.0, 1.0, 3.0, 4.0])
    factors, beta_max = vppo_advantage_scale(scores, beta_min=0.9)
    n = [0.0, 0.25, 0.75, 1.0]
    bmax = 0.9 + 0.1 / (sum(n) / 4)
    assert beta_max == pytest.approx(bmax)
    assert factors.tolist() == pytest.approx([0.9 + v * (bmax - 0.9) for v in n])
    assert factors.mean().item() == pytest.approx(1.0)


def test_vppo_advantage_scale_equal_scores_is_neutral():
    factors, beta_max = vppo_advantage_scale(torch.full((3,), 0.7), beta_min=0.9)
    assert factors.tolist() == [1.0, 1.0, 1.0] and beta_max == 1.0


def test_vppo_advantages_token_level_by_hand():
    adv = torch.tensor([1.0, -2.0])
    logp_old = torch.zeros(2, 3)
    logp_mask = torch.tensor([[-1.0, 0.0, -2.0], [-0.5, -0.1, 0.0]])
    mask = torch.tensor([[1, 1, 1], [1, 1, 0]])
    token_adv, stats = vppo_advantages(adv, logp_mask, logp_old, mask, k=0.5, beta_min=0.9)
    s = [[math.exp(d) - d - 1 for d in row] for row in [[-1.0, 0.0, -2.0], [-0.5, -0.1, 0.0]]]
    S = [sum(s[0]) / 3, sum(s[1][:2]) / 2]
    n = [(v - min(S)) / (max(S) - min(S)) for v in S]
    bmax = 0.9 + 0.1 / (sum(n) / 2)
    f = [0.9 + v * (bmax - 0.9) for v in n]
    # row 0: ceil(1.5)=2 tokens -> positions 2 (s=1.135) and 0 (s=0.368); row 1: ceil(1.0)=1 -> position 0
    expect = [[1.0 * f[0], 0.0, 1.0 * f[0]], [-2.0 * f[1], 0.0, 0.0]]
    assert token_adv.tolist() == [pytest.approx(r) for r in expect]
    assert stats["token_share"].item() == pytest.approx(3 / 5)
