"""Multistep latent consistency sampling (Luo et al. 2023, Alg. 3; Song et al. 2023, Alg. 1): jump to
the consistency model's x0 estimate, then re-noise it to the next noise level. The model's boundary
condition (c_skip, c_out) lives in `Denoiser(consistency_boundary=True)`. Twin: diffusers `LCMScheduler`.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from nodes.schedulers.denoiser import Denoise
from nodes.schedulers.noise import NoiseSampler
from nodes.schedulers.samplers.common import StepCallback, intervals, resolve_noise


def sample_lcm(
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
        x = denoised
        if sigma_next > 0:
            x = x + sigma_next * noise(sigma, sigma_next)
        if callback is not None:
            callback(i, len(steps), x, denoised)
    return x
