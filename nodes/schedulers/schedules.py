"""Sampling schedules: which noise levels a run visits, and the network timestep at each.

Every named schedule returns `steps` strictly descending noise levels followed by 0. The names are
diffusers' `timestep_spacing` options (linspace, leading, trailing), its sigma options (karras,
exponential), ComfyUI's scheduler names (normal = linspace, simple, sgm_uniform) and LCM's schedule;
README.md maps each onto its diffusers and ComfyUI twin.

σ at a fractional timestep is linear in σ between table entries (as diffusers); the timestep of a
σ-defined schedule is linear in log σ (as k-diffusion and diffusers).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from itertools import pairwise
from types import MappingProxyType

import torch
from torch import Tensor

from nodes.schedulers.noise_schedule import NoiseSchedule


@dataclass(frozen=True)
class SamplingSchedule:
    """The noise levels of one sampling run, strictly descending, and the network timestep at each but the last."""

    sigmas: tuple[float, ...]
    timesteps: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.sigmas) < 2 or len(self.timesteps) != len(self.sigmas) - 1:
            raise ValueError(
                f"a sampling schedule needs n+1 >= 2 sigmas and n timesteps, got {len(self.sigmas)} sigmas "
                f"and {len(self.timesteps)} timesteps"
            )
        if not all(math.isfinite(s) and s >= 0 for s in self.sigmas):
            raise ValueError(f"sigmas must be finite and >= 0, got {self.sigmas}")
        if any(a <= b for a, b in pairwise(self.sigmas)):
            raise ValueError(
                f"sigmas must strictly decrease (repeated noise levels usually mean more steps than the "
                f"schedule can place), got {self.sigmas}"
            )

    @property
    def steps(self) -> int:
        return len(self.timesteps)

    def between(self, start: int, end: int) -> SamplingSchedule:
        """Steps start..end-1 of this run, i.e. the noise levels sigmas[start..end]."""
        if not 0 <= start < end <= self.steps:
            raise ValueError(f"expected 0 <= start < end <= {self.steps}, got start={start}, end={end}")
        return SamplingSchedule(self.sigmas[start : end + 1], self.timesteps[start:end])

    def ending_at(self, sigma: float) -> SamplingSchedule:
        """This run with its last step landing on `sigma`.

        Steps that would start at or below `sigma` are dropped (diffusers runs them as no-ops); if even
        the first step starts there, the run ends at 0 instead.
        """
        sigmas, timesteps = list(self.sigmas[:-1]), list(self.timesteps)
        while len(sigmas) > 1 and sigmas[-1] <= sigma:
            sigmas.pop()
            timesteps.pop()
        final = sigma if sigmas[-1] > sigma else 0.0
        return SamplingSchedule((*sigmas, final), tuple(timesteps))


ScheduleFn = Callable[[NoiseSchedule, int], SamplingSchedule]


def from_timesteps(noise_schedule: NoiseSchedule, timesteps: Tensor) -> SamplingSchedule:
    """A run visiting these descending (possibly fractional) timesteps, then σ = 0."""
    sigmas = noise_schedule.sigma_at(timesteps)
    return SamplingSchedule((*sigmas.tolist(), 0.0), tuple(timesteps.double().tolist()))


def from_sigmas(noise_schedule: NoiseSchedule, sigmas: Tensor) -> SamplingSchedule:
    """A run visiting these descending noise levels, then σ = 0; timesteps by log-σ interpolation."""
    return SamplingSchedule((*sigmas.double().tolist(), 0.0), tuple(noise_schedule.timestep_at(sigmas).tolist()))


def linspace_schedule(noise_schedule: NoiseSchedule, steps: int) -> SamplingSchedule:
    _check_steps(noise_schedule, steps)
    timesteps = torch.linspace(noise_schedule.num_train_timesteps - 1, 0, steps, dtype=torch.float64)
    # The network receives float32 timesteps: place σ at exactly those.
    return from_timesteps(noise_schedule, timesteps.float().double())


def leading_schedule(noise_schedule: NoiseSchedule, steps: int) -> SamplingSchedule:
    _check_steps(noise_schedule, steps)
    ratio = noise_schedule.num_train_timesteps // steps
    timesteps = torch.arange(steps - 1, -1, -1, dtype=torch.float64) * ratio + noise_schedule.steps_offset
    if timesteps[0] > noise_schedule.num_train_timesteps - 1:
        raise ValueError(
            f"leading schedule: {steps} steps with steps_offset={noise_schedule.steps_offset} would start at "
            f"timestep {int(timesteps[0])}, past the last trained timestep {noise_schedule.num_train_timesteps - 1}"
        )
    return from_timesteps(noise_schedule, timesteps)


def trailing_schedule(noise_schedule: NoiseSchedule, steps: int) -> SamplingSchedule:
    _check_steps(noise_schedule, steps)
    train_steps = noise_schedule.num_train_timesteps
    timesteps = (train_steps - torch.arange(steps, dtype=torch.float64) * (train_steps / steps)).round() - 1
    return from_timesteps(noise_schedule, timesteps)


def simple_schedule(noise_schedule: NoiseSchedule, steps: int) -> SamplingSchedule:
    _check_steps(noise_schedule, steps)
    train_steps = noise_schedule.num_train_timesteps
    timesteps = train_steps - 1 - (torch.arange(steps, dtype=torch.float64) * (train_steps / steps)).floor()
    return from_timesteps(noise_schedule, timesteps)


def sgm_uniform_schedule(noise_schedule: NoiseSchedule, steps: int) -> SamplingSchedule:
    _check_steps(noise_schedule, steps)
    timesteps = torch.linspace(noise_schedule.num_train_timesteps - 1, 0, steps + 1, dtype=torch.float64)[:-1]
    return from_timesteps(noise_schedule, timesteps.float().double())


def karras_schedule(noise_schedule: NoiseSchedule, steps: int, rho: float = 7.0) -> SamplingSchedule:
    """Karras et al. (2022) eq. 5: uniform in σ^(1/ρ) from σ_max to σ_min."""
    _check_steps(noise_schedule, steps)
    ramp = torch.linspace(0, 1, steps, dtype=torch.float64)
    max_inv_rho = noise_schedule.max_sigma ** (1 / rho)
    min_inv_rho = noise_schedule.min_sigma ** (1 / rho)
    return from_sigmas(noise_schedule, (max_inv_rho + ramp * (min_inv_rho - max_inv_rho)) ** rho)


def exponential_schedule(noise_schedule: NoiseSchedule, steps: int) -> SamplingSchedule:
    _check_steps(noise_schedule, steps)
    log_sigmas = torch.linspace(
        math.log(noise_schedule.max_sigma), math.log(noise_schedule.min_sigma), steps, dtype=torch.float64
    )
    return from_sigmas(noise_schedule, log_sigmas.exp())


def lcm_schedule(noise_schedule: NoiseSchedule, steps: int) -> SamplingSchedule:
    """Luo et al. (2023): `steps` evenly skipped entries of the `original_inference_steps` trailing grid."""
    original_steps = noise_schedule.original_inference_steps
    _check_steps(noise_schedule, steps)
    if steps > original_steps:
        raise ValueError(f"lcm schedule: steps must be <= original_inference_steps={original_steps}, got {steps}")
    stride = noise_schedule.num_train_timesteps // original_steps
    grid = torch.arange(original_steps, 0, -1, dtype=torch.float64) * stride - 1
    picks = (torch.arange(steps, dtype=torch.float64) * (original_steps / steps)).floor().long()
    return from_timesteps(noise_schedule, grid[picks])


def _check_steps(noise_schedule: NoiseSchedule, steps: int) -> None:
    if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= noise_schedule.num_train_timesteps:
        raise ValueError(f"steps must be an integer in [1, {noise_schedule.num_train_timesteps}], got {steps!r}")


SCHEDULES: Mapping[str, ScheduleFn] = MappingProxyType(
    {
        "normal": linspace_schedule,
        "linspace": linspace_schedule,
        "leading": leading_schedule,
        "trailing": trailing_schedule,
        "karras": karras_schedule,
        "exponential": exponential_schedule,
        "simple": simple_schedule,
        "sgm_uniform": sgm_uniform_schedule,
        "lcm": lcm_schedule,
    }
)
SCHEDULE_NAMES: tuple[str, ...] = tuple(SCHEDULES)


def build_schedule(name: str, noise_schedule: NoiseSchedule, steps: int) -> SamplingSchedule:
    """The named schedule for `steps` steps; an unknown name raises with the list of valid ones."""
    if name not in SCHEDULES:
        raise ValueError(f"unknown schedule {name!r}; expected one of: {', '.join(SCHEDULE_NAMES)}")
    return SCHEDULES[name](noise_schedule, steps)
