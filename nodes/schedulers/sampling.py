"""`sample()`: one call that runs a whole denoising loop, for KSampler-style nodes and scripts.

Conventions (x is the sampler's variance-exploding state x0 + σ·ε; the latent a caller passes in or
gets back is in the model's own scale):

- A run covers steps [first, last) of a `steps`-step schedule. `denoise < 1` (img2img strength) skips
  the first `steps - int(steps·denoise)` steps, exactly as diffusers' img2img pipelines do with
  `strength`; `start_step`/`end_step` choose the range directly (KSamplerAdvanced).
- Adding noise: a run starting at step 0 starts from pure noise, x = latent + sqrt(1+σ0²)·noise
  (diffusers' `init_noise_sigma`: unit variance for the network); a later start noises the latent to
  its level, x = latent + σ0·noise (diffusers' `add_noise`, i.e. q(x_t | x0)).
- A run that stops early with `return_leftover_noise` hands back the noisy state as the network sees
  it, x / sqrt(1+σ²) = sqrt(ᾱ)·x0 + sqrt(1-ᾱ)·ε; `add_noise=False` reads its latent the same way, so
  such runs chain. Otherwise the last step lands on σ = 0 (or on ᾱ_0 for DDIM/PNDM configs with
  `set_alpha_to_one: false`, as diffusers, returned in the same scale).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor

from nodes.schedulers.catalog import SamplerSpec, sampler_spec
from nodes.schedulers.denoiser import Denoise, Denoiser, Model
from nodes.schedulers.inpaint import Inpaint, InpaintDenoiser
from nodes.schedulers.noise import draw_noise
from nodes.schedulers.noise_schedule import NoiseSchedule
from nodes.schedulers.samplers.common import StepCallback
from nodes.schedulers.schedules import build_schedule


def sample(
    model: Model,
    latent: Tensor,
    noise_schedule: NoiseSchedule,
    *,
    sampler: str = "euler",
    schedule: str = "normal",
    steps: int = 20,
    denoise: float = 1.0,
    start_step: int | None = None,
    end_step: int | None = None,
    add_noise: bool = True,
    return_leftover_noise: bool = False,
    generator: torch.Generator | None = None,
    noise: Tensor | None = None,
    inpaint: Inpaint | None = None,
    callback: StepCallback | None = None,
    options: Mapping[str, Any] | None = None,
) -> Tensor:
    """Denoise `latent` with `model` (`model(x_t, timestep) -> ε | v | x0`, guidance applied inside).

    `generator` seeds the initial noise (unless `noise` is given) and a stochastic sampler's noise;
    noise is drawn on the generator's device, so a CPU generator gives the same result on any device.
    `options` are sampler tuning knobs such as `eta` or `order` (see `SAMPLERS[name].options`).
    """
    spec = sampler_spec(sampler)
    options = _checked_options(sampler, spec, options, generator)
    full = build_schedule(schedule, noise_schedule, steps)
    first, last = _step_range(steps, denoise, start_step, end_step)
    if first >= last:
        return latent
    run = full.between(first, last)
    if last == steps or not return_leftover_noise:
        run = run.ending_at(noise_schedule.final_sigma if spec.ends_at_final_alpha else 0.0)

    # The sampler state is kept in at least float32 (diffusers and ComfyUI do too): fp16 steps lose
    # the small differences late steps are made of. The model gets that dtype and casts as it needs.
    state = latent.to(torch.promote_types(latent.dtype, torch.float32))
    if inpaint is not None:
        inpaint = inpaint.for_latent(state)
    # Without added noise or a mask the noise goes unused (zeros, as ComfyUI), and no draw is made.
    noise = _initial_noise(state, noise, generator) if add_noise or inpaint is not None else torch.zeros_like(state)
    sigma_start, sigma_end = run.sigmas[0], run.sigmas[-1]
    if not add_noise:
        x = state * math.sqrt(1 + sigma_start**2)
    elif first == 0:
        x = state + noise * math.sqrt(1 + sigma_start**2)
    else:
        x = state + noise * sigma_start

    denoiser: Denoise = Denoiser(
        model,
        noise_schedule,
        dict(zip(run.sigmas, run.timesteps)),
        integer_timesteps=spec.integer_timesteps,
        consistency_boundary=spec.consistency_boundary,
    )
    if inpaint is not None:
        x = inpaint.blend(x, noise, sigma_start)  # the kept region starts on the original's trajectory
        denoiser = InpaintDenoiser(denoiser, inpaint, noise)
    x = spec.function(denoiser, x, run.sigmas, callback=callback, **options)
    if inpaint is not None:
        x = inpaint.blend(x, noise, sigma_end)
    return (x / math.sqrt(1 + sigma_end**2)).to(latent.dtype)


def _checked_options(
    name: str, spec: SamplerSpec, options: Mapping[str, Any] | None, generator: torch.Generator | None
) -> dict[str, Any]:
    """The sampler's keyword arguments: the user's tuning options, plus the generator it needs."""
    options = dict(options or {})
    unknown = sorted(set(options) - set(spec.options))
    if unknown:
        accepted = ", ".join(spec.options) or "none"
        raise ValueError(f"sampler {name!r} has no option(s) {', '.join(unknown)}; it accepts: {accepted}")
    if spec.stochastic:
        if generator is None:
            raise ValueError(f"sampler {name!r} is stochastic: pass a seeded torch.Generator")
        options["generator"] = generator
    return options


def _initial_noise(state: Tensor, noise: Tensor | None, generator: torch.Generator | None) -> Tensor:
    if noise is None:
        if generator is None:
            raise ValueError("initial noise is needed: pass a seeded torch.Generator or a noise tensor")
        return draw_noise(state, generator)
    if noise.shape != state.shape:
        raise ValueError(f"noise has shape {tuple(noise.shape)}, expected the latent's {tuple(state.shape)}")
    return noise.to(device=state.device, dtype=state.dtype)


def _step_range(steps: int, denoise: float, start_step: int | None, end_step: int | None) -> tuple[int, int]:
    """[first, last) step indices of the run; `end_step` past the schedule means its end."""
    if isinstance(denoise, bool) or not isinstance(denoise, (int, float)) or not 0 <= denoise <= 1:
        raise ValueError(f"denoise must be a number in [0, 1], got {denoise!r}")
    for name, value in (("start_step", start_step), ("end_step", end_step)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise ValueError(f"{name} must be a non-negative integer or None, got {value!r}")
    if denoise < 1 and start_step is not None:
        raise ValueError("pass either denoise < 1 (img2img strength) or start_step, not both")
    first = start_step if start_step is not None else steps - int(steps * denoise)
    last = steps if end_step is None else min(end_step, steps)
    return first, last
