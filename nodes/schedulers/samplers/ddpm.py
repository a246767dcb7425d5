"""DDPM ancestral sampling (Ho, Jain & Abbeel 2020, eq. 6-7 with the posterior variance β̃ —
diffusers' `variance_type="fixed_small"`), stepping between the schedule's noise levels.

Each step samples the forward-process posterior q(x_{t-1} | x_t, x0) with x0 the network's estimate:

    μ̃ = sqrt(ᾱ_{t-1})·β_t/(1-ᾱ_t)·x0 + sqrt(α_t)·(1-ᾱ_{t-1})/(1-ᾱ_t)·x_t,   β̃ = (1-ᾱ_{t-1})/(1-ᾱ_t)·β_t

where α_t = ᾱ_t/ᾱ_{t-1} spans the whole step. The state is kept in variance-exploding coordinates
(x_t = sqrt(ᾱ)·x) between steps. Twin: diffusers `DDPMScheduler`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

from nodes.schedulers.denoiser import Denoise
from nodes.schedulers.noise import NoiseSampler
from nodes.schedulers.samplers.common import StepCallback, intervals, resolve_noise


def sample_ddpm(
    denoise: Denoise,
    x: Tensor,
    sigmas: Sequence[float],
    *,
    generator: torch.Generator | None = None,
    noise_sampler: NoiseSampler | None = None,
    callback: StepCallback | None = None,
) -> Tensor:
    noise = resolve_noise(x, generator, noise_sampler)
    steps = intervals(sigmas)
    for i, (sigma, sigma_next) in enumerate(steps):
        denoised = denoise(x, sigma)
        alpha_bar, alpha_bar_prev = 1 / (1 + sigma**2), 1 / (1 + sigma_next**2)
        beta = 1 - alpha_bar / alpha_bar_prev
        x_t = x * math.sqrt(alpha_bar)
        mean = (math.sqrt(alpha_bar_prev) * beta / (1 - alpha_bar)) * denoised + (
            math.sqrt(1 - beta) * (1 - alpha_bar_prev) / (1 - alpha_bar)
        ) * x_t
        variance = (1 - alpha_bar_prev) / (1 - alpha_bar) * beta
        x_prev = mean + math.sqrt(variance) * noise(sigma, sigma_next) if variance > 0 else mean
        x = x_prev / math.sqrt(alpha_bar_prev)
        if callback is not None:
            callback(i, len(steps), x, denoised)
    return x
