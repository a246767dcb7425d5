"""Noise schedules from scheduler configs, and the named sampling schedules, against diffusers and the
published equations."""

from __future__ import annotations

import math

import diffusers
import pytest
import torch
from scheduler_parity import SD_CONFIG

from nodes.schedulers import SCHEDULE_NAMES, NoiseSchedule, SamplingSchedule, build_schedule

SD = NoiseSchedule.from_config(SD_CONFIG)


# --- noise schedule --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "config",
    [
        SD_CONFIG,
        {"num_train_timesteps": 1000},
        {"num_train_timesteps": 1000, "beta_schedule": "squaredcos_cap_v2"},
        {"num_train_timesteps": 10, "trained_betas": [0.01 * (i + 1) for i in range(10)]},
    ],
    ids=["scaled_linear", "linear", "squaredcos_cap_v2", "trained_betas"],
)
def test_alphas_cumprod_equal_diffusers_bit_for_bit(config: dict) -> None:
    expected = diffusers.DDPMScheduler.from_config(config).alphas_cumprod
    assert torch.equal(NoiseSchedule.from_config(config).alphas_cumprod, expected)


def test_sd_sigma_range_matches_published_values() -> None:
    assert SD.max_sigma == pytest.approx(14.6147, abs=1e-4)
    assert SD.min_sigma == pytest.approx(0.029168, abs=1e-6)
    assert SD.final_sigma == SD.min_sigma  # set_alpha_to_one: false
    assert NoiseSchedule.from_config({**SD_CONFIG, "set_alpha_to_one": True}).final_sigma == 0.0


def test_config_sigma_range_overrides_the_table() -> None:
    custom = NoiseSchedule.from_config({**SD_CONFIG, "sigma_min": 0.1, "sigma_max": 10})
    assert (custom.min_sigma, custom.max_sigma) == (0.1, 10.0)
    assert build_schedule("karras", custom, 5).sigmas[0] == pytest.approx(10.0)


def test_timestep_and_sigma_conversions_are_inverse_on_the_grid() -> None:
    t = torch.arange(1000, dtype=torch.float64)
    assert torch.allclose(SD.timestep_at(SD.sigma_at(t)), t, atol=1e-9)
    # Between grid points σ(t) is linear in σ and t(σ) linear in log σ: close but not inverse.
    t_mid = torch.tensor([100.5, 700.25])
    assert torch.allclose(SD.timestep_at(SD.sigma_at(t_mid)), t_mid.double(), atol=0.01)
    # Outside the table the timestep clamps to its ends.
    assert SD.timestep_at(torch.tensor([1e-4, 1e4])).tolist() == [0.0, 999.0]


def test_unknown_config_keys_are_ignored() -> None:
    schedule = NoiseSchedule.from_config({**SD_CONFIG, "some_future_option": [1, 2], "clip_sample_range": 2})
    assert schedule.clip_sample_range == 2.0 and schedule.steps_offset == 1


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"beta_schedule": "cosine"}, "beta_schedule must be one of linear, scaled_linear, squaredcos_cap_v2"),
        ({"prediction_type": "eps"}, "prediction_type must be one of epsilon, v_prediction, sample"),
        ({"num_train_timesteps": "1000"}, "num_train_timesteps must be an integer"),
        ({"steps_offset": -1}, "steps_offset must be an integer >= 0"),
        ({"set_alpha_to_one": "false"}, "set_alpha_to_one must be true or false"),
        ({"beta_start": 0.02, "beta_end": 0.01}, "expected 0 < beta_start < beta_end < 1"),
        ({"beta_end": "0.012"}, "beta_end must be a number"),
        ({"trained_betas": [0.1, 0.2]}, "trained_betas has 2 values, expected num_train_timesteps=1000"),
        ({"thresholding": True}, "thresholding=true is not supported"),
        ({"rescale_betas_zero_snr": True}, "rescale_betas_zero_snr=true is not supported"),
        ({"timestep_type": "continuous"}, "timestep_type='continuous' is not supported"),
    ],
)
def test_bad_config_values_raise_naming_the_key_and_what_is_expected(change: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        NoiseSchedule.from_config({**SD_CONFIG, **change})


def test_config_must_be_a_mapping() -> None:
    with pytest.raises(ValueError, match="scheduler config must be a mapping"):
        NoiseSchedule.from_config([("beta_start", 0.1)])  # type: ignore[arg-type]


def test_sigma_at_rejects_timesteps_outside_training() -> None:
    with pytest.raises(ValueError, match=r"timesteps must lie in \[0, 999\]"):
        SD.sigma_at(torch.tensor([1000.0]))


# --- named schedules against diffusers ---------------------------------------------------------------


def _diffusers(class_name: str, steps: int, **config: object) -> object:
    scheduler = getattr(diffusers, class_name).from_config({**SD_CONFIG, **config})
    scheduler.set_timesteps(steps)
    return scheduler


@pytest.mark.parametrize("steps", [2, 7, 20, 50])
@pytest.mark.parametrize(
    ("name", "config"),
    [
        ("linspace", {"timestep_spacing": "linspace"}),
        ("leading", {"timestep_spacing": "leading"}),
        ("trailing", {"timestep_spacing": "trailing"}),
        ("karras", {"use_karras_sigmas": True}),
        ("exponential", {"use_exponential_sigmas": True}),
    ],
)
def test_schedule_matches_euler_discrete_scheduler(name: str, config: dict, steps: int) -> None:
    expected = _diffusers("EulerDiscreteScheduler", steps, **config)
    ours = build_schedule(name, SD, steps)
    assert torch.allclose(torch.tensor(ours.sigmas, dtype=torch.float32), expected.sigmas, rtol=1e-6, atol=0)
    assert torch.allclose(torch.tensor(ours.timesteps, dtype=torch.float64), expected.timesteps.double(), atol=1e-4)


@pytest.mark.parametrize("steps", [1, 7, 10, 50, 999])
@pytest.mark.parametrize("spacing", ["leading", "trailing"])
def test_integer_spacings_match_ddim_timesteps(spacing: str, steps: int) -> None:
    expected = _diffusers("DDIMScheduler", steps, timestep_spacing=spacing).timesteps
    assert build_schedule(spacing, SD, steps).timesteps == tuple(float(t) for t in expected)


@pytest.mark.parametrize("steps", [5, 20])
def test_karras_matches_dpm_solver_with_its_rounded_timesteps(steps: int) -> None:
    expected = _diffusers("DPMSolverMultistepScheduler", steps, use_karras_sigmas=True)
    ours = build_schedule("karras", SD, steps)
    assert torch.allclose(torch.tensor(ours.sigmas, dtype=torch.float32), expected.sigmas, rtol=1e-6, atol=0)
    assert [round(t) for t in ours.timesteps] == expected.timesteps.tolist()


def test_karras_matches_published_sd_values() -> None:
    sigmas = build_schedule("karras", SD, 20).sigmas
    assert sigmas[:5] == pytest.approx([14.6147, 11.7254, 9.3402, 7.3836, 5.7894], abs=1e-4)
    assert sigmas[-4:] == pytest.approx([0.0779, 0.0485, 0.0292, 0.0], abs=1e-4)


def test_leading_matches_published_sd_values() -> None:
    schedule = build_schedule("leading", SD, 50)
    assert schedule.timesteps[:2] == (981.0, 961.0) and schedule.timesteps[-1] == 1.0
    assert schedule.sigmas[0] == pytest.approx(13.1204, abs=1e-4)


@pytest.mark.parametrize("steps", [1, 2, 4, 8, 50])
def test_lcm_schedule_matches_lcm_scheduler(steps: int) -> None:
    expected = _diffusers("LCMScheduler", steps).timesteps
    assert build_schedule("lcm", SD, steps).timesteps == tuple(float(t) for t in expected)


def test_lcm_schedule_refuses_more_steps_than_the_original_grid() -> None:
    with pytest.raises(ValueError, match="steps must be <= original_inference_steps=50"):
        build_schedule("lcm", SD, 51)


@pytest.mark.parametrize("steps", [4, 10, 25])
def test_sgm_uniform_follows_its_definition_and_rounds_to_dpm_solver_linspace(steps: int) -> None:
    ours = build_schedule("sgm_uniform", SD, steps)
    # ComfyUI: steps + 1 timesteps evenly from T-1 to 0, the last dropped for σ = 0.
    definition = [999 - 999 * k / steps for k in range(steps)]
    assert ours.timesteps == pytest.approx(definition, abs=1e-4)
    assert ours.sigmas[-1] == 0.0
    expected = _diffusers("DPMSolverMultistepScheduler", steps, timestep_spacing="linspace").timesteps
    assert [round(t) for t in ours.timesteps] == expected.tolist()


def test_sgm_uniform_known_values() -> None:
    assert build_schedule("sgm_uniform", SD, 4).timesteps == pytest.approx([999, 749.25, 499.5, 249.75], abs=1e-4)


def test_simple_schedule_follows_its_definition() -> None:
    # ComfyUI's "simple": every (T/steps)-th trained sigma from the top, T - 1 - floor(k·T/steps).
    assert build_schedule("simple", SD, 3).timesteps == (999.0, 666.0, 333.0)
    assert build_schedule("trailing", SD, 3).timesteps == (999.0, 666.0, 332.0)  # rounds instead
    assert build_schedule("simple", SD, 10).timesteps == build_schedule("trailing", SD, 10).timesteps
    schedule = build_schedule("simple", SD, 3)
    assert schedule.sigmas[:-1] == tuple(float(SD.sigmas[t]) for t in (999, 666, 333))


def test_one_step_linspace_starts_from_the_top() -> None:
    # diffusers' np.linspace(0, T-1, 1) would start a 1-step run at t = 0.
    assert build_schedule("linspace", SD, 1).timesteps == (999.0,)


@pytest.mark.parametrize("steps", [1, 2, 3, 17, 50])
@pytest.mark.parametrize("name", SCHEDULE_NAMES)
def test_every_schedule_descends_to_zero(name: str, steps: int) -> None:
    schedule = build_schedule(name, SD, steps)
    assert schedule.steps == steps and len(schedule.sigmas) == steps + 1
    assert schedule.sigmas[-1] == 0.0
    assert all(a > b for a, b in zip(schedule.sigmas, schedule.sigmas[1:]))
    assert all(0 <= t <= 999 for t in schedule.timesteps)


@pytest.mark.parametrize("steps", [0, -1, 1001, 2.5, True])
def test_bad_step_counts_raise(steps: object) -> None:
    with pytest.raises(ValueError, match=r"steps must be an integer in \[1, 1000\]"):
        build_schedule("karras", SD, steps)  # type: ignore[arg-type]


def test_leading_refuses_to_start_past_the_last_timestep() -> None:
    with pytest.raises(ValueError, match="past the last trained timestep 999"):
        build_schedule("leading", SD, 1000)  # 999 + steps_offset 1


def test_unknown_schedule_lists_the_valid_names() -> None:
    with pytest.raises(ValueError, match="unknown schedule 'cosine'; expected one of: normal, linspace, leading"):
        build_schedule("cosine", SD, 10)


# --- SamplingSchedule ---------------------------------------------------------------------------------


def test_sampling_schedule_validates_its_levels() -> None:
    with pytest.raises(ValueError, match="sigmas must strictly decrease"):
        SamplingSchedule((2.0, 2.0, 0.0), (10.0, 9.0))
    with pytest.raises(ValueError, match="needs n\\+1 >= 2 sigmas and n timesteps"):
        SamplingSchedule((2.0, 0.0), ())
    with pytest.raises(ValueError, match="finite and >= 0"):
        SamplingSchedule((math.inf, 0.0), (1.0,))


def test_between_selects_steps() -> None:
    schedule = SamplingSchedule((4.0, 3.0, 2.0, 1.0, 0.0), (40.0, 30.0, 20.0, 10.0))
    assert schedule.between(1, 3) == SamplingSchedule((3.0, 2.0, 1.0), (30.0, 20.0))
    with pytest.raises(ValueError, match="expected 0 <= start < end <= 4"):
        schedule.between(2, 2)


def test_ending_at_replaces_the_final_level_and_drops_steps_already_there() -> None:
    schedule = SamplingSchedule((4.0, 3.0, 2.0, 1.0, 0.0), (40.0, 30.0, 20.0, 10.0))
    assert schedule.ending_at(0.5).sigmas == (4.0, 3.0, 2.0, 1.0, 0.5)
    assert schedule.ending_at(1.0) == SamplingSchedule((4.0, 3.0, 2.0, 1.0), (40.0, 30.0, 20.0))
    assert schedule.ending_at(0.0) == schedule
    one_step = SamplingSchedule((1.0, 0.0), (10.0,))
    assert one_step.ending_at(2.0) == one_step  # never drops the only step
