"""DDIM (Song, Meng & Ermon 2021, eq. 12 and 16).

In the paper's coordinates, with ε = (x_t - sqrt(ᾱ_t)·x0)/sqrt(1-ᾱ_t),

    x_{t-1} = sqrt(ᾱ_{t-1})·x0 + sqrt(1 - ᾱ_{t-1} - s²)·ε + s·z,
    s = η·sqrt((1-ᾱ_{t-1})/(1-ᾱ_t))·sqrt(1 - ᾱ_t/ᾱ_{t-1}).

Dividing by sqrt(ᾱ_{t-1}) gives the variance-exploding form used here (σ² = (1-ᾱ)/ᾱ):

    x_next = x0 + sqrt(σ_next² - s'²)·ε + s'·z,   s' = η·σ_next·sqrt(1 - σ_next²/σ²),  ε = (x - x0)/σ.

s' is the ancestral σ_up of Karras et al. (2022): η = 0 is the deterministic DDIM sampler (Euler's
method on the probability-flow ODE in these coordinates), η = 1 is DDPM's ancestral sampling.
Twin: diffusers `DDIMScheduler`.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from nodes.schedulers.denoiser import Denoise
from nodes.schedulers.noise import NoiseSampler
from nodes.schedulers.samplers.common import StepCallback, ancestral_step, intervals, resolve_noise


def sample_ddim(
    denoise: Denoise,
    x: Tensor,
    sigmas: Sequence[float],
    *,
    eta: float = 0.0,
    generator: torch.Generator | None = None,
    noise_sampler: NoiseSampler | None = None,
    callback: StepCallback | None = None,
) -> Tensor:
    noise = resolve_noise(x, generator, noise_sampler) if eta > 0 else None
    steps = intervals(sigmas)
    for i, (sigma, sigma_next) in enumerate(steps):
        denoised = denoise(x, sigma)
        eps = (x - denoised) / sigma
        eps_scale, noise_std = ancestral_step(sigma, sigma_next, eta)  # sqrt(σ_next² - s'²), s'
        x = denoised + eps_scale * eps
        if noise is not None and noise_std > 0:
            x = x + noise_std * noise(sigma, sigma_next)
        if callback is not None:
            callback(i, len(steps), x, denoised)
    return x
