"""Ancestral DPM-Solver++(2S) (Lu et al. 2022b, Alg. 1 with r = 1/2, as in k-diffusion
`sample_dpmpp_2s_ancestral`): a single-step second-order step down to σ_down, evaluating the model
once more at the midpoint in λ = -log σ, then fresh noise of std σ_up back to σ_next. No diffusers twin.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

from nodes.schedulers.denoiser import Denoise
from nodes.schedulers.noise import NoiseSampler
from nodes.schedulers.samplers.common import StepCallback, ancestral_step, intervals, resolve_noise


def sample_dpmpp_2s_ancestral(
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
        if sigma_down == 0:
            x = denoised
        else:
            h = math.log(sigma / sigma_down)
            sigma_mid = sigma * math.exp(-h / 2)
            x_mid = (sigma_mid / sigma) * x - math.expm1(-h / 2) * denoised
            denoised_mid = denoise(x_mid, sigma_mid)
            x = (sigma_down / sigma) * x - math.expm1(-h) * denoised_mid
        if sigma_up > 0:
            x = x + noise(sigma, sigma_next) * sigma_up
        if callback is not None:
            callback(i, len(steps), x, denoised)
    return x
