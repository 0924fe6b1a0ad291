"""SFT warm start with TRL's SFTTrainer on synthetic chains of thought."""

import pytest
import torch

from perceptrl.data.prompt import build_messages
from perceptrl.demo.warmstart import WarmStartConfig, sft_rows, warm_start
from perceptrl.errors import PerceptrlError
from perceptrl.models import build_tiny_vlm
from perceptrl.synth import corpus, generate


def test_rows_use_the_shared_prompt_builder_and_the_cot():
    exs = generate(2, seed=0, kinds=("chart",))
    rows = sft_rows(exs, "plain")
    assert rows[0]["prompt"] == build_messages(exs[0], "plain")
    assert rows[0]["completion"][0]["content"][0]["text"] == exs[0].metadata["cot"]
    assert rows[1]["images"] == exs[1].images


def test_rows_without_cot_are_rejected():
    ex = generate(1, seed=0, kinds=("chart",))[0]
    ex.metadata.pop("cot")
    with pytest.raises(PerceptrlError, match="chain of thought"):
        sft_rows([ex])


def test_sft_lowers_the_loss_and_changes_the_weights():
    exs = generate(32, seed=0, kinds=("chart",))
    model, processor = build_tiny_vlm(extra_corpus=corpus(50, kinds=("chart",)))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    model, history = warm_start(model, processor, exs, WarmStartConfig(steps=12, batch_size=8, template="plain"))
    losses = [h["loss"] for h in history if "loss" in h]
    assert len(losses) >= 2 and losses[-1] < losses[0] * 0.8
    assert not model.training
    assert any(not torch.equal(before[k], v) for k, v in model.state_dict().items())
