"""The samplers by the names ComfyUI users know, and what `sample()` must know to run each one."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from types import MappingProxyType

from torch import Tensor

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

# Keyword arguments `sample()` supplies itself; every other keyword-only parameter is a user option.
_SUPPLIED = frozenset({"callback", "generator", "noise_sampler"})


@dataclass(frozen=True)
class SamplerSpec:
    """A sampler function and how to drive it.

    integer_timesteps: the network sees only trained timesteps (nearest in log σ), as the diffusers twin
        (DDIM, DDPM, PNDM, DPM-Solver, UniPC, LCM) and ComfyUI do.
    ends_at_final_alpha: a full run's last step lands on the config's final ᾱ (`set_alpha_to_one`),
        as DDIM and PNDM define it; other samplers end at σ = 0.
    consistency_boundary: the denoiser applies LCM's c_skip/c_out boundary condition.
    """

    function: Callable[..., Tensor]
    stochastic: bool = False
    integer_timesteps: bool = False
    ends_at_final_alpha: bool = False
    consistency_boundary: bool = False

    @property
    def options(self) -> tuple[str, ...]:
        """Names of the tuning options (eta, order, ...) the sampler accepts."""
        bound = self.function.keywords if isinstance(self.function, partial) else {}
        return tuple(
            name
            for name, parameter in inspect.signature(self.function).parameters.items()
            if parameter.kind is inspect.Parameter.KEYWORD_ONLY and name not in _SUPPLIED and name not in bound
        )


SAMPLERS: Mapping[str, SamplerSpec] = MappingProxyType(
    {
        "euler": SamplerSpec(sample_euler),
        "euler_ancestral": SamplerSpec(sample_euler_ancestral, stochastic=True),
        "heun": SamplerSpec(sample_heun),
        "dpm_2": SamplerSpec(sample_dpm_2),
        "dpm_2_ancestral": SamplerSpec(sample_dpm_2_ancestral, stochastic=True),
        "lms": SamplerSpec(sample_lms),
        "dpmpp_2s_ancestral": SamplerSpec(sample_dpmpp_2s_ancestral, stochastic=True),
        "dpmpp_sde": SamplerSpec(sample_dpmpp_sde, stochastic=True),
        "dpmpp_2m": SamplerSpec(sample_dpmpp_2m, integer_timesteps=True),
        "dpmpp_2m_sde": SamplerSpec(sample_dpmpp_2m_sde, stochastic=True, integer_timesteps=True),
        "ddim": SamplerSpec(sample_ddim, stochastic=True, integer_timesteps=True, ends_at_final_alpha=True),
        "ddpm": SamplerSpec(sample_ddpm, stochastic=True, integer_timesteps=True),
        "pndm": SamplerSpec(sample_pndm, integer_timesteps=True, ends_at_final_alpha=True),
        "uni_pc": SamplerSpec(partial(sample_uni_pc, variant="bh1"), integer_timesteps=True),
        "uni_pc_bh2": SamplerSpec(partial(sample_uni_pc, variant="bh2"), integer_timesteps=True),
        "lcm": SamplerSpec(sample_lcm, stochastic=True, integer_timesteps=True, consistency_boundary=True),
    }
)
SAMPLER_NAMES: tuple[str, ...] = tuple(SAMPLERS)


def sampler_spec(name: str) -> SamplerSpec:
    """The named sampler; an unknown name raises with the list of valid ones."""
    if name not in SAMPLERS:
        raise ValueError(f"unknown sampler {name!r}; expected one of: {', '.join(SAMPLER_NAMES)}")
    return SAMPLERS[name]
