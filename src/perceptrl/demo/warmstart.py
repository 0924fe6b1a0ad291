"""SFT warm start: teach a random-init tiny VLM the answer format on synthetic chains of thought.

GRPO needs a policy whose samples sometimes earn reward: a random-init model never writes
``<think>…</think><answer>\\boxed{…}</answer>`` nor a correct fact, so every group would score
0 and every advantage would vanish. A short supervised pass on the synthetic world's own correct
chains of thought (``metadata["cot"]``) fixes the format and teaches the model to partly read the
images; RL then has something to sharpen. This is the cold-start SFT stage used before RL by
Vision-R1 and by the Perception-R1 family's base models (their instruct checkpoints already
follow the format).

The prompt is built by :func:`perceptrl.data.prompt.build_messages` (the same messages GRPO and
evaluation use), the completion is the chain of thought as one assistant turn, and training is
TRL's :class:`~trl.SFTTrainer` with completion-only loss.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from perceptrl.data.prompt import build_messages
from perceptrl.data.schema import Example
from perceptrl.errors import PerceptrlError

logger = logging.getLogger(__name__)


@dataclass
class WarmStartConfig:
    """Settings of the SFT warm start (not from a paper: the smallest pass that makes the tiny
    model follow the format; tuned on the demo's synthetic world, see docs/demo.md)."""

    # Optimizer steps of SFT.
    steps: int = 300
    # Examples per step.
    batch_size: int = 16
    # Peak learning rate (AdamW, linear decay after a 5% warm-up).
    learning_rate: float = 3e-3
    # Prompt template (the same as GRPO and evaluation).
    template: str = "perception_r1"
    # Seed of data order and dropout.
    seed: int = 0


def sft_rows(examples: Sequence[Example], template: str = "perception_r1") -> list[dict[str, Any]]:
    """TRL prompt-completion rows: the user turn with image parts, the CoT as the assistant turn."""
    rows = []
    for ex in examples:
        cot = ex.metadata.get("cot")
        if not cot:
            raise PerceptrlError("example has no chain of thought to imitate", where=f"example {ex.id}: metadata.cot",
                                 fix="warm-start on perceptrl.synth problems, which carry metadata['cot']")
        rows.append({
            "prompt": build_messages(ex, template),
            "completion": [{"role": "assistant", "content": [{"type": "text", "text": cot}]}],
            "images": list(ex.images),
        })
    return rows


def warm_start(model: Any, processor: Any, examples: Sequence[Example], cfg: WarmStartConfig | None = None,
               *, output_dir: str | None = None, callbacks: list[Any] | None = None) -> tuple[Any, list[dict]]:
    """Supervised fine-tuning of ``model`` on the chains of thought of ``examples``, in place.

    Returns ``(model, log_history)``. Nothing is saved: the caller owns the trained weights.
    """
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    cfg = cfg or WarmStartConfig()
    if cfg.steps < 1 or cfg.batch_size < 1 or cfg.learning_rate <= 0:
        raise PerceptrlError(f"invalid warm-start settings {cfg}", where="WarmStartConfig",
                             fix="steps >= 1, batch_size >= 1, learning_rate > 0")
    if not examples:
        raise PerceptrlError("no examples to warm-start on", where="warm_start(examples=...)",
                             fix="pass synthetic examples, e.g. perceptrl.synth.generate(512)")
    dataset = Dataset.from_list(sft_rows(examples, cfg.template))
    with tempfile.TemporaryDirectory(prefix="perceptrl-sft-") as tmp:
        args = SFTConfig(
            output_dir=output_dir or tmp,
            max_steps=cfg.steps,
            per_device_train_batch_size=cfg.batch_size,
            learning_rate=cfg.learning_rate,
            lr_scheduler_type="linear",
            warmup_steps=max(1, cfg.steps // 20),
            weight_decay=0.0,
            max_grad_norm=1.0,
            logging_steps=max(1, cfg.steps // 20),
            save_strategy="no",
            report_to="none",
            seed=cfg.seed,
            data_seed=cfg.seed,
            use_cpu=True,
            bf16=False,
            dataloader_num_workers=0,
            # TRL's SFT default recomputes activations in the backward pass: memory a ~1.4 M-parameter
            # model does not need, for ~20% of each step's time (measured)
            gradient_checkpointing=False,
            disable_tqdm=True,
            max_length=None,
        )
        model.train()
        trainer = SFTTrainer(model=model, args=args, train_dataset=dataset, processing_class=processor,
                             callbacks=callbacks)
        trainer.train()
    model.eval()
    return model, list(trainer.state.log_history)
