"""From a network's raw output to the denoised estimate x0 the samplers work with.

The samplers follow k-diffusion: `denoise(x, σ) -> x0` with `x = x0 + σ·ε` (variance exploding).
A DDPM-trained network instead sees `x_t = x / sqrt(σ²+1)` and a timestep, and predicts ε, v or x0;
`Denoiser` is the conversion (k-diffusion's `DiscreteEpsDDPMDenoiser` / `DiscreteVDDPMDenoiser`).
Classifier-free guidance belongs inside `model`: the samplers never see conditioning.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import torch
from torch import Tensor

from nodes.schedulers.noise_schedule import NoiseSchedule

Denoise = Callable[[Tensor, float], Tensor]
"""`denoise(x, sigma) -> x0`, x in variance-exploding coordinates."""

Model = Callable[[Tensor, Tensor], Tensor]
"""`model(x_t, timestep) -> ε | v | x0` with x_t [B, ...] and timestep a float32 tensor [B]."""


class Denoiser:
    """`denoise(x, σ) -> x0` over a network trained on a discrete DDPM noise schedule.

    `timesteps` pins the network timestep for noise levels a schedule chose by timestep (e.g. the
    fractional timesteps of a linspace schedule, which log-σ interpolation would not reproduce);
    other σ (a sampler's intermediate levels) are mapped by log-σ interpolation. With
    `integer_timesteps` the network only ever sees the nearest trained timestep, as diffusers'
    discrete-time solvers (DDIM, DPM-Solver, UniPC, ...) and ComfyUI feed it.
    `consistency_boundary` applies LCM's boundary condition (Luo et al. 2023, eq. 9 / Song et al.
    2023): x0 = c_skip(t)·x_t + c_out(t)·x0_pred, which is the identity at t = 0.
    """

    def __init__(
        self,
        model: Model,
        noise_schedule: NoiseSchedule,
        timesteps: Mapping[float, float] | None = None,
        *,
        integer_timesteps: bool = False,
        consistency_boundary: bool = False,
    ) -> None:
        self.model = model
        self.noise_schedule = noise_schedule
        self._timesteps = dict(timesteps or {})
        self.integer_timesteps = integer_timesteps
        self.consistency_boundary = consistency_boundary

    def timestep(self, sigma: float) -> float:
        """The network timestep for noise level σ."""
        timestep = self._timesteps.get(sigma)
        if timestep is None:
            timestep = float(self.noise_schedule.timestep_at(torch.tensor([sigma]))[0])
        return float(round(timestep)) if self.integer_timesteps else timestep

    def __call__(self, x: Tensor, sigma: float) -> Tensor:
        if not sigma > 0:
            raise ValueError(f"the network cannot be evaluated at sigma={sigma}; expected sigma > 0")
        scale = 1 / math.sqrt(sigma**2 + 1)  # sqrt(ᾱ): from x0 + σε to sqrt(ᾱ)x0 + sqrt(1-ᾱ)ε
        x_t = x * scale
        timestep = self.timestep(sigma)
        output = self.model(x_t, torch.full((x.shape[0],), timestep, device=x.device, dtype=torch.float32))
        if output.shape != x.shape:
            raise ValueError(f"model output has shape {tuple(output.shape)}, expected {tuple(x.shape)} like its input")
        prediction = self.noise_schedule.prediction_type
        if prediction == "epsilon":
            denoised = x - sigma * output
        elif prediction == "v_prediction":
            # x0 = sqrt(ᾱ)·x_t - sqrt(1-ᾱ)·v (Salimans & Ho 2022), with sqrt(1-ᾱ) = σ·sqrt(ᾱ).
            denoised = scale * x_t - sigma * scale * output
        else:
            denoised = output
        if self.noise_schedule.clip_sample:
            limit = self.noise_schedule.clip_sample_range
            denoised = denoised.clamp(-limit, limit)
        if self.consistency_boundary:
            denoised = self._boundary_condition(timestep, x_t, denoised)
        return denoised

    def _boundary_condition(self, timestep: float, x_t: Tensor, denoised: Tensor) -> Tensor:
        sigma_data = 0.5
        scaled = timestep * self.noise_schedule.timestep_scaling
        c_skip = sigma_data**2 / (scaled**2 + sigma_data**2)
        c_out = scaled / math.sqrt(scaled**2 + sigma_data**2)
        return c_out * denoised + c_skip * x_t
