"""Linear multistep (Adams–Bashforth on a non-uniform σ grid): the step integrates the Lagrange
polynomial through the last `order` derivatives exactly (k-diffusion `sample_lms`, diffusers
`LMSDiscreteScheduler`). The order ramps up 1, 2, ... as history accumulates."""

from __future__ import annotations

from collections.abc import Sequence

from numpy.polynomial import Polynomial
from torch import Tensor

from nodes.schedulers.denoiser import Denoise
from nodes.schedulers.samplers.common import StepCallback, intervals, to_d, weighted_sum


def lms_coefficients(history: Sequence[float], sigma_next: float) -> list[float]:
    """∫ from history[-1] to sigma_next of each Lagrange basis polynomial over the σ's in `history`.

    `history` holds the noise levels of the stored derivatives, oldest first; the coefficients come back
    in the same order.
    """
    coefficients = []
    for j, sigma_j in enumerate(history):
        basis = Polynomial([1.0])
        for k, sigma_k in enumerate(history):
            if k != j:
                basis = basis * Polynomial([-sigma_k, 1.0]) / (sigma_j - sigma_k)
        antiderivative = basis.integ()
        coefficients.append(float(antiderivative(sigma_next) - antiderivative(history[-1])))
    return coefficients


def sample_lms(
    denoise: Denoise,
    x: Tensor,
    sigmas: Sequence[float],
    *,
    order: int = 4,
    callback: StepCallback | None = None,
) -> Tensor:
    if isinstance(order, bool) or not isinstance(order, int) or order < 1:
        raise ValueError(f"lms: order must be an integer >= 1, got {order!r}")
    steps = intervals(sigmas)
    derivatives: list[Tensor] = []
    levels: list[float] = []
    for i, (sigma, sigma_next) in enumerate(steps):
        denoised = denoise(x, sigma)
        derivatives = [*derivatives, to_d(x, sigma, denoised)][-order:]
        levels = [*levels, sigma][-order:]
        coefficients = lms_coefficients(levels, sigma_next)
        x = x + weighted_sum(coefficients, derivatives)
        if callback is not None:
            callback(i, len(steps), x, denoised)
    return x
