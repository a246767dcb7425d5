"""Samplers against the published equations on a case with a known answer.

Data x0 ~ N(μ, s²) (per coordinate). In variance-exploding coordinates x = x0 + σ·ε the exact denoiser
is D(x, σ) = μ + s²/(s²+σ²)·(x - μ) and the probability-flow ODE has the closed-form solution
x(σ') = μ + (x(σ) - μ)·sqrt((s²+σ'²)/(s²+σ²)). Deterministic samplers must converge to it at their
order; stochastic ones must turn the exact marginal N(μ, s²+σ_max²) into N(μ, s²).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import pytest
import torch
from torch import Tensor

from nodes.schedulers import BrownianNoise, IndependentNoise
from nodes.schedulers.samplers import (
    sample_ddim,
    sample_ddpm,
    sample_dpm_2,
    sample_dpm_2_ancestral,
    sample_dpmpp_2m,
    sample_dpmpp_2m_sde,
    sample_dpmpp_2s_ancestral,
    sample_dpmpp_sde,
    sample_euler,
    sample_euler_ancestral,
    sample_heun,
    sample_lcm,
    sample_lms,
    sample_pndm,
    sample_uni_pc,
)
from nodes.schedulers.samplers.lms import lms_coefficients


@dataclass(frozen=True)
class GaussianData:
    mean: float
    std: float

    def denoise(self, x: Tensor, sigma: float) -> Tensor:
        return self.mean + self.std**2 / (self.std**2 + sigma**2) * (x - self.mean)

    def ode_solution(self, x: Tensor, sigma: float, sigma_end: float) -> Tensor:
        return self.mean + (x - self.mean) * math.sqrt((self.std**2 + sigma_end**2) / (self.std**2 + sigma**2))

    def marginal(self, sigma: float, count: int, generator: torch.Generator) -> Tensor:
        noise = torch.randn(count, generator=generator, dtype=torch.float64)
        return self.mean + math.sqrt(self.std**2 + sigma**2) * noise


DATA = GaussianData(mean=0.5, std=0.5)
# For convergence orders: with s = 2 no sampler's error happens to cross zero in 32..256 steps.
WIDE_DATA = GaussianData(mean=0.5, std=2.0)


def karras(steps: int, sigma_min: float, sigma_max: float = 10.0, rho: float = 7.0) -> list[float]:
    ramp = torch.linspace(0, 1, steps + 1, dtype=torch.float64)
    return ((sigma_max ** (1 / rho) + ramp * (sigma_min ** (1 / rho) - sigma_max ** (1 / rho))) ** rho).tolist()


def _seeded(function: Callable[..., Tensor], **kwargs: object) -> Callable[..., Tensor]:
    return partial(function, generator=torch.Generator().manual_seed(0), **kwargs)


# Deterministic samplers (and stochastic ones at η = 0) with the order their global error must show.
ORDERS: dict[str, tuple[Callable[..., Tensor], float]] = {
    "euler": (sample_euler, 1),
    "ddim": (sample_ddim, 1),
    "euler_ancestral-eta0": (_seeded(sample_euler_ancestral, eta=0.0), 1),
    "heun": (sample_heun, 2),
    "dpm_2": (sample_dpm_2, 2),
    "dpm_2_ancestral-eta0": (_seeded(sample_dpm_2_ancestral, eta=0.0), 2),
    "lms": (sample_lms, 2),  # order 4 once warmed up; the first-order start bounds it
    "pndm": (sample_pndm, 2),
    "dpmpp_2m": (sample_dpmpp_2m, 2),
    "dpmpp_2m_sde-eta0": (_seeded(sample_dpmpp_2m_sde, eta=0.0), 2),
    "dpmpp_2s_ancestral-eta0": (_seeded(sample_dpmpp_2s_ancestral, eta=0.0), 2),
    "dpmpp_sde-eta0": (_seeded(sample_dpmpp_sde, eta=0.0), 2),
    "uni_pc-bh1": (partial(sample_uni_pc, variant="bh1"), 2),  # first-order last step bounds it
    "uni_pc-bh2": (partial(sample_uni_pc, variant="bh2"), 2),
    "uni_pc-bh2-order3": (partial(sample_uni_pc, variant="bh2", order=3), 2),
}


@pytest.mark.parametrize("name", sorted(ORDERS))
def test_deterministic_samplers_converge_to_the_ode_solution_at_their_order(name: str) -> None:
    sampler, order = ORDERS[name]
    x = torch.linspace(-20, 20, 11, dtype=torch.float64)  # states at σ_max, far out in the tails too
    errors = []
    for steps in (32, 128):
        sigmas = karras(steps, sigma_min=0.1)  # ends above 0: measures the solver, not the last jump
        result = sampler(WIDE_DATA.denoise, x, sigmas)
        errors.append(float((result - WIDE_DATA.ode_solution(x, sigmas[0], sigmas[-1])).abs().max()))
    observed = math.log2(errors[0] / errors[1]) / 2  # two doublings of the step count
    assert observed >= order - 0.2, f"{name}: errors {errors}, observed order {observed:.2f}"


@pytest.mark.parametrize(
    ("sampler", "std_tolerance"),
    [
        (sample_euler_ancestral, 0.04),  # first order: still ~5% narrow at 64 steps
        (sample_ddpm, 0.04),
        (sample_dpm_2_ancestral, 0.015),
        (sample_dpmpp_2s_ancestral, 0.015),
        (sample_dpmpp_sde, 0.015),
        (sample_dpmpp_2m_sde, 0.015),
    ],
    ids=lambda value: getattr(value, "__name__", str(value)),
)
def test_stochastic_samplers_reach_the_data_distribution(sampler: Callable[..., Tensor], std_tolerance: float) -> None:
    generator = torch.Generator().manual_seed(1)
    sigmas = [*karras(63, sigma_min=0.02), 0.0]
    result = sampler(DATA.denoise, DATA.marginal(sigmas[0], 20000, generator), sigmas, generator=generator)
    assert float(result.mean()) == pytest.approx(DATA.mean, abs=0.01)
    assert float(result.std()) == pytest.approx(DATA.std, abs=std_tolerance)


@pytest.mark.parametrize("steps", [1, 4])
def test_lcm_with_the_exact_consistency_function_samples_the_data_distribution(steps: int) -> None:
    # A consistency function maps x at σ along the ODE to σ = 0, so jump-and-renoise is exact at any step count.
    def consistency(x: Tensor, sigma: float) -> Tensor:
        return DATA.ode_solution(x, sigma, 0.0)

    generator = torch.Generator().manual_seed(2)
    sigmas = [*(karras(steps - 1, sigma_min=1.0) if steps > 1 else [10.0]), 0.0]
    result = sample_lcm(consistency, DATA.marginal(sigmas[0], 20000, generator), sigmas, generator=generator)
    assert float(result.mean()) == pytest.approx(DATA.mean, abs=0.01)
    assert float(result.std()) == pytest.approx(DATA.std, abs=0.01)


# --- identities between independently written samplers -------------------------------------------------

SIGMAS = [*karras(12, sigma_min=0.03), 0.0]
X = torch.randn(3, 4, generator=torch.Generator().manual_seed(3), dtype=torch.float64) * 10


def _run(sampler: Callable[..., Tensor], seed: int | None = None, **kwargs: object) -> Tensor:
    if seed is not None:
        kwargs["generator"] = torch.Generator().manual_seed(seed)
    return sampler(DATA.denoise, X, SIGMAS, **kwargs)


def test_ddim_at_eta_0_is_euler() -> None:
    assert torch.allclose(_run(sample_ddim), _run(sample_euler), atol=1e-12)


def test_ddim_at_eta_1_is_ddpm_is_ancestral_euler() -> None:
    # Song et al. 2021 §4.1: η = 1 gives DDPM's posterior; in σ coordinates that is the ancestral step.
    ddpm = _run(sample_ddpm, seed=5)
    assert torch.allclose(_run(sample_ddim, seed=5, eta=1.0), ddpm, atol=1e-10)
    assert torch.allclose(_run(sample_euler_ancestral, seed=5), ddpm, atol=1e-10)


def test_sde_samplers_at_eta_0_are_their_ode_solvers() -> None:
    assert torch.allclose(_run(sample_dpmpp_2m_sde, seed=0, eta=0.0), _run(sample_dpmpp_2m), atol=1e-12)
    assert torch.allclose(
        _run(sample_dpmpp_sde, seed=0, eta=0.0), _run(sample_dpmpp_2s_ancestral, seed=0, eta=0.0), atol=1e-12
    )


def test_stochastic_samplers_need_a_generator_or_noise() -> None:
    with pytest.raises(ValueError, match="pass a seeded torch.Generator"):
        sample_euler_ancestral(DATA.denoise, X, SIGMAS)


def test_lms_coefficients_integrate_cubics_exactly() -> None:
    history, target = [3.0, 2.0, 1.2, 0.7], 0.4
    coefficients = lms_coefficients(history, target)
    for power in range(4):
        integral = (target ** (power + 1) - history[-1] ** (power + 1)) / (power + 1)
        assert sum(c * s**power for c, s in zip(coefficients, history)) == pytest.approx(integral, rel=1e-12)
    assert lms_coefficients([2.0], 1.5) == [pytest.approx(-0.5)]


# --- Brownian noise ---------------------------------------------------------------------------------------


def test_brownian_noise_on_successive_steps_draws_like_independent_noise() -> None:
    like = torch.zeros(1000)
    brownian = BrownianNoise(like, torch.Generator().manual_seed(4))
    independent = IndependentNoise(like, torch.Generator().manual_seed(4))
    for sigma, sigma_next in zip(SIGMAS, SIGMAS[1:]):
        assert torch.allclose(brownian(sigma, sigma_next), independent(sigma, sigma_next), atol=1e-4)


def test_brownian_noise_increments_are_those_of_one_path() -> None:
    like = torch.zeros(200000)
    noise = BrownianNoise(like, torch.Generator().manual_seed(6))
    whole = noise(8.0, 2.0)  # [2, 8]
    part = noise(8.0, 5.0)  # [5, 8] nested in it: a bridge draw
    late = noise(2.0, 1.0)  # [1, 2] beyond it: independent of both
    for increment in (whole, part, late):
        assert float(increment.std()) == pytest.approx(1.0, abs=0.01)
    correlation = float((whole * part).mean())
    assert correlation == pytest.approx(math.sqrt(3 / 6), abs=0.01)  # Cov = 3 over sqrt(6·3)
    assert float((whole * late).mean()) == pytest.approx(0.0, abs=0.01)
    assert torch.equal(noise(8.0, 2.0), whole)  # the path is fixed once drawn


def test_brownian_noise_rejects_an_empty_interval() -> None:
    with pytest.raises(ValueError, match="empty interval"):
        BrownianNoise(torch.zeros(2), torch.Generator())(1.0, 1.0)


@pytest.mark.parametrize("sampler", [sample_ddim, sample_euler_ancestral, sample_dpmpp_sde, sample_dpmpp_2m_sde])
def test_negative_eta_is_refused(sampler: Callable[..., Tensor]) -> None:
    with pytest.raises(ValueError, match="eta must be >= 0, got -0.5"):
        _run(sampler, seed=0, eta=-0.5)


def test_eta_above_one_caps_the_noise_at_the_next_level() -> None:
    # σ_up = min(σ_next, ...): every step becomes "denoise fully, then noise to σ_next".
    result = _run(sample_ddim, seed=0, eta=3.0)
    assert torch.isfinite(result).all()
