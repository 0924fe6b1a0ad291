"""NoisyRollout: DDPM forward noise, sigmoid annealing, which rollouts are noised."""

import math

import numpy as np
import pytest
import torch
from PIL import Image

from perceptrl.train.noise import add_ddpm_noise, annealed_noise_step, ddpm_alpha_bar, noisy_rollout_flags


def test_alpha_bar_follows_the_linear_ddpm_schedule():
    betas = np.linspace(1e-4, 0.02, 1000)
    assert ddpm_alpha_bar(0) == 1.0
    assert ddpm_alpha_bar(500) == pytest.approx(float(np.prod(1 - betas[:500])), rel=1e-9)
    assert ddpm_alpha_bar(1) == pytest.approx(1 - 1e-4)


def test_noise_statistics_match_the_forward_process():
    img = Image.new("RGB", (64, 64), (128, 64, 200))
    out = np.asarray(add_ddpm_noise(img, 100, generator=torch.Generator().manual_seed(0)), dtype=np.float64)
    abar = ddpm_alpha_bar(100)
    x0 = np.array([128, 64, 200]) / 127.5 - 1
    xt = out / 127.5 - 1
    assert xt.reshape(-1, 3).mean(0) == pytest.approx(math.sqrt(abar) * x0, abs=0.03)
    assert xt.reshape(-1, 3).std(0) == pytest.approx([math.sqrt(1 - abar)] * 3, rel=0.1)
    assert add_ddpm_noise(img, 0) is img


def test_sigmoid_annealing_starts_at_step0_and_decays():
    steps = [annealed_noise_step(500, p) for p in (0.0, 0.25, 0.5, 0.75, 1.0)]
    assert steps[0] == 500
    assert steps == sorted(steps, reverse=True)
    assert steps[2] == pytest.approx(500 * 0.5 / (1 - 1 / (1 + math.exp(5))), abs=1)
    assert steps[-1] < 5
    assert annealed_noise_step(450, 0.9, schedule="none") == 450


def test_flags_mark_the_second_half_of_each_group_across_processes():
    # global batch of 2 prompts x G=4, split over 2 processes of 4 rollouts each
    assert noisy_rollout_flags(4, 0, 4, 0.5) == [False, False, True, True]
    assert noisy_rollout_flags(4, 1, 4, 0.5) == [False, False, True, True]
    # G=4 spanning processes of 2 rollouts
    assert noisy_rollout_flags(2, 0, 4, 0.5) == [False, False]
    assert noisy_rollout_flags(2, 1, 4, 0.5) == [True, True]
