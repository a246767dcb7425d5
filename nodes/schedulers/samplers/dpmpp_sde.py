"""DPM-Solver++ SDE, the stochastic single-step second-order sampler of k-diffusion `sample_dpmpp_sde`
(after Lu et al. 2022b, with r = 1/2): each step takes an ancestral first-order step to the midpoint
in λ = -log σ, evaluates the model there, and takes the full ancestral step with that estimate.

Both noise draws of a step are increments of one Brownian path over [σ_mid, σ] and [σ_next, σ], so
they are correlated; the default noise is a `BrownianNoise` path drawn from `generator`. A last step
to σ = 0 returns x0. Twin: diffusers `DPMSolverSDEScheduler` (given the same Brownian noise).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

from nodes.schedulers.denoiser import Denoise
from nodes.schedulers.noise import BrownianNoise, NoiseSampler
from nodes.schedulers.samplers.common import StepCallback, ancestral_step, intervals, resolve_noise


def sample_dpmpp_sde(
    denoise: Denoise,
    x: Tensor,
    sigmas: Sequence[float],
    *,
    eta: float = 1.0,
    generator: torch.Generator | None = None,
    noise_sampler: NoiseSampler | None = None,
    callback: StepCallback | None = None,
) -> Tensor:
    noise = resolve_noise(x, generator, noise_sampler, default=BrownianNoise)
    steps = intervals(sigmas)
    for i, (sigma, sigma_next) in enumerate(steps):
        denoised = denoise(x, sigma)
        if sigma_next == 0:
            x = denoised
        else:
            sigma_mid = math.sqrt(sigma * sigma_next)  # the midpoint in λ
            x_mid = _ancestral_dpm_step(x, sigma, sigma_mid, denoised, eta, noise)
            denoised_mid = denoise(x_mid, sigma_mid)
            x = _ancestral_dpm_step(x, sigma, sigma_next, denoised_mid, eta, noise)
        if callback is not None:
            callback(i, len(steps), x, denoised)
    return x


def _ancestral_dpm_step(
    x: Tensor, sigma: float, sigma_next: float, denoised: Tensor, eta: float, noise: NoiseSampler
) -> Tensor:
    """First-order DPM-Solver++ step to σ_down with x0 = `denoised`, plus noise of std σ_up to σ_next."""
    sigma_down, sigma_up = ancestral_step(sigma, sigma_next, eta)
    x = (sigma_down / sigma) * x - math.expm1(-math.log(sigma / sigma_down)) * denoised
    if sigma_up > 0:
        x = x + noise(sigma, sigma_next) * sigma_up
    return x
