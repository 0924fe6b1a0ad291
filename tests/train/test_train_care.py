"""GRPO-CARE on the tiny Qwen2.5-VL: the answer mask, the consistency bonus, the EMA update and the
re-formed advantages equal a hand computation; the method trains and logs its metrics."""

import math

import pytest
import torch

from perceptrl.train.care import (answer_confidence, answer_token_mask, apply_care, care_bonus, ema_update,
                                  group_advantages)

from test_train_trainer import METHOD_METRICS, _check, _run, _trainer, examples  # noqa: F401 - fixture

CARE_METRICS = ["care/bonus_mean", "care/consistent_share", "care/answer_confidence", "care/answer_found_share"]


def test_care_bonus_by_hand():
    # one group of 4: accuracies 1, 1, 0.05, 0 -> accurate = first two (> 0.1 and >= mean 0.5125)
    acc = torch.tensor([1.0, 1.0, 0.05, 0.0])
    conf = torch.tensor([0.99, 0.5, 0.9, 0.9])
    bonus, consistent = care_bonus(acc, conf, 4, coef=0.5, upper=0.95, margin=0.01)
    # capped 0.95 and 0.5, mean 0.725: only the first reaches 0.715
    assert consistent.tolist() == [True, False, False, False]
    assert bonus.tolist() == pytest.approx([0.5, 0.0, 0.0, 0.0])
    bonus, consistent = care_bonus(acc, conf, 4, coef=0.5, upper=None, margin=0.3)  # 0.5 >= 0.745 - 0.3
    assert consistent.tolist() == [True, True, False, False]
    # two groups are independent
    bonus, _ = care_bonus(torch.tensor([1.0, 0.0, 0.0, 0.0]), torch.tensor([0.2, 0.9, 0.1, 0.1]), 2, coef=1.0,
                          upper=None, margin=0.0)
    assert bonus.tolist() == [1.0, 0.0, 0.0, 0.0]
    lp = torch.log(torch.tensor([[0.5, 0.25, 0.1], [0.5, 0.5, 0.5]]))
    conf = answer_confidence(lp, torch.tensor([[False, True, True], [False, False, False]]))
    assert conf.tolist() == pytest.approx([math.sqrt(0.025), 0.0])
    adv = group_advantages(torch.tensor([1.0, 3.0, 2.0, 2.0]), 2, "group")
    assert adv.tolist() == pytest.approx([-1 / (math.sqrt(2) + 1e-4), 1 / (math.sqrt(2) + 1e-4), 0.0, 0.0], rel=1e-5)


def test_ema_update_moves_the_reference_by_one_minus_decay():
    ref, model = torch.nn.Linear(2, 1), torch.nn.Linear(2, 1)
    before = ref.weight.detach().clone()
    ema_update(ref, model, 0.9)
    assert torch.allclose(ref.weight, 0.9 * before + 0.1 * model.weight.detach())


def test_answer_mask_with_the_real_tokenizer(tiny_qwen25vl_dir):
    from perceptrl.models import load_vlm

    _, processor = load_vlm(str(tiny_qwen25vl_dir), dtype="float32")
    tok = processor.tokenizer
    texts = ["<think>two plus two</think><answer>4</answer>", "no tag at all"]
    ids = [tok(t, add_special_tokens=False)["input_ids"] for t in texts]
    T = max(map(len, ids))
    comp = torch.tensor([i + [tok.pad_token_id] * (T - len(i)) for i in ids])
    mask = torch.tensor([[1] * len(i) + [0] * (T - len(i)) for i in ids])
    am = answer_token_mask(comp, mask, tok)
    assert am[1].sum() == 0
    first = int(am[0].nonzero()[0])
    assert tok.decode(ids[0][first:]) == "4</answer>" and "<answer>" in tok.decode(ids[0][:first])


def _craft(trainer, out, texts):
    """Replace the rollouts' completions by ``texts`` (the forward inputs stay consistent)."""
    tok = trainer.processing_class.tokenizer
    ids = [tok(t, add_special_tokens=False)["input_ids"] for t in texts]
    T = max(map(len, ids))
    out["completion_ids"] = torch.tensor([i + [tok.pad_token_id] * (T - len(i)) for i in ids])
    out["completion_mask"] = torch.tensor([[1] * len(i) + [0] * (T - len(i)) for i in ids])
    if out.get("mm_token_type_ids") is not None:
        P = out["prompt_ids"].size(1)
        out["mm_token_type_ids"] = torch.cat([out["mm_token_type_ids"][:, :P], torch.zeros(len(texts), T,
                                              dtype=out["mm_token_type_ids"].dtype)], 1)
    return out


def test_care_advantages_in_the_trainer_match_a_hand_recomputation(tiny_qwen25vl_dir, examples, tmp_path):  # noqa: F811
    def accuracy(completions, **kw):
        return [1.0] * len(completions)

    trainer, _ = _trainer(tiny_qwen25vl_dir, examples, "grpo_care", tmp_path, rewards=[accuracy])
    out = trainer._generate_and_score_completions([{"row_id": 0}] * 4)
    assert trainer._care_ref is not None and not trainer._care_ref.training
    texts = ["<think>a</think><answer>3</answer>", "<think>b</think><answer>7 cm</answer>",
             "<think>c</think><answer>3</answer>", "<think>d</think> no answer"]
    out = _craft(trainer, out, texts)
    acc = torch.tensor([[1.0], [1.0], [0.0], [1.0]])
    apply_care(trainer, out, acc)
    # by hand: the reference is a copy of the policy at step 0, so its log-probs are the policy's
    logp = trainer._forward_logps(out, out["pixel_values"])
    tok = trainer.processing_class.tokenizer
    conf = []
    for i, t in enumerate(texts):
        if "<answer>" not in t:
            conf.append(0.0)
            continue
        n_ans = len(tok(t.split("<answer>")[1], add_special_tokens=False)["input_ids"])
        n = int(out["completion_mask"][i].sum())
        conf.append(math.exp(logp[i, n - n_ans:n].mean().item()))
    conf = torch.tensor(conf).clamp(max=0.95)
    accurate = torch.tensor([1.0, 1.0, 0.0, 1.0]) >= 0.75  # mean accuracy 0.75
    mean_conf = conf[accurate].mean()
    bonus = 0.5 * acc[:, 0] * (accurate & (conf >= mean_conf - 0.01))
    r = acc[:, 0] + bonus
    expected = (r - r.mean()) / (r.std() + 1e-4)
    assert torch.allclose(out["advantages"], expected, atol=1e-4)
    assert bonus[3] == 0.5 * (conf[3] >= mean_conf - 0.01)  # no answer: confidence 0


def test_grpo_care_trains_and_logs_its_metrics(tiny_qwen25vl_dir, examples, tmp_path):  # noqa: F811
    METHOD_METRICS.setdefault("grpo_care", CARE_METRICS)
    _check(*_run("grpo_care", tiny_qwen25vl_dir, examples, tmp_path), ["grpo_care"])


def test_the_ema_reference_survives_a_checkpoint(tiny_qwen25vl_dir, examples, tmp_path):  # noqa: F811
    from perceptrl.train.care import save_reference

    def accuracy(completions, **kw):
        return [1.0] * len(completions)

    trainer, _ = _trainer(tiny_qwen25vl_dir, examples, "grpo_care", tmp_path / "a", rewards=[accuracy])
    trainer._generate_and_score_completions([{"row_id": 0}] * 4)
    with torch.no_grad():
        for p in trainer._care_ref.parameters():
            p.mul_(0.5)  # the reference now differs from the policy
    trainer._care_ref_step = 7
    save_reference(trainer, str(tmp_path / "ckpt"))
    resumed, _ = _trainer(tiny_qwen25vl_dir, examples, "grpo_care", tmp_path / "b", rewards=[accuracy])
    resumed._care_resume = str(tmp_path / "ckpt")
    resumed.state.global_step = 8  # 1 step after the saved update: no EMA update yet (every 10)
    resumed._generate_and_score_completions([{"row_id": 0}] * 4)
    assert resumed._care_ref_step == 7
    for a, b in zip(trainer._care_ref.parameters(), resumed._care_ref.parameters(), strict=True):
        assert torch.equal(a, b)
