"""PerceptrlGRPOTrainer on the tiny Qwen2.5-VL and Qwen2-VL: each method trains, logs its metrics,
and its hooks compute what METHODS.md says on the real tensors of a rollout batch."""

import math

import pytest
import torch
from trl import GRPOConfig

from perceptrl.models import load_vlm
from perceptrl.rewards.registry import register_reward
from perceptrl.synth import generate
from perceptrl.train import load_train_config, train
from perceptrl.train.checkpoints import parameter_digest
from perceptrl.train.config import MethodConfig
from perceptrl.train.losses import vppo_advantage_scale, vppo_token_dependency, vppo_token_mask
from perceptrl.train.rows import RowStore
from perceptrl.train.trainer import PerceptrlGRPOTrainer

STEPS = 2


@register_reward("test_distinct_chars")
def distinct_chars(completion, row):
    """Varies between rollouts of an untrained model, so advantages are non-zero (param updates)."""
    return (len(set(completion)) % 4) / 3.0


TERMS = [
    {"name": "accuracy", "weight": 0.9},
    {"name": "format", "weight": 0.1, "params": {"pattern": "strict_newlines"}},
    {"name": "perception", "weight": 0.7},
    {"name": "repetition", "weight": 1.0},
    {"name": "test_distinct_chars", "weight": 1.0},
]

METHOD_METRICS = {
    "grpo": [],
    "papo": ["papo/kl_prcp", "papo/entropy", "papo/entropy_masked", "perception/masked_patch_share"],
    "vppo": ["vppo/dependency_mean", "vppo/token_share", "vppo/factor_min", "vppo/factor_max", "vppo/beta_max",
             "perception/masked_patch_share"],
    "noisy_rollout": ["noisy_rollout/noise_step", "noisy_rollout/noisy_share"],
}


@pytest.fixture(scope="module")
def examples():
    return generate(4, seed=0)


def _config(method, out_dir, **extra):
    overrides = [
        f"method.name={method}", f"trl.max_steps={STEPS}", "trl.per_device_train_batch_size=4",
        "trl.num_generations=2", "trl.max_completion_length=8", "trl.learning_rate=1e-3", "trl.use_cpu=true",
        "trl.bf16=false", "trl.gradient_checkpointing=false", "trl.report_to=none", "trl.save_strategy=no",
        f"trl.output_dir={out_dir}", "trl.seed=0", "rewards.workers=0", "judge.cache_path=null",
    ] + [f"{k}={v}" for k, v in extra.items()]
    cfg = load_train_config(None, overrides)
    cfg.rewards.terms = TERMS
    cfg.rewards.preset = None
    return cfg


def _run(method, model_dir, examples, tmp_path):
    model, processor = load_vlm(str(model_dir), dtype="float32")
    before = {k: v.detach().clone() for k, v in model.named_parameters()}
    result = train(_config(method, tmp_path / "out"), train_examples=examples, model=model, processor=processor)
    after = dict(result.model.named_parameters())
    changed = [k for k in before if not torch.equal(before[k], after[k].detach())]
    logged = set().union(*[h.keys() for h in result.log_history])
    return result, changed, logged


def _check(result, changed, logged, parts):
    assert changed, "no parameter changed"
    for name in ["accuracy", "format", "perception", "repetition", "test_distinct_chars", "hybrid"]:
        assert f"rewards/{name}/mean" in logged, name
    for part in parts:
        for metric in METHOD_METRICS[part]:
            assert metric in logged, metric
    steps = [h for h in result.log_history if "loss" in h]
    assert len(steps) == STEPS and all(math.isfinite(h["loss"]) for h in steps)
    # what was saved is what was trained: the checkpoint in output_dir reloads to the same weights
    assert result.parameter_digest == parameter_digest(result.model)
    saved, _ = load_vlm(result.output_dir, dtype="float32")
    assert parameter_digest(saved) == result.parameter_digest


@pytest.mark.parametrize("method", ["grpo", "papo", "vppo", "noisy_rollout"])
def test_each_method_trains_the_tiny_qwen25vl(method, tiny_qwen25vl_dir, examples, tmp_path):
    result, changed, logged = _run(method, tiny_qwen25vl_dir, examples, tmp_path)
    _check(result, changed, logged, [method])


def test_all_methods_composed_train_the_tiny_qwen2vl(tiny_qwen2vl_dir, examples, tmp_path):
    result, changed, logged = _run("papo+vppo+noisy_rollout", tiny_qwen2vl_dir, examples, tmp_path)
    _check(result, changed, logged, ["papo", "vppo", "noisy_rollout"])
    grpo = _run("grpo", tiny_qwen2vl_dir, examples, tmp_path / "grpo")
    _check(*grpo, ["grpo"])


# ---------------------------------------------------------------- hooks on one rollout batch


def _trainer(model_dir, examples, method, tmp_path, rewards=None):
    model, processor = load_vlm(str(model_dir), dtype="float32")
    rows = RowStore(examples)
    args = GRPOConfig(output_dir=str(tmp_path), per_device_train_batch_size=4, num_generations=4,
                      max_completion_length=6, use_cpu=True, bf16=False, gradient_checkpointing=False,
                      report_to="none", max_steps=10, seed=0)

    def length_reward(completions, **kw):
        return [float(len(c[0]["content"]) % 3) for c in completions]

    trainer = PerceptrlGRPOTrainer(model=model, reward_funcs=rewards or [length_reward], args=args,
                                   train_dataset=rows.dataset(), processing_class=processor,
                                   method=MethodConfig(name=method), rows=rows)
    trainer.model.train()
    trainer.state.max_steps = 10
    trainer.current_gradient_accumulation_steps = 1  # set by Trainer.train() in a real run
    return trainer, processor


def test_noisy_rollout_generates_from_noise_and_trains_on_clean(tiny_qwen25vl_dir, examples, tmp_path):
    trainer, processor = _trainer(tiny_qwen25vl_dir, examples, "noisy_rollout", tmp_path)
    seen = []
    original = trainer._tokenize_prompts

    def spy(prompts):
        seen.append([part["image"] for p in prompts for m in p for part in m["content"] if part["type"] == "image"])
        return original(prompts)

    trainer._tokenize_prompts = spy
    out = trainer._generate_and_score_completions([{"row_id": 1}] * 4)
    clean = RowStore(examples).expand(1)["images"][0]
    gen_images = seen[0]
    same = [img.tobytes() == clean.tobytes() for img in gen_images]
    assert same == [True, True, False, False]  # second half of the group sampled from the noised image
    expected = processor.image_processor(images=[clean] * 4, return_tensors="pt")["pixel_values"]
    assert torch.allclose(out["pixel_values"], expected)  # log-probs/updates see the clean image


def test_vppo_advantages_in_the_trainer_match_a_hand_recomputation(tiny_qwen25vl_dir, examples, tmp_path):
    trainer, _ = _trainer(tiny_qwen25vl_dir, examples, "vppo", tmp_path)
    calls = {}
    original = trainer._forward_logps

    def spy(batch, pixel_values, **kw):
        out = original(batch, pixel_values, **kw)
        if kw.get("second") is not None:  # method.batched_forward: clean and masked in one doubled pass
            calls["clean"], calls["masked"] = (pixel_values, out[0]), (kw["second"], out[1])
        else:
            calls.setdefault("masked" if "masked" not in calls else "clean", (pixel_values, out))
        return out

    trainer._forward_logps = spy
    seq_adv = {}
    orig_apply = trainer._apply_vppo

    def apply(out, logp_mask, logp_old=None):
        seq_adv["a"] = out["advantages"].clone()
        return orig_apply(out, logp_mask, logp_old)

    trainer._apply_vppo = apply
    out = trainer._generate_and_score_completions([{"row_id": 0}] * 4)
    masked_pv, logp_mask = calls["masked"]
    clean_pv, logp_old = calls["clean"]
    assert not torch.equal(masked_pv, out["pixel_values"]) and torch.equal(clean_pv, out["pixel_values"])
    # recompute by hand from the two passes: clamped k3, top ceil(0.4 L) tokens, beta shaping
    mask = out["completion_mask"]
    d = logp_mask - logp_old
    s = (torch.exp(d) - d - 1).clamp(0, 10)
    assert torch.allclose(s, vppo_token_dependency(logp_mask, logp_old))
    S = (s * mask).sum(-1) / mask.sum(-1)
    n = (S - S.min()) / (S.max() - S.min())
    bmax = 0.9 + 0.1 / n.mean()
    factor = 0.9 + n * (bmax - 0.9)
    keep = torch.zeros_like(s, dtype=torch.bool)
    for i in range(s.size(0)):
        L = int(mask[i].sum())
        top = torch.argsort(s[i, :L], descending=True, stable=True)[: math.ceil(0.4 * L)]
        keep[i, top] = True
    expected = seq_adv["a"][:, None] * factor[:, None] * keep
    assert torch.allclose(out["advantages"], expected, atol=1e-6)
    assert torch.equal(keep, vppo_token_mask(s, mask, 0.4))
    assert torch.allclose(vppo_advantage_scale(S, 0.9)[0], factor)


def test_papo_loss_adds_the_perception_terms_to_trl_loss(tiny_qwen25vl_dir, examples, tmp_path):
    trainer, _ = _trainer(tiny_qwen25vl_dir, examples, "papo", tmp_path)
    batch = trainer._generate_and_score_completions([{"row_id": 2}] * 4)
    assert len(batch["masked_pixel_values"]) == 4  # one per sample, so TRL's shuffle keeps them aligned
    torch.manual_seed(0)
    loss = trainer._compute_loss(trainer.model, batch)
    logp = trainer._forward_logps(batch, batch["pixel_values"])
    logp_mask = trainer._forward_logps(batch, torch.cat(batch["masked_pixel_values"]))
    trl_loss = PerceptrlGRPOTrainer.__mro__[1]._compute_loss(trainer, trainer.model, batch)
    mask = batch["completion_mask"].float()

    def seq_mean(x):
        return ((x * mask).sum(-1) / mask.sum(-1)).mean()

    d = logp_mask - logp
    m = trainer.method
    by_hand = trl_loss - m.papo_gamma * seq_mean(torch.exp(d) - d - 1) + m.papo_eta_o * seq_mean(-logp) \
        + m.papo_eta_m * seq_mean(-logp_mask)
    assert loss.item() == pytest.approx(by_hand.item(), rel=1e-4, abs=1e-6)
    loss.backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in trainer.model.parameters())
