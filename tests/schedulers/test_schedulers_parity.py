"""Full sampling loops against diffusers' schedulers (fp32, CPU, same seed): max |diff| <= 1e-4."""

from __future__ import annotations

import math
from typing import Any

import diffusers
import pytest
import torch
from scheduler_parity import SD_CONFIG, SHAPE, DummyNet, max_abs_diff, run_diffusers, run_ours

from nodes.schedulers import Denoiser, NoiseSchedule, SamplingSchedule, build_schedule
from nodes.schedulers.samplers import sample_dpmpp_sde, sample_uni_pc

TOLERANCE = 1e-4
PREDICTIONS = ("epsilon", "v_prediction")

# (diffusers class, extra config, our sampler, our schedule, steps, our options, diffusers step kwargs)
CASES: dict[str, tuple[str, dict[str, Any], str, str, int, dict[str, Any], dict[str, Any]]] = {
    "ddim-leading": ("DDIMScheduler", {}, "ddim", "leading", 10, {}, {}),
    "ddim-leading-7": ("DDIMScheduler", {}, "ddim", "leading", 7, {}, {}),
    "ddim-eta": ("DDIMScheduler", {}, "ddim", "leading", 10, {"eta": 0.5}, {"eta": 0.5}),
    "ddim-trailing": ("DDIMScheduler", {"timestep_spacing": "trailing"}, "ddim", "trailing", 10, {}, {}),
    "ddim-alpha-one": ("DDIMScheduler", {"set_alpha_to_one": True}, "ddim", "leading", 10, {}, {}),
    "ddpm-leading": ("DDPMScheduler", {}, "ddpm", "leading", 10, {}, {}),
    "ddpm-trailing": ("DDPMScheduler", {"timestep_spacing": "trailing"}, "ddpm", "trailing", 10, {}, {}),
    "euler-linspace": ("EulerDiscreteScheduler", {"timestep_spacing": "linspace"}, "euler", "linspace", 10, {}, {}),
    "euler-linspace-13": ("EulerDiscreteScheduler", {"timestep_spacing": "linspace"}, "euler", "normal", 13, {}, {}),
    "euler-leading": ("EulerDiscreteScheduler", {"timestep_spacing": "leading"}, "euler", "leading", 10, {}, {}),
    "euler-trailing-7": ("EulerDiscreteScheduler", {"timestep_spacing": "trailing"}, "euler", "trailing", 7, {}, {}),
    "euler-karras": ("EulerDiscreteScheduler", {"use_karras_sigmas": True}, "euler", "karras", 10, {}, {}),
    "euler-exponential": (
        "EulerDiscreteScheduler",
        {"use_exponential_sigmas": True},
        "euler",
        "exponential",
        10,
        {},
        {},
    ),
    "euler_ancestral-linspace": (
        "EulerAncestralDiscreteScheduler",
        {"timestep_spacing": "linspace"},
        "euler_ancestral",
        "linspace",
        10,
        {},
        {},
    ),
    "euler_ancestral-leading": (
        "EulerAncestralDiscreteScheduler",
        {"timestep_spacing": "leading"},
        "euler_ancestral",
        "leading",
        10,
        {},
        {},
    ),
    "heun-linspace": ("HeunDiscreteScheduler", {"timestep_spacing": "linspace"}, "heun", "linspace", 10, {}, {}),
    "heun-karras": ("HeunDiscreteScheduler", {"use_karras_sigmas": True}, "heun", "karras", 10, {}, {}),
    "dpm_2-linspace": ("KDPM2DiscreteScheduler", {"timestep_spacing": "linspace"}, "dpm_2", "linspace", 10, {}, {}),
    "dpm_2-leading": ("KDPM2DiscreteScheduler", {"timestep_spacing": "leading"}, "dpm_2", "leading", 10, {}, {}),
    "dpm_2_ancestral-linspace": (
        "KDPM2AncestralDiscreteScheduler",
        {"timestep_spacing": "linspace"},
        "dpm_2_ancestral",
        "linspace",
        10,
        {},
        {},
    ),
    "dpm_2_ancestral-trailing": (
        "KDPM2AncestralDiscreteScheduler",
        {"timestep_spacing": "trailing"},
        "dpm_2_ancestral",
        "trailing",
        10,
        {},
        {},
    ),
    "lms-linspace": ("LMSDiscreteScheduler", {"timestep_spacing": "linspace"}, "lms", "linspace", 10, {}, {}),
    "lms-karras": ("LMSDiscreteScheduler", {"use_karras_sigmas": True}, "lms", "karras", 10, {}, {}),
    "dpmpp_2m-trailing": (
        "DPMSolverMultistepScheduler",
        {"timestep_spacing": "trailing"},
        "dpmpp_2m",
        "trailing",
        10,
        {},
        {},
    ),
    "dpmpp_2m-karras": ("DPMSolverMultistepScheduler", {"use_karras_sigmas": True}, "dpmpp_2m", "karras", 10, {}, {}),
    "dpmpp_2m_sde-trailing": (
        "DPMSolverMultistepScheduler",
        {"timestep_spacing": "trailing", "algorithm_type": "sde-dpmsolver++"},
        "dpmpp_2m_sde",
        "trailing",
        10,
        {},
        {},
    ),
    "dpmpp_2m_sde-karras": (
        "DPMSolverMultistepScheduler",
        {"use_karras_sigmas": True, "algorithm_type": "sde-dpmsolver++"},
        "dpmpp_2m_sde",
        "karras",
        10,
        {},
        {},
    ),
    "uni_pc_bh2-trailing": (
        "UniPCMultistepScheduler",
        {"timestep_spacing": "trailing"},
        "uni_pc_bh2",
        "trailing",
        10,
        {},
        {},
    ),
    "uni_pc_bh2-karras": ("UniPCMultistepScheduler", {"use_karras_sigmas": True}, "uni_pc_bh2", "karras", 10, {}, {}),
    "uni_pc_bh2-order3": (
        "UniPCMultistepScheduler",
        {"timestep_spacing": "trailing", "solver_order": 3},
        "uni_pc_bh2",
        "trailing",
        10,
        {"order": 3},
        {},
    ),
    "lcm-4": ("LCMScheduler", {}, "lcm", "lcm", 4, {}, {}),
    "lcm-1": ("LCMScheduler", {}, "lcm", "lcm", 1, {}, {}),
}


def _compare(config: dict[str, Any], case: str, seed: int = 0) -> float:
    class_name, extra, sampler, schedule, steps, options, step_kwargs = CASES[case]
    if class_name == "LMSDiscreteScheduler":
        pytest.importorskip("scipy", reason="diffusers computes its LMS coefficients with scipy")
    config = {**config, **extra}
    net = DummyNet(config)
    scheduler = getattr(diffusers, class_name).from_config(config)
    expected, start = run_diffusers(scheduler, steps, seed, net, **step_kwargs)
    actual = run_ours(config, sampler, schedule, steps, seed, net, start, options)
    assert torch.isfinite(expected).all()
    return max_abs_diff(expected, actual)


@pytest.mark.parametrize("prediction_type", PREDICTIONS)
@pytest.mark.parametrize("case", sorted(CASES))
def test_full_loop_matches_diffusers(case: str, prediction_type: str) -> None:
    assert _compare({**SD_CONFIG, "prediction_type": prediction_type}, case) <= TOLERANCE


@pytest.mark.parametrize("steps", [1, 2, 10])
def test_pndm_plms_matches_diffusers(steps: int) -> None:
    # diffusers combines raw model outputs before converting them to ε, so it only equals PLMS for
    # ε-prediction; ours converts first (the paper's ε-space method), see the README.
    net = DummyNet(SD_CONFIG)
    scheduler = diffusers.PNDMScheduler.from_config(SD_CONFIG)
    expected, start = run_diffusers(scheduler, steps, 0, net)
    actual = run_ours(SD_CONFIG, "pndm", "leading", steps, 0, net, start)
    assert max_abs_diff(expected, actual) <= TOLERANCE


@pytest.mark.parametrize("case", ["ddim-leading", "ddpm-leading", "euler-linspace", "dpmpp_2m-karras"])
def test_sample_prediction_matches_diffusers(case: str) -> None:
    assert _compare({**SD_CONFIG, "prediction_type": "sample"}, case) <= TOLERANCE


def test_ddpm_with_default_linear_betas_and_clipping_matches_diffusers() -> None:
    # DDPMScheduler's own defaults: linear betas 1e-4..0.02, leading, clip_sample on.
    config = {"num_train_timesteps": 1000, "clip_sample": True}
    net = DummyNet(config)
    scheduler = diffusers.DDPMScheduler.from_config(config)
    expected, start = run_diffusers(scheduler, 20, 3, net)
    actual = run_ours(config, "ddpm", "leading", 20, 3, net, start)
    unclipped = run_ours({**config, "clip_sample": False}, "ddpm", "leading", 20, 3, net, start)
    assert max_abs_diff(expected, unclipped) > 1e-2  # the case really exercises clipping
    assert max_abs_diff(expected, actual) <= TOLERANCE


def test_ddim_clipping_matches_diffusers_with_clipped_model_output() -> None:
    # Our denoiser clips x0 and the step uses the ε implied by it: diffusers' use_clipped_model_output.
    config = {"num_train_timesteps": 1000, "clip_sample": True, "set_alpha_to_one": True}
    net = DummyNet(config)
    scheduler = diffusers.DDIMScheduler.from_config(config)
    expected, start = run_diffusers(scheduler, 10, 1, net, use_clipped_model_output=True)
    actual = run_ours(config, "ddim", "leading", 10, 1, net, start)
    assert max_abs_diff(expected, actual) <= TOLERANCE


@pytest.mark.parametrize("prediction_type", PREDICTIONS)
def test_uni_pc_bh1_matches_diffusers(prediction_type: str) -> None:
    # diffusers' bh1 variant turns a final step to σ = 0 into NaN (B(h) = -h = -inf times 0), so
    # compare runs that end at σ_0 (final_sigmas_type="sigma_min").
    config = {**SD_CONFIG, "prediction_type": prediction_type, "timestep_spacing": "trailing"}
    net = DummyNet(config)
    scheduler = diffusers.UniPCMultistepScheduler.from_config(
        {**config, "solver_type": "bh1", "final_sigmas_type": "sigma_min"}
    )
    expected, _ = run_diffusers(scheduler, 10, 0, net)

    noise_schedule = NoiseSchedule.from_config(config)
    run = build_schedule("trailing", noise_schedule, 10).ending_at(float(noise_schedule.sigmas[0]))
    denoiser = Denoiser(net, noise_schedule, dict(zip(run.sigmas, run.timesteps)), integer_timesteps=True)
    noise = torch.randn(SHAPE, generator=torch.Generator().manual_seed(0))
    x = sample_uni_pc(denoiser, noise * math.sqrt(1 + run.sigmas[0] ** 2), run.sigmas, variant="bh1")
    actual = x / math.sqrt(1 + run.sigmas[-1] ** 2)
    assert max_abs_diff(expected, actual) <= TOLERANCE


@pytest.mark.parametrize("prediction_type", PREDICTIONS)
@pytest.mark.parametrize("karras", [False, True])
def test_dpmpp_sde_matches_diffusers_given_the_same_brownian_noise(karras: bool, prediction_type: str) -> None:
    sde = pytest.importorskip("diffusers.schedulers.scheduling_dpmsolver_sde", reason="needs torchsde")
    config = {**SD_CONFIG, "prediction_type": prediction_type, "use_karras_sigmas": karras}
    net = DummyNet(config)
    scheduler = diffusers.DPMSolverSDEScheduler.from_config({**config, "noise_sampler_seed": 7})
    expected, _ = run_diffusers(scheduler, 8, 0, net)

    # A Brownian path moves by ~sqrt(δ) over δ, so a last-ulp difference in a noise level changes the
    # noise by ~1e-4: run on diffusers' own float32 levels (our schedules match them to ~1e-7, see
    # test_schedulers_schedules) and query the path exactly where diffusers does, through
    # t = -log σ and back.
    levels = torch.cat([scheduler.sigmas[::2], torch.zeros(1)])  # σ_0..σ_{n-1} are stored twice, then 0
    run = SamplingSchedule(tuple(levels.double().tolist()), tuple(scheduler.timesteps[::2].double().tolist()))
    noise_schedule = NoiseSchedule.from_config(config)
    denoiser = Denoiser(net, noise_schedule, dict(zip(run.sigmas, run.timesteps)))
    x = torch.randn(SHAPE, generator=torch.Generator().manual_seed(0)) * float(scheduler.init_noise_sigma)
    brownian = sde.BrownianTreeNoiseSampler(x, levels[levels > 0].min().item(), levels.max().item(), 7)

    def as_diffusers_queries(sigma: float, sigma_next: float) -> torch.Tensor:
        i = run.sigmas.index(sigma)
        t, t_next = -levels[i].log(), -levels[i + 1].log()
        end = t_next if sigma_next == run.sigmas[i + 1] else t + (t_next - t) * 0.5
        return brownian((-t).exp(), (-end).exp())

    actual = sample_dpmpp_sde(denoiser, x, run.sigmas, noise_sampler=as_diffusers_queries)
    assert max_abs_diff(expected, actual) <= TOLERANCE
