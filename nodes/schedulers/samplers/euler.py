"""Euler's method on the probability-flow ODE dx/dσ = (x - D(x, σ))/σ (Karras et al. 2022, Alg. 1 with
Euler steps; k-diffusion `sample_euler`, diffusers `EulerDiscreteScheduler`)."""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor

from nodes.schedulers.denoiser import Denoise
from nodes.schedulers.samplers.common import StepCallback, intervals, to_d


def sample_euler(
    denoise: Denoise, x: Tensor, sigmas: Sequence[float], *, callback: StepCallback | None = None
) -> Tensor:
    steps = intervals(sigmas)
    for i, (sigma, sigma_next) in enumerate(steps):
        denoised = denoise(x, sigma)
        x = x + to_d(x, sigma, denoised) * (sigma_next - sigma)
        if callback is not None:
            callback(i, len(steps), x, denoised)
    return x
