"""The discrete noise schedule a model was trained with, read from a diffusers `scheduler_config.json`.

A DDPM-style model is trained on `x_t = sqrt(ᾱ_t)·x0 + sqrt(1-ᾱ_t)·ε` for t = 0..T-1. The samplers in
this package work in the variance-exploding coordinates of Karras et al. (2022), `x = x_t / sqrt(ᾱ_t)
= x0 + σ_t·ε`, with `σ_t = sqrt((1-ᾱ_t)/ᾱ_t)`; this module owns the table of σ_t and the conversions
between a (possibly fractional) timestep and σ.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from functools import cached_property
from typing import Any

import torch
from torch import Tensor

PREDICTION_TYPES = ("epsilon", "v_prediction", "sample")
BETA_SCHEDULES = ("linear", "scaled_linear", "squaredcos_cap_v2")

# Config keys that change what a sampler would have to compute and that this package does not implement:
# refusing them is better than silently sampling a different model.
_UNSUPPORTED_WHEN_TRUE = ("thresholding", "rescale_betas_zero_snr")


@dataclass(frozen=True)
class NoiseSchedule:
    """Training noise schedule plus the few sampler-relevant settings of a diffusers scheduler config.

    Defaults are diffusers' `DDPMScheduler` defaults except `clip_sample` (off: latent models never
    clip) and `set_alpha_to_one` (on: the last DDIM/PNDM step lands on clean data).
    """

    num_train_timesteps: int = 1000
    beta_start: float = 0.0001
    beta_end: float = 0.02
    beta_schedule: str = "linear"
    trained_betas: tuple[float, ...] | None = None
    prediction_type: str = "epsilon"
    steps_offset: int = 0
    set_alpha_to_one: bool = True
    clip_sample: bool = False
    clip_sample_range: float = 1.0
    sigma_min: float | None = None
    sigma_max: float | None = None
    original_inference_steps: int = 50
    timestep_scaling: float = 10.0

    def __post_init__(self) -> None:
        _check_int("num_train_timesteps", self.num_train_timesteps, minimum=2)
        _check_int("steps_offset", self.steps_offset, minimum=0)
        _check_int("original_inference_steps", self.original_inference_steps, minimum=1)
        for name in ("set_alpha_to_one", "clip_sample"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"scheduler config: {name} must be true or false, got {getattr(self, name)!r}")
        _check_choice("beta_schedule", self.beta_schedule, BETA_SCHEDULES)
        _check_choice("prediction_type", self.prediction_type, PREDICTION_TYPES)
        _check_positive("beta_start", self.beta_start)
        _check_positive("beta_end", self.beta_end)
        _check_positive("clip_sample_range", self.clip_sample_range)
        _check_positive("timestep_scaling", self.timestep_scaling)
        for name in ("sigma_min", "sigma_max"):
            if getattr(self, name) is not None:
                _check_positive(name, getattr(self, name))
        if self.beta_schedule != "squaredcos_cap_v2" and not self.beta_start < self.beta_end < 1:
            raise ValueError(
                f"scheduler config: expected 0 < beta_start < beta_end < 1, got beta_start={self.beta_start}, "
                f"beta_end={self.beta_end}"
            )
        if self.trained_betas is not None:
            if len(self.trained_betas) != self.num_train_timesteps:
                raise ValueError(
                    f"scheduler config: trained_betas has {len(self.trained_betas)} values, expected "
                    f"num_train_timesteps={self.num_train_timesteps}"
                )
            if not all(isinstance(b, (int, float)) and 0 < b < 1 for b in self.trained_betas):
                raise ValueError("scheduler config: every trained_betas value must be a number in (0, 1)")

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> NoiseSchedule:
        """Read a diffusers scheduler config dict; keys this package has no use for are ignored."""
        if not isinstance(config, Mapping):
            raise ValueError(
                f"scheduler config must be a mapping (a parsed scheduler_config.json), got {type(config).__name__}"
            )
        for key in _UNSUPPORTED_WHEN_TRUE:
            if config.get(key):
                raise ValueError(f"scheduler config: {key}=true is not supported; expected false or absent")
        if config.get("timestep_type", "discrete") != "discrete":
            raise ValueError(
                f"scheduler config: timestep_type={config['timestep_type']!r} is not supported; expected 'discrete'"
            )
        known = {f.name for f in fields(cls)}
        values = {key: value for key, value in config.items() if key in known and value is not None}
        if "trained_betas" in values:
            values["trained_betas"] = tuple(values["trained_betas"])
        for key in ("beta_start", "beta_end", "clip_sample_range", "sigma_min", "sigma_max", "timestep_scaling"):
            if key in values:
                values[key] = _as_float(key, values[key])
        return cls(**values)

    @cached_property
    def betas(self) -> Tensor:
        """β_t for t = 0..T-1 in float32, computed exactly as diffusers does so σ tables agree bit for bit."""
        steps = self.num_train_timesteps
        if self.trained_betas is not None:
            return torch.tensor(self.trained_betas, dtype=torch.float32)
        if self.beta_schedule == "linear":
            return torch.linspace(self.beta_start, self.beta_end, steps, dtype=torch.float32)
        if self.beta_schedule == "scaled_linear":
            # Latent diffusion's schedule: linear in sqrt(β).
            return torch.linspace(self.beta_start**0.5, self.beta_end**0.5, steps, dtype=torch.float32) ** 2

        # Nichol & Dhariwal (2021) eq. 17, cosine ᾱ(t) with s = 0.008, β capped at 0.999.
        def alpha_bar(t: float) -> float:
            return math.cos((t + 0.008) / 1.008 * math.pi / 2) ** 2

        betas = [min(1 - alpha_bar((i + 1) / steps) / alpha_bar(i / steps), 0.999) for i in range(steps)]
        return torch.tensor(betas, dtype=torch.float32)

    @cached_property
    def alphas_cumprod(self) -> Tensor:
        """ᾱ_t = Π_{s<=t} (1 - β_s), float32."""
        return torch.cumprod(1.0 - self.betas, dim=0)

    @cached_property
    def sigmas(self) -> Tensor:
        """σ_t = sqrt((1-ᾱ_t)/ᾱ_t) for t = 0..T-1 (ascending), float64 for interpolation."""
        alphas_cumprod = self.alphas_cumprod
        return (((1 - alphas_cumprod) / alphas_cumprod) ** 0.5).double()

    @cached_property
    def _log_sigmas(self) -> Tensor:
        return self.sigmas.log()

    @property
    def min_sigma(self) -> float:
        """Smallest noise level schedules should reach: config `sigma_min`, else σ_0."""
        return self.sigma_min if self.sigma_min is not None else float(self.sigmas[0])

    @property
    def max_sigma(self) -> float:
        """Largest noise level schedules should start from: config `sigma_max`, else σ_{T-1}."""
        return self.sigma_max if self.sigma_max is not None else float(self.sigmas[-1])

    @property
    def final_sigma(self) -> float:
        """Where DDIM/PNDM's last step lands: ᾱ = 1 (σ = 0) with `set_alpha_to_one`, else ᾱ_0 (σ_0)."""
        return 0.0 if self.set_alpha_to_one else float(self.sigmas[0])

    def sigma_at(self, timesteps: Tensor) -> Tensor:
        """σ at (possibly fractional) timesteps, linear in σ between table entries (diffusers' np.interp)."""
        t = timesteps.double()
        if ((t < 0) | (t > self.num_train_timesteps - 1)).any():
            raise ValueError(f"timesteps must lie in [0, {self.num_train_timesteps - 1}], got {t.tolist()}")
        low = t.floor().long().clamp(max=self.num_train_timesteps - 2)
        frac = t - low
        return self.sigmas[low] + frac * (self.sigmas[low + 1] - self.sigmas[low])

    def timestep_at(self, sigmas: Tensor) -> Tensor:
        """Fractional timestep of each σ, linear in log σ between table entries, clamped to [0, T-1]."""
        log_sigma = sigmas.double().clamp(min=1e-10).log()
        log_table = self._log_sigmas
        # Index of the last table entry with log σ_t <= log σ, kept one short of the end for the bracket.
        low = (torch.searchsorted(log_table, log_sigma, right=True) - 1).clamp(0, self.num_train_timesteps - 2)
        weight = (log_sigma - log_table[low]) / (log_table[low + 1] - log_table[low])
        return low + weight.clamp(0, 1)


def _check_int(name: str, value: object, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"scheduler config: {name} must be an integer >= {minimum}, got {value!r}")


def _check_positive(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0 or not math.isfinite(value):
        raise ValueError(f"scheduler config: {name} must be a positive number, got {value!r}")


def _check_choice(name: str, value: object, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"scheduler config: {name} must be one of {', '.join(choices)}; got {value!r}")


def _as_float(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"scheduler config: {name} must be a number, got {value!r}")
    return float(value)
