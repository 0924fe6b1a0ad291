"""A reward model for the synthetic world: an outcome RM trained on the warm start's own verified samples.

The ``reward_model`` term (:mod:`perceptrl.rewards.reward_model`, HARMO / HERO) needs a scalar reward
model, and no pretrained one knows the synthetic world. So the ``reward_model`` arm of the
experiment first trains one, per seed, the way outcome reward models are usually made (ours: the
papers use pretrained RMs such as Skywork-Reward):

1. the seed's warm start samples ``k`` responses for each of ``n`` training problems, at the
   arm's temperature;
2. each response is labelled by the verifier (the accuracy reward: 1 right, 0 wrong);
3. a tiny text-only ``Qwen2ForSequenceClassification`` (one-label head, the warm start's
   tokenizer) is trained with logistic loss to predict the label from (question, response). Its
   inputs are built by the very :meth:`RewardModelScorer.encode` that scores rollouts in training,
   so what it learns on is what it is asked;
4. a fifth of the problems is held out of the RM's training, and its ROC AUC there is recorded
   (``rm.json``): the RM does not see the image, so what it can learn is the response's internal
   consistency (does the answer follow from the stated readings and options), not whether the
   readings are right. The AUC says how much signal it carries.

The RM's directory (weights, tokenizer, ``rm.json``) is reused when it exists, so a resumed arm does
not retrain it.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from perceptrl.data.schema import Example


@dataclass(frozen=True)
class OutcomeRMConfig:
    """How the synthetic world's outcome RM is made (ours; sized to train in ~2 minutes on one core)."""

    problems: int = 256  # training problems sampled from
    samples: int = 4  # responses per problem
    hidden_size: int = 64
    layers: int = 2
    steps: int = 300
    batch_size: int = 32
    learning_rate: float = 1e-3
    held_out_share: float = 0.2


def roc_auc(scores: Sequence[float], labels: Sequence[int]) -> float | None:
    """ROC AUC by the Mann-Whitney U statistic (ties count half); ``None`` with one class only."""
    from scipy.stats import mannwhitneyu

    pos = [s for s, y in zip(scores, labels) if y]
    neg = [s for s, y in zip(scores, labels) if not y]
    if not pos or not neg:
        return None
    return float(mannwhitneyu(pos, neg).statistic) / (len(pos) * len(neg))


def _label(examples: Sequence[Example], responses: Sequence[Sequence[str]]) -> list[tuple[str, str, int, int]]:
    """(prompt, response, label, problem index) for every sampled response."""
    from perceptrl.rewards.accuracy import accuracy_reward
    from perceptrl.rewards.reward_model import row_prompt

    out = []
    for i, (ex, rs) in enumerate(zip(examples, responses, strict=True)):
        row = ex.to_row()
        for r in rs:
            out.append((row_prompt(row), r, int(bool(accuracy_reward(r, row))), i))
    return out


def _new_rm(tokenizer: Any, cfg: OutcomeRMConfig, seed: int):
    import torch
    from transformers import Qwen2Config, Qwen2ForSequenceClassification

    vocab = len(tokenizer)
    config = Qwen2Config(vocab_size=vocab + (-vocab % 64), hidden_size=cfg.hidden_size,
                         intermediate_size=4 * cfg.hidden_size, num_hidden_layers=cfg.layers,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512, num_labels=1,
                         pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id)
    torch.manual_seed(seed)
    return Qwen2ForSequenceClassification(config)


def _batches(encoded: list[list[int]], labels: list[int], pad: int, size: int, rng: random.Random):
    import torch

    from perceptrl.rewards.reward_model import pad_batch

    order = list(range(len(encoded)))
    while True:
        rng.shuffle(order)
        for s in range(0, len(order) - size + 1, size):
            idx = order[s:s + size]
            ids, mask = pad_batch([encoded[i] for i in idx], pad)
            yield ids, mask, torch.tensor([float(labels[i]) for i in idx])


def fit_outcome_rm(data: Sequence[tuple[str, str, int, int]], tokenizer: Any, out_dir: str | Path, *, seed: int,
                   cfg: OutcomeRMConfig = OutcomeRMConfig()) -> dict[str, Any]:
    """Train and save the RM on ``(prompt, response, label, problem index)`` rows; returns its record.

    A ``held_out_share`` of the *problems* (not of the rows: a problem's samples are alike) is kept
    out of training and scores the RM's held-out AUC.
    """
    import torch

    from perceptrl.rewards.reward_model import RewardModelScorer

    out = Path(out_dir)
    rng = random.Random(seed)
    problems = sorted({d[3] for d in data})
    held = set(rng.sample(problems, max(1, int(len(problems) * cfg.held_out_share))))
    _new_rm(tokenizer, cfg, seed).save_pretrained(out)
    tokenizer.save_pretrained(out)
    scorer = RewardModelScorer(str(out), batch_size=64, chat_template=False)
    fit = [d for d in data if d[3] not in held]
    val = [d for d in data if d[3] in held]
    rm = scorer.model  # the scorer's own copy: trained in place, then saved
    rm.train()
    opt = torch.optim.AdamW(rm.parameters(), lr=cfg.learning_rate, weight_decay=0.01)
    batches = _batches([scorer.encode(p, r) for p, r, _, _ in fit], [d[2] for d in fit], tokenizer.pad_token_id,
                       min(cfg.batch_size, len(fit)), rng)
    losses = []
    for _ in range(cfg.steps):
        ids, mask, y = next(batches)
        logits = rm(input_ids=ids, attention_mask=mask).logits[:, 0]
        loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    rm.eval()
    auc = {name: roc_auc(scorer.logits([(p, r) for p, r, _, _ in part]), [d[2] for d in part])
           for name, part in (("fit", fit), ("held_out", val))}
    rm.save_pretrained(out)
    return {"responses": len(data), "right_share": sum(d[2] for d in data) / max(1, len(data)),
            "auc_fit": auc["fit"], "auc_held_out": auc["held_out"], "loss_first": losses[0] if losses else None,
            "loss_last": sum(losses[-20:]) / max(1, len(losses[-20:])), "config": dict(cfg.__dict__)}


def train_outcome_rm(policy: Any, processor: Any, train: Sequence[Example], out_dir: str | Path, *,
                     template: str, temperature: float, max_new_tokens: int, seed: int,
                     cfg: OutcomeRMConfig = OutcomeRMConfig()) -> dict[str, Any]:
    """Sample from ``policy``, label, train and save the outcome RM into ``out_dir``; returns its
    record, also written to ``out_dir/rm.json`` (an existing one is read back instead)."""
    from perceptrl.eval.generate import generate_responses

    out = Path(out_dir)
    if (out / "rm.json").is_file():
        return json.loads((out / "rm.json").read_text())
    t0 = time.time()
    examples = list(train[:cfg.problems])
    was_training = policy.training
    policy.eval()
    try:
        responses = generate_responses(policy, processor, examples, template=template, max_new_tokens=max_new_tokens,
                                       temperature=temperature, num_samples=cfg.samples, batch_size=16, seed=seed)
    finally:
        policy.train(was_training)
    record = fit_outcome_rm(_label(examples, responses), processor.tokenizer, out, seed=seed, cfg=cfg)
    record["seconds"] = time.time() - t0
    tmp = out / "rm.json.tmp"
    tmp.write_text(json.dumps(record, indent=1))
    tmp.replace(out / "rm.json")
    return record
