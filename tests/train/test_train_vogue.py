"""VOGUE on the tiny Qwen2.5-VL: the uncertainty bonus and the entropy term equal a hand computation
from two separate forwards (raw image, noised image) and from the model's own logits; it trains."""

import math

import pytest
import torch

from perceptrl.train.trainer import PerceptrlGRPOTrainer
from perceptrl.train.vogue import add_sequence_bonus, vogue_bonus, vogue_token_uncertainty

from test_train_trainer import METHOD_METRICS, _check, _run, _trainer, examples  # noqa: F401 - fixture

VOGUE_METRICS = ["vogue/uncertainty_noisy", "vogue/bonus_mean", "vogue/bonus_max", "vogue/entropy"]


def test_uncertainty_and_bonus_on_fixed_tensors():
    lp_raw = torch.tensor([[-1.0, -2.0, -0.5], [-1.0, -1.0, -1.0]])
    lp_noisy = torch.tensor([[-1.0, -1.0, -2.5], [-1.0, -3.0, -1.0]])
    u = vogue_token_uncertainty(lp_noisy, lp_raw)
    # d = (0, 1, -2) and (0, -2, 0): cosh(d) - 1 is symmetric in d
    assert u[0].tolist() == pytest.approx([0.0, math.cosh(1) - 1, math.cosh(2) - 1])
    assert u[1, 1].item() == pytest.approx(u[0, 2].item())
    mask = torch.tensor([[1, 1, 0], [1, 1, 1]])
    bonus, seq_u = vogue_bonus(u, mask, torch.tensor([True, False]), alpha=0.5, bonus_max=0.2)
    assert seq_u[0].item() == pytest.approx((math.cosh(1) - 1) / 2)
    assert seq_u[1].item() == pytest.approx((math.cosh(2) - 1) / 3)
    assert bonus.tolist() == pytest.approx([min(0.5 * (math.cosh(1) - 1) / 2, 0.2), 0.0])  # raw branch: no bonus
    assert vogue_token_uncertainty(lp_noisy, lp_raw, u_max=1.0).max().item() == 1.0
    assert add_sequence_bonus(torch.zeros(2, 3), bonus)[0].tolist() == pytest.approx([bonus[0].item()] * 3)


def test_vogue_bonus_in_the_trainer_matches_two_separate_forwards(tiny_qwen25vl_dir, examples, tmp_path):  # noqa: F811
    trainer, _ = _trainer(tiny_qwen25vl_dir, examples, "vogue", tmp_path)
    seen = {}
    orig_fwd, orig_apply = trainer._forward_logps, trainer._apply_vogue

    def fwd(batch, pv, **kw):
        seen["pv"], seen["second"] = pv, kw.get("second")
        return orig_fwd(batch, pv, **kw)

    def apply(out, flags, noised):
        seen["adv"], seen["flags"] = out["advantages"].clone(), flags
        return orig_apply(out, flags, noised)

    trainer._forward_logps, trainer._apply_vogue = fwd, apply
    out = trainer._generate_and_score_completions([{"row_id": 1}] * 4)
    assert seen["flags"] == [False, False, True, True]
    rows = out["pixel_values"].size(0) // 4
    same = [torch.equal(seen["second"][i * rows:(i + 1) * rows], out["pixel_values"][i * rows:(i + 1) * rows])
            for i in range(4)]
    assert same == [True, True, False, False]  # the noised image only for the noisy branch
    trainer._forward_logps = orig_fwd
    lp_raw, lp_noisy = orig_fwd(out, out["pixel_values"]), orig_fwd(out, seen["second"])
    d = lp_noisy - lp_raw
    mask = out["completion_mask"].float()
    U = (((torch.cosh(d) - 1).clamp(max=10) * mask).sum(-1) / mask.sum(-1))
    m = trainer.method
    expected = seen["adv"] + torch.tensor([0, 0, 1, 1]) * (m.vogue_alpha * U).clamp(max=m.vogue_bonus_max)
    assert torch.allclose(out["advantages"], expected, atol=1e-5)
    assert (out["advantages"] - seen["adv"])[2:].abs().sum() > 0

    # the entropy term: TRL's loss - coef * mean token entropy, the entropy from the model's own logits
    loss = trainer._compute_loss(trainer.model, out)
    trl_loss = PerceptrlGRPOTrainer.__mro__[1]._compute_loss(trainer, trainer.model, out)
    ids = torch.cat([out["prompt_ids"], out["completion_ids"]], 1)
    logits = trainer.model(input_ids=ids, attention_mask=torch.cat([out["prompt_mask"], out["completion_mask"]], 1),
                           pixel_values=out["pixel_values"], image_grid_thw=out["image_grid_thw"],
                           mm_token_type_ids=out.get("mm_token_type_ids")).logits
    T = out["completion_ids"].size(1)
    logp_all = torch.log_softmax(logits[:, -T - 1:-1].float(), -1)
    ent = -(logp_all.exp() * logp_all).sum(-1)
    by_hand = trl_loss - m.vogue_entropy_coef * ((ent * mask).sum(-1) / mask.sum(-1)).mean()
    assert loss.item() == pytest.approx(by_hand.item(), rel=1e-4, abs=1e-6)


def test_vogue_trains_and_logs_its_metrics(tiny_qwen25vl_dir, examples, tmp_path):  # noqa: F811
    METHOD_METRICS.setdefault("vogue", VOGUE_METRICS + METHOD_METRICS["noisy_rollout"])
    _check(*_run("vogue", tiny_qwen25vl_dir, examples, tmp_path), ["vogue"])
