"""PLMS, the pseudo linear multistep sampler of PNDM (Liu et al. 2022, eq. 11-12), in the
`skip_prk_steps` form Stable Diffusion uses (diffusers `PNDMScheduler`).

The paper's transfer φ(x_t, ε, t, t-δ) (eq. 11) is exactly the DDIM step, which in
variance-exploding coordinates is x_next = x + (σ_next - σ)·ε. PLMS feeds it an Adams–Bashforth
combination of the last four noise predictions (eq. 12). With no history yet, the first step is a
pseudo-Heun step: the average of ε at the start and at an Euler prediction of the end.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor

from nodes.schedulers.denoiser import Denoise
from nodes.schedulers.samplers.common import StepCallback, intervals, weighted_sum

# Adams–Bashforth weights for 1..4 noise predictions, newest first (eq. 12 for four).
_ADAMS_BASHFORTH = ((1.0,), (3 / 2, -1 / 2), (23 / 12, -16 / 12, 5 / 12), (55 / 24, -59 / 24, 37 / 24, -9 / 24))


def sample_pndm(
    denoise: Denoise, x: Tensor, sigmas: Sequence[float], *, callback: StepCallback | None = None
) -> Tensor:
    steps = intervals(sigmas)
    history: list[Tensor] = []  # noise predictions of earlier steps, oldest first
    for i, (sigma, sigma_next) in enumerate(steps):
        denoised = denoise(x, sigma)
        eps = (x - denoised) / sigma
        if i == 0 and len(steps) > 1:
            x_euler = x + (sigma_next - sigma) * eps
            eps_end = (x_euler - denoise(x_euler, sigma_next)) / sigma_next
            combined = (eps + eps_end) / 2
        else:
            recent = [eps, *reversed(history)]
            weights = _ADAMS_BASHFORTH[len(recent) - 1]
            combined = weighted_sum(weights, recent)
        history = [*history, eps][-3:]
        x = x + (sigma_next - sigma) * combined
        if callback is not None:
            callback(i, len(steps), x, denoised)
    return x
