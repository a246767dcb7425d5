"""DPM-Solver-2 as Karras et al. (2022) use it: a midpoint step in log σ, i.e. evaluate the derivative
at σ_mid = sqrt(σ·σ_next) and take the full step with it (k-diffusion `sample_dpm_2`, diffusers
`KDPM2DiscreteScheduler`). The last step, to σ = 0, is a plain Euler step."""

from __future__ import annotations

import math
from collections.abc import Sequence

from torch import Tensor

from nodes.schedulers.denoiser import Denoise
from nodes.schedulers.samplers.common import StepCallback, intervals, to_d


def sample_dpm_2(
    denoise: Denoise, x: Tensor, sigmas: Sequence[float], *, callback: StepCallback | None = None
) -> Tensor:
    steps = intervals(sigmas)
    for i, (sigma, sigma_next) in enumerate(steps):
        denoised = denoise(x, sigma)
        d = to_d(x, sigma, denoised)
        if sigma_next == 0:
            x = x + d * (sigma_next - sigma)
        else:
            sigma_mid = math.exp((math.log(sigma) + math.log(sigma_next)) / 2)
            x_mid = x + d * (sigma_mid - sigma)
            d_mid = to_d(x_mid, sigma_mid, denoise(x_mid, sigma_mid))
            x = x + d_mid * (sigma_next - sigma)
        if callback is not None:
            callback(i, len(steps), x, denoised)
    return x
