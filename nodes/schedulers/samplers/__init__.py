"""One module per sampling algorithm; each `sample_*` function reads like its paper."""

from nodes.schedulers.samplers.common import StepCallback
from nodes.schedulers.samplers.ddim import sample_ddim
from nodes.schedulers.samplers.ddpm import sample_ddpm
from nodes.schedulers.samplers.dpm_2 import sample_dpm_2
from nodes.schedulers.samplers.dpm_2_ancestral import sample_dpm_2_ancestral
from nodes.schedulers.samplers.dpmpp_2m import sample_dpmpp_2m
from nodes.schedulers.samplers.dpmpp_2m_sde import sample_dpmpp_2m_sde
from nodes.schedulers.samplers.dpmpp_2s_ancestral import sample_dpmpp_2s_ancestral
from nodes.schedulers.samplers.dpmpp_sde import sample_dpmpp_sde
from nodes.schedulers.samplers.euler import sample_euler
from nodes.schedulers.samplers.euler_ancestral import sample_euler_ancestral
from nodes.schedulers.samplers.heun import sample_heun
from nodes.schedulers.samplers.lcm import sample_lcm
from nodes.schedulers.samplers.lms import sample_lms
from nodes.schedulers.samplers.pndm import sample_pndm
from nodes.schedulers.samplers.uni_pc import sample_uni_pc

__all__ = [
    "StepCallback",
    "sample_ddim",
    "sample_ddpm",
    "sample_dpm_2",
    "sample_dpm_2_ancestral",
    "sample_dpmpp_2m",
    "sample_dpmpp_2m_sde",
    "sample_dpmpp_2s_ancestral",
    "sample_dpmpp_sde",
    "sample_euler",
    "sample_euler_ancestral",
    "sample_heun",
    "sample_lcm",
    "sample_lms",
    "sample_pndm",
    "sample_uni_pc",
]
