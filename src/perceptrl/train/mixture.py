"""Multi-domain data mixtures (MoDoMoDo, Liang et al. 2025: mixing several multimodal RLVR datasets
with chosen weights; docs/methods.md section 5).

``data.mixture`` lists the sources, each read like ``data.path`` and given a sampling weight
(``weight``, optionally ``weight_end`` for a linear schedule over training). The training rows
are the union of the sources; the sampler draws each prompt's source by the weights of its
point in training, then the next row of that source's own shuffled order (each source is
cycled through before a row repeats); row ids become ``<source>/<id>``. The draws depend only on (seed, epoch, batch index), so
a resumed run samples what the uninterrupted one did. The mixture is written to
``mixture.json`` in the run folder; a resume with a different mixture is refused.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from dataclasses import asdict, dataclass, field
from typing import Any

import torch

from perceptrl.errors import PerceptrlError
from perceptrl.train.sampler import EpochRepeatSampler

MIXTURE_FILE = "mixture.json"
_SOURCE_KEYS = {"name", "path", "format", "split", "image_root", "max_rows", "weight", "weight_end"}


@dataclass
class Mixture:
    """Sources, their weights (start and end of training) and which rows belong to which source."""

    names: list[str]
    weights: list[float]
    weights_end: list[float]
    sizes: list[int] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)

    @property
    def offsets(self) -> list[int]:
        out, k = [], 0
        for n in self.sizes:
            out.append(k)
            k += n
        return out

    def source_of(self) -> list[int]:
        """Source index of every row, in row order."""
        return [s for s, n in enumerate(self.sizes) for _ in range(n)]

    def weights_at(self, progress: float) -> list[float]:
        """Normalised weights at training ``progress`` in [0, 1] (linear from ``weights`` to ``weights_end``)."""
        p = min(max(progress, 0.0), 1.0)
        w = [a + (b - a) * p for a, b in zip(self.weights, self.weights_end, strict=True)]
        total = sum(w)
        return [x / total for x in w]

    def record(self) -> dict[str, Any]:
        return asdict(self)


def parse_mixture(entries: list[dict[str, Any]], where: str) -> list[dict[str, Any]]:
    """Check ``data.mixture`` entries (before any data is read); returns them with names filled in."""
    if not isinstance(entries, list) or not entries:
        raise PerceptrlError("data.mixture must be a non-empty list of sources", where=f"{where}: data.mixture",
                             fix="write e.g. [{path: a.jsonl, weight: 0.7}, {path: b.jsonl, weight: 0.3}]")
    out, names = [], set()
    for i, e in enumerate(entries):
        at = f"{where}: data.mixture[{i}]"
        if not isinstance(e, dict) or not e.get("path"):
            raise PerceptrlError("a mixture source needs a path", where=at, fix="write {path: ..., weight: ...}")
        unknown = set(e) - _SOURCE_KEYS
        if unknown:
            raise PerceptrlError(f"unknown mixture key(s) {sorted(unknown)}", where=at,
                                 fix=f"use {', '.join(sorted(_SOURCE_KEYS))}")
        w, w_end = e.get("weight", 1.0), e.get("weight_end", e.get("weight", 1.0))
        if not all(isinstance(x, (int, float)) and x >= 0 and math.isfinite(x) for x in (w, w_end)):
            raise PerceptrlError(f"weights must be finite numbers >= 0 (got {w}, {w_end})", where=at,
                                 fix="set weight (and weight_end for a schedule) to non-negative numbers")
        name = str(e.get("name") or os.path.splitext(os.path.basename(str(e["path"]).rstrip("/")))[0] or f"source{i}")
        if name in names:
            name = f"{name}_{i}"
        names.add(name)
        out.append({**e, "name": name, "weight": float(w), "weight_end": float(w_end)})
    for key in ("weight", "weight_end"):
        if sum(e[key] for e in out) <= 0:
            raise PerceptrlError(f"the mixture's {key}s sum to 0", where=f"{where}: data.mixture",
                                 fix="give at least one source a positive weight")
    return out


def load_mixture(entries: list[dict[str, Any]], where: str, read) -> tuple[list[Any], Mixture]:
    """Read every source with ``read(entry) -> examples``; returns the concatenated rows and the mixture."""
    entries = parse_mixture(entries, where)
    examples, sizes = [], []
    for i, e in enumerate(entries):
        rows = list(read(e))
        if e.get("max_rows") is not None:
            rows = rows[: int(e["max_rows"])]
        if not rows:
            raise PerceptrlError(f"mixture source {e['name']!r} is empty", where=f"{where}: data.mixture[{i}]",
                                 fix="point its path at a non-empty dataset, or drop it")
        # ids are prefixed with the source name: two datasets may both number their rows 0, 1, ...
        examples += [dataclasses.replace(ex, id=f"{e['name']}/{ex.id}") for ex in rows]
        sizes.append(len(rows))
    mix = Mixture(names=[e["name"] for e in entries], weights=[e["weight"] for e in entries],
                  weights_end=[e["weight_end"] for e in entries], sizes=sizes, paths=[str(e["path"]) for e in entries])
    return examples, mix


def record_or_check(mix: Mixture, output_dir: str, resume: bool) -> None:
    """Write ``mixture.json``; on resume, refuse a mixture that differs from the recorded one."""
    path = os.path.join(output_dir, MIXTURE_FILE)
    if resume and os.path.isfile(path):
        with open(path) as f:
            old = json.load(f)
        if old != mix.record():
            raise PerceptrlError(
                f"the run was started with another data mixture ({old['names']} weights {old['weights']} -> "
                f"{old['weights_end']}, sizes {old['sizes']}); this one is {mix.names} weights {mix.weights} -> "
                f"{mix.weights_end}, sizes {mix.sizes}", where=path,
                fix="resume with the recorded mixture (see the file), or train into a new trl.output_dir")
        return
    os.makedirs(output_dir, exist_ok=True)
    with open(path, "w") as f:
        json.dump(mix.record(), f, indent=1)


class MixtureSampler(EpochRepeatSampler):
    """TRL's repeat structure (``mini_repeat_count`` rollouts per prompt, ``repeat_count`` reuses per
    batch) over prompts drawn by the mixture's weights. ``total_epochs`` sets the schedule's length."""

    def __init__(self, *args: Any, mixture: Mixture, total_epochs: float = 1.0, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.mixture = mixture
        self.total_epochs = max(float(total_epochs), 1e-9)
        self.epoch = 0
        if self.seed is None:
            self.seed = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def _order(self) -> list[int]:
        g = torch.Generator().manual_seed(int(self.seed) * 1_000_003 + self.epoch)
        chunks = self.num_samples // self.batch_size
        offsets, sizes = self.mixture.offsets, self.mixture.sizes
        perms = [torch.randperm(n, generator=g).tolist() for n in sizes]
        cursor = [0] * len(sizes)
        order = []
        for c in range(chunks):
            progress = (self.epoch + c / max(chunks, 1)) / self.total_epochs
            w = torch.tensor(self.mixture.weights_at(progress), dtype=torch.float64)
            for s in torch.multinomial(w, self.batch_size, replacement=True, generator=g).tolist():
                if cursor[s] == len(perms[s]):  # source exhausted: a fresh shuffle of it
                    perms[s], cursor[s] = torch.randperm(sizes[s], generator=g).tolist(), 0
                order.append(offsets[s] + perms[s][cursor[s]])
                cursor[s] += 1
        return order

    def __iter__(self):
        for start in range(0, len(order := self._order()), self.batch_size):
            chunk = order[start:start + self.batch_size]
            for _ in range(self.repeat_count):
                for index in chunk:
                    for _ in range(self.mini_repeat_count):
                        yield index


def sampler_for(trainer, dataset, mixture: Mixture) -> MixtureSampler:
    """The mixture sampler with the repeat structure TRL's ``_get_train_sampler`` uses."""
    a = trainer.args
    sampler = MixtureSampler(dataset, mini_repeat_count=trainer.num_generations,
                             batch_size=a.generation_batch_size // trainer.num_generations,
                             repeat_count=trainer.num_iterations * a.steps_per_generation, shuffle=True, seed=a.seed,
                             mixture=mixture)
    if a.max_steps and a.max_steps > 0:  # draws the run will make, in sampler epochs
        per_step = a.per_device_train_batch_size * a.world_size * a.gradient_accumulation_steps
        sampler.total_epochs = max(a.max_steps * per_step / max(len(sampler), 1), 1e-9)
    else:
        sampler.total_epochs = float(a.num_train_epochs)
    return sampler


def log_source_metrics(trainer, inputs: list[dict[str, Any]], out: dict[str, Any],
                       rewards_per_func: torch.Tensor, sources: list[int], mixture: Mixture) -> None:
    """``mixture/<source>/{share,reward,accuracy,length}`` over the whole (gathered) rollout batch."""
    acc = trainer.accelerator
    device = out["completion_mask"].device
    src = acc.gather(torch.tensor([sources[int(x["row_id"])] for x in inputs], device=device))
    length = acc.gather(out["completion_mask"].sum(-1).float())
    w = trainer.reward_weights.to(rewards_per_func.device)
    reward = (rewards_per_func * w[None]).nansum(1).to(device)
    names = trainer.reward_func_names
    accuracy = rewards_per_func[:, names.index("accuracy")].to(device) if "accuracy" in names else None
    for s, name in enumerate(mixture.names):
        sel = src == s
        if not bool(sel.any()):
            continue
        trainer._metric(f"mixture/{name}/share", sel.float().mean())
        trainer._metric(f"mixture/{name}/reward", reward[sel].mean())
        trainer._metric(f"mixture/{name}/length", length[sel].mean())
        if accuracy is not None:
            trainer._metric(f"mixture/{name}/accuracy", torch.nanmean(accuracy[sel]))
