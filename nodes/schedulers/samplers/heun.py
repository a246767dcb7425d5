"""Heun's second-order method on the probability-flow ODE (Karras et al. 2022, Alg. 1; k-diffusion
`sample_heun`, diffusers `HeunDiscreteScheduler`). The last step, to σ = 0, is a plain Euler step:
the derivative at σ = 0 is undefined."""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor

from nodes.schedulers.denoiser import Denoise
from nodes.schedulers.samplers.common import StepCallback, intervals, to_d


def sample_heun(
    denoise: Denoise, x: Tensor, sigmas: Sequence[float], *, callback: StepCallback | None = None
) -> Tensor:
    steps = intervals(sigmas)
    for i, (sigma, sigma_next) in enumerate(steps):
        denoised = denoise(x, sigma)
        d = to_d(x, sigma, denoised)
        dt = sigma_next - sigma
        if sigma_next == 0:
            x = x + d * dt
        else:
            x_euler = x + d * dt
            d_next = to_d(x_euler, sigma_next, denoise(x_euler, sigma_next))
            x = x + (d + d_next) / 2 * dt
        if callback is not None:
            callback(i, len(steps), x, denoised)
    return x
