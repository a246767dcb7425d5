"""DPM-Solver++(2M) (Lu et al. 2022b, Alg. 2), multistep second order in data-prediction form, with
λ = -log σ and h = λ_next - λ:

    x_next = (σ_next/σ)·x - (e^{-h} - 1)·D,   D = (1 + 1/(2r))·x0_i - 1/(2r)·x0_{i-1},   r = h_{i-1}/h.

The first step (no history) and a last step to σ = 0 are first order (D = x0_i). Twins: k-diffusion
`sample_dpmpp_2m`, diffusers `DPMSolverMultistepScheduler(algorithm_type="dpmsolver++")`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from torch import Tensor

from nodes.schedulers.denoiser import Denoise
from nodes.schedulers.samplers.common import StepCallback, intervals


def sample_dpmpp_2m(
    denoise: Denoise, x: Tensor, sigmas: Sequence[float], *, callback: StepCallback | None = None
) -> Tensor:
    steps = intervals(sigmas)
    previous: tuple[float, Tensor] | None = None  # (h, x0) of the previous step
    for i, (sigma, sigma_next) in enumerate(steps):
        denoised = denoise(x, sigma)
        if sigma_next == 0:
            x = denoised  # the first-order update's limit as λ_next → ∞
        else:
            h = math.log(sigma / sigma_next)
            if previous is None:
                estimate = denoised
            else:
                h_last, denoised_last = previous
                r = h_last / h
                estimate = (1 + 1 / (2 * r)) * denoised - (1 / (2 * r)) * denoised_last
            x = (sigma_next / sigma) * x - math.expm1(-h) * estimate
            previous = (h, denoised)
        if callback is not None:
            callback(i, len(steps), x, denoised)
    return x
