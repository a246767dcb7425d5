"""Pieces every sampler shares: the step callback, the ODE derivative, the ancestral split, noise."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from itertools import pairwise

import torch
from torch import Tensor

from nodes.schedulers.noise import IndependentNoise, NoiseSampler

StepCallback = Callable[[int, int, Tensor, Tensor], None]
"""`callback(step, total, x, denoised)` after each step; it may raise to stop sampling."""


def intervals(sigmas: Sequence[float]) -> list[tuple[float, float]]:
    """(σ_i, σ_{i+1}) for each step, as Python floats."""
    values = [float(s) for s in sigmas]
    if len(values) < 2:
        raise ValueError(f"a sampler needs at least two noise levels, got {values}")
    return list(pairwise(values))


def to_d(x: Tensor, sigma: float, denoised: Tensor) -> Tensor:
    """dx/dσ of the probability-flow ODE, (x - D(x, σ)) / σ (Karras et al. 2022, eq. 3)."""
    return (x - denoised) / sigma


def weighted_sum(weights: Sequence[float], tensors: Sequence[Tensor]) -> Tensor:
    """Σ w_k·t_k over equally long, non-empty sequences."""
    if not tensors or len(weights) != len(tensors):
        raise ValueError(f"weighted_sum needs as many weights as tensors (>= 1), got {len(weights)} and {len(tensors)}")
    total = weights[0] * tensors[0]
    for weight, tensor in zip(weights[1:], tensors[1:], strict=True):
        total = total + weight * tensor
    return total


def ancestral_step(sigma: float, sigma_next: float, eta: float) -> tuple[float, float]:
    """Split a step σ → σ_next into a deterministic step to σ_down plus fresh noise of std σ_up.

    σ_up² = η²·σ_next²(σ² - σ_next²)/σ² is the DDPM posterior variance (η = 1) in these
    coordinates, capped at σ_next for η > 1; σ_down² + σ_up² = σ_next² keeps the marginal noise
    level right.
    """
    if not eta >= 0:
        raise ValueError(f"eta must be >= 0, got {eta!r}")
    if sigma_next == 0:
        return 0.0, 0.0
    sigma_up = min(sigma_next, eta * math.sqrt(sigma_next**2 * (sigma**2 - sigma_next**2) / sigma**2))
    return math.sqrt(sigma_next**2 - sigma_up**2), sigma_up


def resolve_noise(
    x: Tensor,
    generator: torch.Generator | None,
    noise_sampler: NoiseSampler | None,
    default: Callable[[Tensor, torch.Generator], NoiseSampler] = IndependentNoise,
) -> NoiseSampler:
    """The sampler's noise: the one given, else `default` drawn from `generator`."""
    if noise_sampler is not None:
        return noise_sampler
    if generator is None:
        raise ValueError("this sampler is stochastic: pass a seeded torch.Generator (or a noise_sampler)")
    return default(x, generator)
