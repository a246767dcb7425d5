"""Ancestral Euler: an Euler step down to σ_down, then fresh noise back up to σ_next (k-diffusion
`sample_euler_ancestral`, diffusers `EulerAncestralDiscreteScheduler` at η = 1)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from nodes.schedulers.denoiser import Denoise
from nodes.schedulers.noise import NoiseSampler
from nodes.schedulers.samplers.common import StepCallback, ancestral_step, intervals, resolve_noise, to_d


def sample_euler_ancestral(
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
        x = x + to_d(x, sigma, denoised) * (sigma_down - sigma)
        if sigma_up > 0:
            x = x + noise(sigma, sigma_next) * sigma_up
        if callback is not None:
            callback(i, len(steps), x, denoised)
    return x
