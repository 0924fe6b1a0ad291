"""NoisyRollout image noise (arXiv 2504.13055; docs/methods.md §3).

Half of each group's rollouts are sampled from a noised copy of the image; log-probs and updates
always use the clean image. The noise is the DDPM forward process (Ho et al. 2020: linear beta
schedule 1e-4 .. 0.02 over 1000 steps), ``x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps`` on pixels
scaled to [-1, 1], at a step that starts near 500/1000 and is annealed toward 0 by a sigmoid over
training progress, as in NoisyRollout.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from PIL import Image

DDPM_STEPS = 1000


def ddpm_alpha_bar(step: int, *, beta_start: float = 1e-4, beta_end: float = 0.02, steps: int = DDPM_STEPS) -> float:
    """Cumulative signal share abar_t of the DDPM linear schedule at ``step`` (0 = clean)."""
    if step <= 0:
        return 1.0
    betas = torch.linspace(beta_start, beta_end, steps, dtype=torch.float64)
    return float(torch.prod(1.0 - betas[: min(step, steps)]))


def annealed_noise_step(step0: int, progress: float, *, schedule: str = "sigmoid", midpoint: float = 0.5,
                        sharpness: float = 10.0) -> int:
    """Noise step at training ``progress`` in [0, 1]: ``step0`` at the start, decaying toward 0 by a sigmoid.

    ``step(p) = step0 * (1 - sigmoid(k (p - m))) / (1 - sigmoid(-k m))``, normalised so that step(0) = step0.
    """
    if schedule == "none":
        return int(step0)
    p = min(max(progress, 0.0), 1.0)

    def sig(x: float) -> float:
        return 1.0 / (1.0 + math.exp(-x))

    scale = (1.0 - sig(sharpness * (p - midpoint))) / (1.0 - sig(-sharpness * midpoint))
    return int(round(step0 * scale))


def add_ddpm_noise(image: Image.Image, step: int, *, generator: torch.Generator | None = None) -> Image.Image:
    """The image after ``step`` steps of the DDPM forward process (RGB, same size)."""
    if step <= 0:
        return image
    rgb = image.convert("RGB")
    x0 = torch.from_numpy(np.asarray(rgb, dtype=np.float32) / 127.5 - 1.0)
    abar = ddpm_alpha_bar(step)
    eps = torch.randn(x0.shape, generator=generator)
    xt = math.sqrt(abar) * x0 + math.sqrt(1.0 - abar) * eps
    out = ((xt.clamp(-1.0, 1.0) + 1.0) * 127.5).round().to(torch.uint8).numpy()
    return Image.fromarray(out, mode="RGB")


def noisy_rollout_flags(num_local: int, process_index: int, num_generations: int, share: float) -> list[bool]:
    """Which of this process's rollouts use the noised image.

    TRL's sampler places the ``num_generations`` rollouts of a prompt consecutively in the global
    batch, split over processes in contiguous slices; the last ``round(share * G)`` of each group
    use the noised image.
    """
    n_noisy = int(round(share * num_generations))
    flags = []
    for i in range(num_local):
        pos = (process_index * num_local + i) % num_generations
        flags.append(pos >= num_generations - n_noisy)
    return flags
