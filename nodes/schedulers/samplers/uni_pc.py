"""UniPC (Zhao et al. 2023): the multistep predictor UniP-p (Alg. 2) and corrector UniC-p (Alg. 1) in
data-prediction form, with λ = -log σ and h = λ_next - λ.

At each step the new model output first corrects the state just reached (UniC, reusing that model
evaluation, so no extra cost), then the predictor takes the next step. Orders warm up from 1 and the
last step is first order. `variant` chooses B(h) = h ("bh1") or e^h - 1 ("bh2").
Twin: diffusers `UniPCMultistepScheduler(predict_x0=True)`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

from nodes.schedulers.denoiser import Denoise
from nodes.schedulers.samplers.common import StepCallback, intervals, weighted_sum

VARIANTS = ("bh1", "bh2")


def sample_uni_pc(
    denoise: Denoise,
    x: Tensor,
    sigmas: Sequence[float],
    *,
    order: int = 2,
    variant: str = "bh2",
    callback: StepCallback | None = None,
) -> Tensor:
    if variant not in VARIANTS:
        raise ValueError(f"uni_pc: variant must be one of {', '.join(VARIANTS)}; got {variant!r}")
    if isinstance(order, bool) or not isinstance(order, int) or not 1 <= order <= 3:
        raise ValueError(f"uni_pc: order must be 1, 2 or 3, got {order!r}")
    steps = intervals(sigmas)
    history: list[tuple[float, Tensor]] = []  # (λ, x0) of recent steps, oldest first
    x_start, step_order = x, 0  # state at the start of the previous step, and that step's order
    for i, (sigma, sigma_next) in enumerate(steps):
        denoised = denoise(x, sigma)
        if history:
            x = _correct(x_start, steps[i - 1][0], sigma, history, denoised, step_order, variant)
        history = [*history, (-math.log(sigma), denoised)][-order:]
        step_order = min(order, len(steps) - i, len(history))
        x_start = x
        x = _predict(x, sigma, sigma_next, history, step_order, variant)
        if callback is not None:
            callback(i, len(steps), x, denoised)
    return x


def _predict(
    x: Tensor, sigma: float, sigma_next: float, history: list[tuple[float, Tensor]], order: int, variant: str
) -> Tensor:
    """UniP-`order` from (σ, x) to σ_next; history[-1] is the x0 estimate at σ."""
    denoised = history[-1][1]
    if sigma_next == 0:
        return denoised  # the order-1 update's limit as λ_next → ∞ (the last step is always order 1)
    h = math.log(sigma / sigma_next)
    x_next = (sigma_next / sigma) * x - math.expm1(-h) * denoised
    if order == 1:
        return x_next
    ratios, differences = _scaled_differences(history, order, h)
    b_h = _b_of_h(h, variant)
    # Order 2 uses ρ = 1/2 (the paper's choice); higher orders solve the order conditions.
    rhos = [0.5] if order == 2 else _solve(ratios[:-1], _b_vector(h, b_h, order)[:-1])
    return x_next - b_h * weighted_sum(rhos, differences)


def _correct(
    x_start: Tensor,
    sigma_start: float,
    sigma: float,
    history: list[tuple[float, Tensor]],
    denoised: Tensor,
    order: int,
    variant: str,
) -> Tensor:
    """UniC-`order`: redo the step σ_start → σ with the new x0 estimate `denoised` at σ."""
    denoised_start = history[-1][1]
    h = math.log(sigma_start / sigma)
    x = (sigma / sigma_start) * x_start - math.expm1(-h) * denoised_start
    ratios, differences = _scaled_differences(history, order, h)
    b_h = _b_of_h(h, variant)
    rhos = [0.5] if order == 1 else _solve(ratios, _b_vector(h, b_h, order))
    return x - b_h * weighted_sum(rhos, [*differences, denoised - denoised_start])


def _scaled_differences(history: list[tuple[float, Tensor]], order: int, h: float) -> tuple[list[float], list[Tensor]]:
    """r_k = (λ_{-k} - λ_0)/h and D_k = (x0_{-k} - x0_0)/r_k for the order-1 older estimates, plus r = 1."""
    lambda_now, denoised_now = history[-1]
    ratios, differences = [], []
    for lambda_k, denoised_k in reversed(history[-order:-1]):
        ratio = (lambda_k - lambda_now) / h
        ratios.append(ratio)
        differences.append((denoised_k - denoised_now) / ratio)
    return [*ratios, 1.0], differences


def _b_of_h(h: float, variant: str) -> float:
    return -h if variant == "bh1" else math.expm1(-h)


def _b_vector(h: float, b_h: float, order: int) -> list[float]:
    """b_k = k!·z·φ_{k+1}(z)/B(h) with z = -h, k = 1..order, by φ_{k+1}(z) = (φ_k(z) - 1/k!)/z."""
    z = -h
    phi = math.expm1(z) / z - 1  # z·φ_2(z)
    factorial, b = 1, []
    for k in range(1, order + 1):
        b.append(phi * factorial / b_h)
        factorial *= k + 1
        phi = phi / z - 1 / factorial
    return b


def _solve(ratios: list[float], b: list[float]) -> list[float]:
    """Solve Σ_k ρ_k·r_k^(j-1) = b_j, j = 1..len(b) (the order conditions)."""
    size = len(b)
    matrix = torch.tensor([[r**j for r in ratios[:size]] for j in range(size)], dtype=torch.float64)
    return torch.linalg.solve(matrix, torch.tensor(b, dtype=torch.float64)).tolist()
