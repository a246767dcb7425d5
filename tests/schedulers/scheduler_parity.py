"""Run a whole sampling loop both ways: with diffusers' scheduler (the test-only oracle) and with ours."""

from __future__ import annotations

import inspect
import math
from typing import Any

import torch
from torch import Tensor

from nodes.schedulers import NoiseSchedule, sample

SHAPE = (2, 4, 8, 8)

SD_CONFIG: dict[str, Any] = {
    "_class_name": "PNDMScheduler",
    "_diffusers_version": "0.6.0",
    "beta_start": 0.00085,
    "beta_end": 0.012,
    "beta_schedule": "scaled_linear",
    "num_train_timesteps": 1000,
    "set_alpha_to_one": False,
    "skip_prk_steps": True,
    "steps_offset": 1,
    "trained_betas": None,
    "clip_sample": False,
}


class DummyNet:
    """A fixed network that answers roughly like a trained one, so trajectories stay O(1).

    It predicts what is optimal for unit Gaussian data (ε ≈ sqrt(1-ᾱ)·x_t, v ≈ 0, x0 ≈ sqrt(ᾱ)·x_t)
    plus a fixed random channel mixing and a t-dependent offset (a different one per prediction
    type, so the three parameterisations describe different denoisers); it reads ᾱ at (fractional) t by
    linear interpolation. Deterministic in (x, t) and sensitive to both, so any difference in what
    the two loops feed it shows up in the result.
    """

    def __init__(self, config: dict[str, Any], seed: int = 0) -> None:
        self.alphas_cumprod = NoiseSchedule.from_config(config).alphas_cumprod.double()
        self.prediction_type = config.get("prediction_type", "epsilon")
        generator = torch.Generator().manual_seed(seed)
        channels = SHAPE[1]
        self.weight = 0.3 * torch.randn(channels, channels, generator=generator) / math.sqrt(channels)
        self.bias = 0.1 * torch.randn(channels, generator=generator)

    def __call__(self, x: Tensor, t: Tensor | float) -> Tensor:
        t = torch.as_tensor(t, dtype=torch.float64).reshape(-1, 1, 1, 1)
        low = t.floor().long().clamp(max=len(self.alphas_cumprod) - 2)
        alpha_bar = torch.lerp(self.alphas_cumprod[low], self.alphas_cumprod[low + 1], t - low).to(x.dtype)
        t = t.to(x.dtype)
        mixed = (x.movedim(1, -1) @ self.weight.T.to(x.dtype)).movedim(-1, 1)  # channel mixing, fast on tiny tensors
        bias = self.bias.to(x.dtype).reshape(1, -1, 1, 1)
        perturbation = mixed * torch.cos(t / 300) + bias * torch.sin(t / 150)
        if self.prediction_type == "epsilon":
            return (1 - alpha_bar).sqrt() * x + alpha_bar.sqrt() * perturbation
        if self.prediction_type == "v_prediction":
            return 1.5 * perturbation
        return alpha_bar.sqrt() * x - perturbation


def run_diffusers(scheduler: Any, steps: int, seed: int, net: DummyNet, **step_kwargs: Any) -> tuple[Tensor, Tensor]:
    """diffusers' own txt2img loop: noise·init_noise_sigma, then scale -> model -> step.

    Returns the result and the network's first input, i.e. the starting state in the model's scale.
    """
    generator = torch.Generator().manual_seed(seed)
    scheduler.set_timesteps(steps)
    x = torch.randn(SHAPE, generator=generator) * scheduler.init_noise_sigma
    takes_generator = "generator" in inspect.signature(scheduler.step).parameters
    first_input = None
    for t in scheduler.timesteps:
        model_input = scheduler.scale_model_input(x, t)
        first_input = model_input if first_input is None else first_input
        extra = {"generator": generator} if takes_generator else {}
        x = scheduler.step(net(model_input, t), t, x, **step_kwargs, **extra).prev_sample
    return x, first_input


def run_ours(
    config: dict[str, Any],
    sampler: str,
    schedule: str,
    steps: int,
    seed: int,
    net: DummyNet,
    start: Tensor,
    options: dict[str, Any] | None = None,
) -> Tensor:
    """Our txt2img: `sample()` on an empty latent with the same seed, which starts from pure noise.

    diffusers' Euler-family schedulers start linspace/trailing/karras runs from σ0·noise rather than
    pure noise; when diffusers' first network input `start` is not the pure noise, start from exactly
    that state through `add_noise=False`.
    """
    noise_schedule = NoiseSchedule.from_config(config)
    generator = torch.Generator().manual_seed(seed)
    common = dict(sampler=sampler, schedule=schedule, steps=steps, generator=generator, options=options)
    noise = torch.randn(SHAPE, generator=torch.Generator().manual_seed(seed))
    if torch.allclose(start, noise, rtol=1e-6, atol=1e-6):
        return sample(net, torch.zeros(SHAPE), noise_schedule, **common)
    torch.randn(SHAPE, generator=generator)  # consume the draw diffusers made, as txt2img would
    return sample(net, start, noise_schedule, add_noise=False, **common)


def max_abs_diff(a: Tensor, b: Tensor) -> float:
    return float((a - b).abs().max())
