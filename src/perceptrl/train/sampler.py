"""TRL's ``RepeatSampler`` with an epoch-addressable shuffle, so that resuming keeps the data order.

TRL 1.16 seeds the sampler's generator once and draws one permutation per pass over the data: the
order of epoch ``e`` depends on having iterated epochs ``0 .. e-1`` in the same process. A run
resumed in epoch ``e`` builds a fresh sampler whose first pass replays epoch 0's order, so the
resumed run trains on different batches than the uninterrupted one. Here ``set_epoch(e)``
(called by the Trainer, through accelerate's data loader, at the start of every epoch) rewinds
the generator to the state it has at epoch ``e`` in an uninterrupted run: the order is exactly
TRL's, and independent of where the process started.
"""

from __future__ import annotations

import torch
from trl.trainer.utils import RepeatSampler


class EpochRepeatSampler(RepeatSampler):
    """``RepeatSampler`` whose shuffle for epoch ``e`` is the ``e``-th permutation of ``seed``."""

    def set_epoch(self, epoch: int) -> None:
        if not self.shuffle:
            return
        self.generator = torch.Generator()
        if self.seed is not None:
            self.generator.manual_seed(self.seed)
        for _ in range(int(epoch)):  # consume earlier epochs' draws: one randperm per pass, as in __iter__
            torch.randperm(self.num_samples, generator=self.generator)
