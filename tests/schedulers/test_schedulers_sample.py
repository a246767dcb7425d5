"""`sample()`: img2img strength, KSamplerAdvanced ranges, inpainting, seeds, callbacks and errors."""

from __future__ import annotations

import math
from typing import Any

import diffusers
import pytest
import torch
from scheduler_parity import SD_CONFIG, SHAPE, DummyNet, max_abs_diff
from torch import Tensor

from nodes.schedulers import (
    SAMPLER_NAMES,
    SAMPLERS,
    Denoiser,
    Inpaint,
    NoiseSchedule,
    build_schedule,
    draw_noise,
    sample,
)
from nodes.schedulers.samplers import sample_ddim, sample_euler

SD = NoiseSchedule.from_config(SD_CONFIG)
NET = DummyNet(SD_CONFIG)
LATENT = torch.randn(SHAPE, generator=torch.Generator().manual_seed(11))


def _generator(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# --- img2img strength -----------------------------------------------------------------------------------


def _diffusers_img2img(scheduler: Any, steps: int, strength: float, seed: int) -> Tensor:
    """The timestep slicing and noising of diffusers' StableDiffusionImg2ImgPipeline, then its loop."""
    generator = _generator(seed)
    scheduler.set_timesteps(steps)
    t_start = max(steps - min(int(steps * strength), steps), 0)
    timesteps = scheduler.timesteps[t_start * scheduler.order :]
    if hasattr(scheduler, "set_begin_index"):
        scheduler.set_begin_index(t_start * scheduler.order)
    x = scheduler.add_noise(LATENT, torch.randn(SHAPE, generator=generator), timesteps[:1])
    takes_generator = "generator" in scheduler.step.__code__.co_varnames
    for t in timesteps:
        output = NET(scheduler.scale_model_input(x, t), t)
        x = scheduler.step(output, t, x, **({"generator": generator} if takes_generator else {})).prev_sample
    return x


@pytest.mark.parametrize("strength", [0.6, 0.35, 0.3])
@pytest.mark.parametrize(
    ("class_name", "extra", "sampler", "schedule"),
    [
        ("DDIMScheduler", {}, "ddim", "leading"),
        ("DDPMScheduler", {}, "ddpm", "leading"),
        ("EulerDiscreteScheduler", {}, "euler", "linspace"),
        ("EulerAncestralDiscreteScheduler", {}, "euler_ancestral", "linspace"),
        ("HeunDiscreteScheduler", {}, "heun", "linspace"),
        ("DPMSolverMultistepScheduler", {"use_karras_sigmas": True}, "dpmpp_2m", "karras"),
    ],
)
def test_denoise_matches_diffusers_img2img_strength(
    class_name: str, extra: dict, sampler: str, schedule: str, strength: float
) -> None:
    scheduler = getattr(diffusers, class_name).from_config({**SD_CONFIG, **extra})
    expected = _diffusers_img2img(scheduler, 10, strength, seed=4)
    actual = sample(
        NET, LATENT, SD, sampler=sampler, schedule=schedule, steps=10, denoise=strength, generator=_generator(4)
    )
    assert max_abs_diff(expected, actual) <= 1e-4


def test_denoise_runs_int_steps_times_denoise_final_steps() -> None:
    calls: list[int] = []
    sample(NET, LATENT, SD, steps=10, denoise=0.35, generator=_generator(), callback=lambda i, n, x, d: calls.append(n))
    assert calls == [3, 3, 3]


def test_zero_denoise_returns_the_latent_untouched() -> None:
    assert sample(NET, LATENT, SD, denoise=0.0, generator=_generator()) is LATENT


# --- KSamplerAdvanced: start/end steps, leftover noise -----------------------------------------------------


@pytest.mark.parametrize("sampler", ["euler", "heun", "dpm_2", "ddim"])
def test_two_advanced_runs_with_leftover_noise_chain_into_one_full_run(sampler: str) -> None:
    full = sample(NET, torch.zeros(SHAPE), SD, sampler=sampler, schedule="karras", steps=10, generator=_generator(2))
    common = dict(sampler=sampler, schedule="karras", steps=10)
    first = sample(
        NET, torch.zeros(SHAPE), SD, end_step=6, return_leftover_noise=True, generator=_generator(2), **common
    )
    second = sample(NET, first, SD, start_step=6, add_noise=False, generator=_generator(99), **common)
    assert max_abs_diff(full, second) <= 1e-5


def test_leftover_noise_is_returned_in_the_model_input_scale() -> None:
    # Stopping after step 0 of 10 with Euler: x = x0 + σ_1·ε in σ coordinates, returned as x/sqrt(1+σ_1²).
    schedule = build_schedule("karras", SD, 10)
    noise = draw_noise(LATENT, _generator(5))
    state = sample_euler(
        Denoiser(NET, SD, dict(zip(schedule.sigmas, schedule.timesteps))),
        noise * math.sqrt(1 + schedule.sigmas[0] ** 2),
        schedule.sigmas[:2],
    )
    leftover = sample(
        NET,
        torch.zeros(SHAPE),
        SD,
        schedule="karras",
        steps=10,
        end_step=1,
        return_leftover_noise=True,
        generator=_generator(5),
    )
    assert torch.allclose(leftover, state / math.sqrt(1 + schedule.sigmas[1] ** 2), atol=1e-6)


def test_ending_early_without_leftover_noise_jumps_to_clean() -> None:
    totals: list[int] = []
    early = sample(
        NET,
        torch.zeros(SHAPE),
        SD,
        steps=10,
        end_step=4,
        generator=_generator(),
        callback=lambda i, n, x, d: totals.append(n),
    )
    schedule = build_schedule("normal", SD, 10)
    run = schedule.between(0, 4).ending_at(0.0)
    noise = draw_noise(LATENT, _generator())
    expected = sample_euler(
        Denoiser(NET, SD, dict(zip(run.sigmas, run.timesteps))), noise * math.sqrt(1 + run.sigmas[0] ** 2), run.sigmas
    )
    assert totals == [4, 4, 4, 4]
    assert max_abs_diff(early, expected) <= 1e-6


def test_end_step_past_the_schedule_means_its_end_and_start_past_it_means_no_work() -> None:
    base = sample(NET, torch.zeros(SHAPE), SD, steps=5, generator=_generator())
    assert torch.equal(sample(NET, torch.zeros(SHAPE), SD, steps=5, end_step=10000, generator=_generator()), base)
    assert sample(NET, LATENT, SD, steps=5, start_step=5, generator=_generator()) is LATENT


def test_ddim_on_sd_config_ends_at_alpha_bar_0_and_drops_steps_already_there() -> None:
    # set_alpha_to_one: false, so DDIM's last step lands on ᾱ_0 (σ_0 of noise left, returned scaled by
    # sqrt(ᾱ_0)). A karras run already reaches σ_min = σ_0 in its last step, so only the steps before it
    # run (diffusers would spend a model call on a no-op step from ᾱ_0 to ᾱ_0).
    schedule = build_schedule("karras", SD, 5)
    run = schedule.between(0, 4)  # σ_max .. σ_min: the last step to 0 dropped
    denoiser = Denoiser(NET, SD, dict(zip(run.sigmas, run.timesteps)), integer_timesteps=True)
    noise = draw_noise(LATENT, _generator())
    state = sample_ddim(denoiser, noise * math.sqrt(1 + run.sigmas[0] ** 2), run.sigmas)
    expected = state / math.sqrt(1 + SD.final_sigma**2)
    result = sample(NET, torch.zeros(SHAPE), SD, sampler="ddim", schedule="karras", steps=5, generator=_generator())
    assert run.sigmas[-1] == SD.final_sigma
    assert max_abs_diff(result, expected) <= 1e-6


# --- inpainting --------------------------------------------------------------------------------------------

MASK = torch.zeros(1, 1, 8, 8)
MASK[..., :, 4:] = 1.0  # regenerate the right half, keep the left


@pytest.mark.parametrize("sampler", ["euler", "euler_ancestral", "dpmpp_2m", "dpmpp_sde", "uni_pc", "lcm"])
def test_inpaint_keeps_the_unmasked_region_and_changes_the_masked_one(sampler: str) -> None:
    inpaint = Inpaint(original=LATENT, mask=MASK)
    result = sample(
        NET, LATENT, SD, sampler=sampler, schedule="karras", steps=6, generator=_generator(), inpaint=inpaint
    )
    assert torch.equal(result[..., :4], LATENT[..., :4])
    assert max_abs_diff(result[..., 4:], LATENT[..., 4:]) > 0.1


def test_inpaint_keeps_the_unmasked_region_on_the_noised_original_trajectory() -> None:
    noise = draw_noise(LATENT, _generator(8))
    schedule = build_schedule("karras", SD, 6)
    seen: list[Tensor] = []
    sample(
        NET,
        LATENT,
        SD,
        schedule="karras",
        steps=6,
        noise=noise,
        inpaint=Inpaint(LATENT, MASK),
        callback=lambda i, n, x, d: seen.append(x),
    )
    for x, sigma in zip(seen, schedule.sigmas[1:]):
        assert torch.allclose(x[..., :4], (LATENT + sigma * noise)[..., :4], atol=1e-5)


def test_inpaint_on_sd_ddim_keeps_the_original_noised_to_the_last_level() -> None:
    noise = draw_noise(LATENT, _generator(9))
    result = sample(
        NET,
        LATENT,
        SD,
        sampler="ddim",
        schedule="leading",
        steps=5,
        noise=noise,
        generator=_generator(),
        inpaint=Inpaint(LATENT, MASK),
    )
    sigma_end = SD.final_sigma
    expected = (LATENT + sigma_end * noise) / math.sqrt(1 + sigma_end**2)
    assert torch.allclose(result[..., :4], expected[..., :4], atol=1e-6)


@pytest.mark.parametrize(
    ("inpaint", "message"),
    [
        (Inpaint(LATENT, torch.ones(1, 1, 4, 4)), "does not broadcast to the latent's"),
        (Inpaint(LATENT, MASK * 2), r"mask values must lie in \[0, 1\]"),
        (Inpaint(LATENT[:1], MASK), "inpaint original has shape"),
    ],
)
def test_bad_inpaint_inputs_raise(inpaint: Inpaint, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        sample(NET, LATENT, SD, steps=2, generator=_generator(), inpaint=inpaint)


# --- seeds, noise, callbacks ---------------------------------------------------------------------------------


@pytest.mark.parametrize("sampler", SAMPLER_NAMES)
def test_same_seed_same_result_other_seed_other_result(sampler: str) -> None:
    schedule = "lcm" if sampler == "lcm" else "karras"

    def run(seed: int) -> Tensor:
        return sample(
            NET, torch.zeros(SHAPE), SD, sampler=sampler, schedule=schedule, steps=4, generator=_generator(seed)
        )

    first = run(3)
    assert torch.isfinite(first).all()
    assert torch.equal(first, run(3))
    assert max_abs_diff(first, run(4)) > 0.1


def test_noise_is_drawn_in_float32_on_the_generator_device() -> None:
    half = draw_noise(torch.zeros(SHAPE, dtype=torch.float16), _generator(1))
    single = draw_noise(torch.zeros(SHAPE), _generator(1))
    assert half.dtype == torch.float16 and torch.equal(half, single.half())


def test_float64_latents_give_the_float32_result() -> None:
    single = sample(NET, torch.zeros(SHAPE), SD, sampler="euler_ancestral", steps=5, generator=_generator())
    double = sample(
        NET, torch.zeros(SHAPE, dtype=torch.float64), SD, sampler="euler_ancestral", steps=5, generator=_generator()
    )
    assert double.dtype == torch.float64 and max_abs_diff(single, double.float()) <= 1e-4


def test_callback_sees_every_step_and_can_stop_the_run() -> None:
    class Stop(Exception):
        pass

    seen: list[tuple[int, int]] = []

    def callback(step: int, total: int, x: Tensor, denoised: Tensor) -> None:
        assert x.shape == denoised.shape == SHAPE
        seen.append((step, total))
        if step == 2:
            raise Stop

    with pytest.raises(Stop):
        sample(NET, torch.zeros(SHAPE), SD, sampler="heun", steps=6, generator=_generator(), callback=callback)
    assert seen == [(0, 6), (1, 6), (2, 6)]


def test_options_reach_the_sampler() -> None:
    euler = sample(NET, torch.zeros(SHAPE), SD, sampler="euler", steps=6, generator=_generator())
    no_noise = sample(
        NET, torch.zeros(SHAPE), SD, sampler="euler_ancestral", steps=6, generator=_generator(), options={"eta": 0.0}
    )
    assert max_abs_diff(euler, no_noise) <= 1e-6


# --- the denoiser ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("prediction_type", ["epsilon", "v_prediction", "sample"])
def test_denoiser_recovers_x0_from_an_exact_prediction(prediction_type: str) -> None:
    x0, eps, sigma = LATENT, torch.randn(SHAPE, generator=_generator(1)), 3.0
    alpha, sigma_vp = 1 / math.sqrt(1 + sigma**2), sigma / math.sqrt(1 + sigma**2)  # sqrt(ᾱ), sqrt(1-ᾱ)
    prediction = {"epsilon": eps, "v_prediction": alpha * eps - sigma_vp * x0, "sample": x0}[prediction_type]

    def model(x_t: Tensor, t: Tensor) -> Tensor:
        assert torch.allclose(x_t, alpha * x0 + sigma_vp * eps, atol=1e-5)
        return prediction

    schedule = NoiseSchedule.from_config({**SD_CONFIG, "prediction_type": prediction_type})
    assert torch.allclose(Denoiser(model, schedule)(x0 + sigma * eps, sigma), x0, atol=1e-5)


def test_denoiser_timesteps_pinned_interpolated_or_rounded() -> None:
    seen: list[Tensor] = []

    def model(x: Tensor, t: Tensor) -> Tensor:
        seen.append(t)
        return torch.zeros_like(x)

    sigma_500 = float(SD.sigmas[500])
    Denoiser(model, SD, {2.0: 123.25})(LATENT, 2.0)
    Denoiser(model, SD)(LATENT, sigma_500)
    Denoiser(model, SD, integer_timesteps=True)(LATENT, float(SD.sigma_at(torch.tensor([500.4]))[0]))
    assert [t.tolist() for t in seen] == [[123.25, 123.25], [500.0, 500.0], [500.0, 500.0]]
    assert seen[0].dtype == torch.float32


def test_denoiser_clips_and_applies_the_lcm_boundary_condition() -> None:
    clipping = NoiseSchedule.from_config({**SD_CONFIG, "clip_sample": True, "prediction_type": "sample"})
    big = Denoiser(lambda x, t: torch.full_like(x, 5.0), clipping)(LATENT, 1.0)
    assert torch.equal(big, torch.ones(SHAPE))
    # At t = 0 the consistency boundary condition is the identity on the network input x_t.
    boundary = Denoiser(lambda x, t: torch.zeros_like(x), SD, consistency_boundary=True)
    sigma_0 = float(SD.sigmas[0])
    assert torch.allclose(boundary(LATENT, sigma_0), LATENT / math.sqrt(1 + sigma_0**2))


def test_denoiser_rejects_bad_model_outputs_and_sigma_zero() -> None:
    with pytest.raises(ValueError, match=r"model output has shape \(1, 4, 8, 8\), expected \(2, 4, 8, 8\)"):
        Denoiser(lambda x, t: x[:1], SD)(LATENT, 1.0)
    with pytest.raises(ValueError, match="cannot be evaluated at sigma=0"):
        Denoiser(NET, SD)(LATENT, 0.0)


# --- errors ---------------------------------------------------------------------------------------------------


def test_unknown_sampler_lists_every_valid_name() -> None:
    with pytest.raises(ValueError, match="unknown sampler 'k_euler'") as error:
        sample(NET, LATENT, SD, sampler="k_euler", generator=_generator())
    assert all(name in str(error.value) for name in SAMPLER_NAMES)


def test_unknown_schedule_and_option_raise_with_the_valid_ones() -> None:
    with pytest.raises(ValueError, match="unknown schedule 'beta'; expected one of: normal, linspace"):
        sample(NET, LATENT, SD, schedule="beta", generator=_generator())
    with pytest.raises(ValueError, match="sampler 'euler_ancestral' has no option\\(s\\) order; it accepts: eta"):
        sample(NET, LATENT, SD, sampler="euler_ancestral", generator=_generator(), options={"order": 2})
    assert SAMPLERS["lms"].options == ("order",) and SAMPLERS["euler"].options == ()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"denoise": 1.5}, r"denoise must be a number in \[0, 1\]"),
        ({"denoise": 0.5, "start_step": 2}, "pass either denoise < 1"),
        ({"start_step": -1}, "start_step must be a non-negative integer"),
        ({"generator": None}, "pass a seeded torch.Generator or a noise tensor"),
        ({"sampler": "dpmpp_sde", "generator": None, "noise": LATENT}, "is stochastic: pass a seeded torch.Generator"),
        ({"noise": LATENT[:1]}, r"noise has shape \(1, 4, 8, 8\), expected the latent's \(2, 4, 8, 8\)"),
        ({"steps": 0}, r"steps must be an integer in \[1, 1000\]"),
    ],
)
def test_bad_arguments_raise_clearly(arguments: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        sample(NET, LATENT, SD, **{"generator": _generator(), **arguments})


def test_half_precision_latents_are_sampled_in_float32() -> None:
    dtypes: list[torch.dtype] = []

    def net(x: Tensor, t: Tensor) -> Tensor:
        dtypes.append(x.dtype)
        return NET(x, t)

    single = sample(net, torch.zeros(SHAPE), SD, steps=4, generator=_generator())
    half = sample(net, torch.zeros(SHAPE, dtype=torch.float16), SD, steps=4, generator=_generator())
    assert half.dtype == torch.float16 and set(dtypes) == {torch.float32}
    assert torch.equal(half, single.half())
