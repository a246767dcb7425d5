"""SDE-DPM-Solver++(2M) (Lu et al. 2022b, §5 / App. B; midpoint variant), with λ = -log σ,
h = λ_next - λ and noise strength η (η = 1 is the reverse SDE, η = 0 reduces to DPM-Solver++(2M)):

    x_next = (σ_next/σ)·e^{-ηh}·x + (1 - e^{-(1+η)h})·(x0_i + D/2) + σ_next·sqrt(1 - e^{-2ηh})·z,
    D = (x0_i - x0_{i-1})/r,   r = h_{i-1}/h.

The first step has no D; a last step to σ = 0 returns x0. Twins: k-diffusion `sample_dpmpp_2m_sde`
(with Gaussian rather than Brownian-tree noise), diffusers
`DPMSolverMultistepScheduler(algorithm_type="sde-dpmsolver++")`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

from nodes.schedulers.denoiser import Denoise
from nodes.schedulers.noise import NoiseSampler
from nodes.schedulers.samplers.common import StepCallback, intervals, resolve_noise


def sample_dpmpp_2m_sde(
    denoise: Denoise,
    x: Tensor,
    sigmas: Sequence[float],
    *,
    eta: float = 1.0,
    generator: torch.Generator | None = None,
    noise_sampler: NoiseSampler | None = None,
    callback: StepCallback | None = None,
) -> Tensor:
    if not eta >= 0:
        raise ValueError(f"eta must be >= 0, got {eta!r}")
    noise = resolve_noise(x, generator, noise_sampler)
    steps = intervals(sigmas)
    previous: tuple[float, Tensor] | None = None  # (h, x0) of the previous step
    for i, (sigma, sigma_next) in enumerate(steps):
        denoised = denoise(x, sigma)
        if sigma_next == 0:
            x = denoised
        else:
            h = math.log(sigma / sigma_next)
            eta_h = eta * h
            data_weight = -math.expm1(-h - eta_h)
            x = (sigma_next / sigma) * math.exp(-eta_h) * x + data_weight * denoised
            if previous is not None:
                h_last, denoised_last = previous
                x = x + 0.5 * data_weight * (h / h_last) * (denoised - denoised_last)
            if eta > 0:
                x = x + noise(sigma, sigma_next) * sigma_next * math.sqrt(-math.expm1(-2 * eta_h))
            previous = (h, denoised)
        if callback is not None:
            callback(i, len(steps), x, denoised)
    return x
