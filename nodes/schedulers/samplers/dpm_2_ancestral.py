"""Ancestral DPM-Solver-2: the midpoint step of `dpm_2` down to σ_down, then fresh noise up to σ_next
(k-diffusion `sample_dpm_2_ancestral`, diffusers `KDPM2AncestralDiscreteScheduler` at η = 1)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

from nodes.schedulers.denoiser import Denoise
from nodes.schedulers.noise import NoiseSampler
from nodes.schedulers.samplers.common import StepCallback, ancestral_step, intervals, resolve_noise, to_d


def sample_dpm_2_ancestral(
    denoise: Denoise,
    x: Tensor,
    sigmas: Sequence[float],
    *,
    eta: float = 1.0,
    generator: torch.Generator | None = None,
    noise_sampler: NoiseSampler | None = None,
    callback: StepCallback | None = None,
) -> Tensor:
    noise = resolve_noise(x, generator, noise_sampler)
    steps = intervals(sigmas)
    for i, (sigma, sigma_next) in enumerate(steps):
        denoised = denoise(x, sigma)
        sigma_down, sigma_up = ancestral_step(sigma, sigma_next, eta)
        d = to_d(x, sigma, denoised)
        if sigma_down == 0:
            x = x + d * (sigma_down - sigma)
        else:
            sigma_mid = math.exp((math.log(sigma) + math.log(sigma_down)) / 2)
            x_mid = x + d * (sigma_mid - sigma)
            d_mid = to_d(x_mid, sigma_mid, denoise(x_mid, sigma_mid))
            x = x + d_mid * (sigma_down - sigma)
        if sigma_up > 0:
            x = x + noise(sigma, sigma_next) * sigma_up
        if callback is not None:
            callback(i, len(steps), x, denoised)
    return x
