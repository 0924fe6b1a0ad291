"""Shared inputs of the engine tests: examples with images and annotations, their rollouts, a
converted verl parquet, and a real verl ``DataProto`` built from it the way verl builds one
(``RLHFDataset`` → ``collate_fn`` → ``DataProto.from_single_dict`` → ``repeat`` per rollout, then the
rollout tensors: left-padded prompts, right-padded responses, one attention mask)."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from perceptrl.data.schema import Box, Example

GOOD = "<think>\nThe circle is red. The number on the red circle = {n}.\n</think>\n<answer>\n\\boxed{{{n}}}\n</answer>"
WRONG = "<think>\nI cannot see it.\n</think>\n<answer>\n\\boxed{{{m}}}\n</answer>"
SLOPPY = "the circle is red so the answer is {n}"
ROLLOUTS = 3  # rollouts per prompt (a GRPO group)


def png(color) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (56, 56), color).save(buf, "PNG")
    return buf.getvalue()


def examples(n: int = 4) -> list[Example]:
    """Problems of the synthetic world (the rules judge reads their ``LHS = RHS`` annotations),
    with the fields the engines must carry: choices, precision, tolerance, boxes, caption."""
    out = []
    for i in range(n):
        out.append(Example(
            id=f"q{i}", images=[png((40 * i, 10, 10))], problem="<image>What is the number on the red circle?",
            answer=str(i + 1), visual_annotations=[f"number on the red circle = {i + 1}", "the circle is red"],
            choices=[str(i + 1), str(i + 2)] if i == 2 else None,
            boxes=[Box(1.0, 2.0, 30.0, 40.0, "circle")] if i % 2 else [],
            caption="a red circle" if i == 1 else None,
            metadata={"precision": 1, "tolerance": 0.5, "unit": None} if i == 3 else {"source": "synth"},
        ))
    return out


def rollouts(exs: list[Example]) -> list[str]:
    """``ROLLOUTS`` completions per example, interleaved as verl's ``repeat(interleave=True)``."""
    out = []
    for i, ex in enumerate(exs):
        n = ex.answer
        out += [GOOD.format(n=n), WRONG.format(m=int(n) + 5), SLOPPY.format(n=n) if i % 2 else GOOD.format(n=n)]
    return out


def reward_rows(exs: list[Example]) -> list[dict]:
    """The rows RewardRunner gets for the same rollouts: ``Example.to_row`` without images."""
    rows = []
    for ex in exs:
        row = ex.to_row()
        row.pop("images")
        rows += [dict(row) for _ in range(ROLLOUTS)]
    return rows


def write_verl(tmp: Path, exs: list[Example]) -> Path:
    from perceptrl.data.formats.verl import write

    return write(exs, tmp / "train_verl.parquet", engine="verl")


def rlhf_dataset(path: Path, processor, tmp: Path):
    """verl's own dataset over a converted file (the overlong-prompt filter off: with a processor it
    calls qwen_vl_utils, which imports torchvision, absent from a CPU install)."""
    from omegaconf import OmegaConf
    from verl.utils.dataset.rl_dataset import RLHFDataset

    cfg = OmegaConf.create({"max_prompt_length": 1024, "filter_overlong_prompts": False,
                            "cache_dir": str(tmp / "verl-cache")})
    return RLHFDataset(str(path), processor.tokenizer, cfg, processor=processor)


def dataproto(dataset, tokenizer, completions: list[str]):
    """A DataProto of ``len(dataset) × ROLLOUTS`` rollouts with ``completions`` as the responses."""
    import numpy as np
    import torch
    from verl import DataProto
    from verl.utils.dataset.rl_dataset import collate_fn

    batch = DataProto.from_single_dict(collate_fn([dataset[i] for i in range(len(dataset))]))
    batch.non_tensor_batch["uid"] = np.array([f"uid{i}" for i in range(len(dataset))], dtype=object)
    batch = batch.repeat(repeat_times=ROLLOUTS, interleave=True)
    assert len(batch) == len(completions)
    prompt_ids = [tokenizer(f"prompt {i}", add_special_tokens=False)["input_ids"] for i in range(len(batch))]
    resp_ids = [tokenizer(c, add_special_tokens=False)["input_ids"] for c in completions]
    for c, ids in zip(completions, resp_ids):  # the decoded response must be the completion itself
        assert tokenizer.decode(ids, skip_special_tokens=True) == c
    pad = tokenizer.pad_token_id or 0
    p_len, r_len = max(map(len, prompt_ids)), max(map(len, resp_ids))
    prompts = torch.full((len(batch), p_len), pad, dtype=torch.long)
    responses = torch.full((len(batch), r_len), pad, dtype=torch.long)
    mask = torch.zeros((len(batch), p_len + r_len), dtype=torch.long)
    for i, (p, r) in enumerate(zip(prompt_ids, resp_ids)):
        prompts[i, p_len - len(p):] = torch.tensor(p)
        responses[i, : len(r)] = torch.tensor(r)
        mask[i, p_len - len(p): p_len + len(r)] = 1
    tensors = {"prompts": prompts, "responses": responses, "attention_mask": mask,
               "input_ids": torch.cat([prompts, responses], dim=1)}
    return DataProto.from_dict(tensors=tensors, non_tensors=dict(batch.non_tensor_batch))
