"""Noise schedules, sampling schedules and samplers as plain torch (no engine, no diffusers).

Start with `sample()`; `SAMPLER_NAMES` and `SCHEDULE_NAMES` are the choices a node offers.
"""

from nodes.schedulers.catalog import SAMPLER_NAMES, SAMPLERS, SamplerSpec, sampler_spec
from nodes.schedulers.denoiser import Denoise, Denoiser, Model
from nodes.schedulers.inpaint import Inpaint, InpaintDenoiser
from nodes.schedulers.noise import BrownianNoise, IndependentNoise, NoiseSampler, draw_noise
from nodes.schedulers.noise_schedule import NoiseSchedule
from nodes.schedulers.samplers import StepCallback
from nodes.schedulers.sampling import sample
from nodes.schedulers.schedules import SCHEDULE_NAMES, SCHEDULES, SamplingSchedule, build_schedule

__all__ = [
    "SAMPLERS",
    "SAMPLER_NAMES",
    "SCHEDULES",
    "SCHEDULE_NAMES",
    "BrownianNoise",
    "Denoise",
    "Denoiser",
    "IndependentNoise",
    "Inpaint",
    "InpaintDenoiser",
    "Model",
    "NoiseSampler",
    "NoiseSchedule",
    "SamplerSpec",
    "SamplingSchedule",
    "StepCallback",
    "build_schedule",
    "draw_noise",
    "sample",
    "sampler_spec",
]
