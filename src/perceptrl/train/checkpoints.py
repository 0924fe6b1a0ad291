"""Checkpoint discovery for ``--resume`` and a parameter fingerprint to compare processes and runs.

transformers writes a checkpoint folder in place (model, optimizer, scheduler, RNG states, and
``trainer_state.json`` last), so a run killed while saving leaves a ``checkpoint-N`` folder without
its trainer state. ``get_last_checkpoint`` would pick it and the resume would fail or restart
from step 0; :func:`last_complete_checkpoint` skips it and resumes from the newest checkpoint that
was fully written.
"""

from __future__ import annotations

import hashlib
import logging
import re
from pathlib import Path
from typing import Any

import torch

logger = logging.getLogger(__name__)

_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")
TRAINER_STATE = "trainer_state.json"


def last_complete_checkpoint(output_dir: str | Path) -> str | None:
    """The newest ``checkpoint-N`` folder of ``output_dir`` whose trainer state was written, or None."""
    root = Path(output_dir)
    if not root.is_dir():
        return None
    found = sorted(
        ((int(m.group(1)), p) for p in root.iterdir() if p.is_dir() and (m := _CHECKPOINT.match(p.name))),
        reverse=True,
    )
    for step, path in found:
        if (path / TRAINER_STATE).is_file():
            return str(path)
        logger.warning("skipping incomplete checkpoint %s (no %s: the run stopped while saving it)", path, TRAINER_STATE)
    return None


def parameter_digest(model: Any) -> str:
    """SHA-256 of every parameter (name, dtype, shape, bytes) in name order: equal digests, equal weights.

    Under DeepSpeed ZeRO-3 / FSDP each process holds a shard, so the digest is of that shard.
    """
    h = hashlib.sha256()
    for name, p in sorted(model.named_parameters(), key=lambda kv: kv[0]):
        t = p.detach().to("cpu").contiguous()
        h.update(name.encode())
        h.update(str(t.dtype).encode())
        h.update(str(tuple(t.shape)).encode())
        h.update(t.view(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def load_checkpoint_weights(model: Any, checkpoint: str | Path) -> bool:
    """Load the full-model weights of ``checkpoint`` into ``model``; False when it holds none (PEFT adapters).

    :class:`~perceptrl.train.trainer.PerceptrlGRPOTrainer` restores checkpoints through this instead
    of the stock ``Trainer._load_from_checkpoint``, because with transformers 5,
    ``save_pretrained`` writes VLM checkpoints in the original key layout (``model.layers.*``,
    ``visual.*``) while the loaded module is named ``model.language_model.*``, ``model.visual.*``;
    the Trainer restores weights with a non-strict ``load_state_dict``, which matches none of the keys
    and only logs "missing/unexpected keys", so a resumed run silently continued from the *initial*
    weights (with the checkpoint's optimizer state). ``from_pretrained`` applies the key conversion; the
    converted weights are copied in strictly, so any remaining mismatch raises instead of being ignored.
    """
    path = Path(checkpoint)
    if not any((path / f).is_file() for f in ("model.safetensors", "model.safetensors.index.json")):
        return False
    if hasattr(model, "peft_config"):
        return False  # adapters: the Trainer's PEFT path loads them
    loaded = type(model).from_pretrained(str(path), dtype=next(model.parameters()).dtype)
    model.load_state_dict(loaded.state_dict(), strict=True)
    del loaded
    logger.info("loaded the model weights of %s", path)
    return True
