"""nodes.sampling as plain functions: seeded noise per batch position, classifier-free guidance,
inpainting masks, LoRA patches applied only while sampling, progress cadence."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from nodes.loading import load_checkpoint
from nodes.lora import WeightPatch
from nodes.sampling import (
    GuidedUNet,
    StepReporter,
    initial_noise,
    patched,
    sample_latent,
)
from nodes.schedulers import NoiseSchedule
from nodes.text_encoding import Conditioning, encode_prompt
from nodes.types import Latent


@pytest.fixture(scope="module")
def sd(checkpoint: Path):
    components = load_checkpoint(checkpoint)
    encoders = components.text_encoders()
    return (
        components.unet,
        NoiseSchedule.from_config(components.scheduler_config),
        encode_prompt(encoders, "a red circle"),
        encode_prompt(encoders, ""),
    )


def seeded(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_initial_noise_depends_only_on_seed_and_position() -> None:
    batch = initial_noise((3, 4, 2, 2), seeded(5), positions=range(3))
    assert torch.equal(initial_noise((1, 4, 2, 2), seeded(5), [0]), batch[:1])
    assert torch.equal(initial_noise((2, 4, 2, 2), seeded(5), [2, 0]), batch[[2, 0]])
    assert torch.equal(batch[0], torch.randn(4, 2, 2, generator=seeded(5)))
    assert not torch.equal(initial_noise((1, 4, 2, 2), seeded(6), [0]), batch[:1])


def test_step_noise_continues_the_starting_noise_stream_instead_of_replaying_it() -> None:
    generator = seeded(5)
    start = initial_noise((1, 4, 2, 2), generator, [0])
    step_noise = torch.randn(1, 4, 2, 2, generator=generator)
    assert not torch.equal(step_noise, start)
    assert torch.equal(torch.randn(2, 4, 2, 2, generator=seeded(5))[1:], step_noise)


def test_guidance_formula_and_passes(sd) -> None:
    unet, _, positive, negative = sd
    x, t = torch.randn(2, 4, 8, 8, generator=torch.Generator().manual_seed(0)), torch.full((2,), 500.0)
    with torch.no_grad():
        cond = unet(x, t, positive.embeddings.expand(2, -1, -1))
        uncond = unet(x, t, negative.embeddings.expand(2, -1, -1))
        guided = GuidedUNet(unet, positive, negative, 7.5, batch_size=2)(x, t)
        plain = GuidedUNet(unet, positive, negative, 1.0, batch_size=2)(x, t)
        long_negative = Conditioning(torch.cat([negative.embeddings, negative.embeddings], dim=1))
        two_pass = GuidedUNet(unet, positive, long_negative, 7.5, batch_size=2)(x, t)
        uncond_long = unet(x, t, long_negative.embeddings.expand(2, -1, -1))
    # Batched and single UNet calls differ in float rounding, which guidance scales by 7.5.
    torch.testing.assert_close(guided, uncond + 7.5 * (cond - uncond), atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(plain, cond)
    torch.testing.assert_close(two_pass, uncond_long + 7.5 * (cond - uncond_long), atol=1e-4, rtol=1e-4)


def test_guidance_rejects_mismatched_conditioning(sd) -> None:
    unet, _, positive, _ = sd
    with pytest.raises(ValueError, match="batch of 2 prompts; expected 1 or the latent's batch of 3"):
        GuidedUNet(unet, Conditioning(positive.embeddings.expand(2, -1, -1)), None, 1.0, batch_size=3)
    with pytest.raises(ValueError, match="64-dimensional embeddings but the UNet expects 32"):
        GuidedUNet(unet, Conditioning(torch.zeros(1, 77, 64)), None, 1.0, batch_size=1)


def test_inpainting_keeps_the_unmasked_latent_exactly(sd) -> None:
    unet, schedule, positive, negative = sd
    original = torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(1))
    mask = torch.zeros(1, 1, 32, 32)
    mask[..., :16, :] = 1  # regenerate the top half
    result = sample_latent(unet, schedule, positive, negative, Latent(original, mask), seed=2, steps=4, cfg=5.0).samples
    assert torch.equal(result[..., 4:, :], original[..., 4:, :])
    assert not torch.allclose(result[..., :4, :], original[..., :4, :])


def test_weight_patches_apply_only_while_sampling(sd) -> None:
    unet, schedule, positive, negative = sd
    weight = unet.conv_in.weight
    before = weight.detach().clone()
    patch = WeightPatch("conv_in.weight", torch.ones(weight.shape[0], 1), torch.ones(1, weight[0].numel()), 1.0, 0.5)
    latent = Latent(torch.zeros(1, 4, 8, 8))
    plain = sample_latent(unet, schedule, positive, negative, latent, seed=1, steps=2, cfg=3.0).samples
    with patched(unet, [patch]):
        assert torch.allclose(unet.conv_in.weight, before + 0.5)
        patched_result = sample_latent(unet, schedule, positive, negative, latent, seed=1, steps=2, cfg=3.0).samples
    assert unet.conv_in.weight is weight and torch.equal(weight, before)
    assert not torch.allclose(plain, patched_result)
    with patched(unet, []) as same:
        assert same is unet


def test_step_reporter_cadence() -> None:
    reports: list[tuple[int, int, object]] = []
    reporter = StepReporter(lambda step, total, preview: reports.append((step, total, preview)), lambda d: "image")
    for step in range(7):
        reporter(step, 7, torch.zeros(1), torch.zeros(1))
    assert [r[0] for r in reports] == list(range(1, 8))
    assert [r[0] for r in reports if r[2] is not None] == [1, 2, 3, 4, 5, 6, 7]  # 7 // 5 = 1: every step
    reports.clear()
    for step in range(20):
        reporter(step, 20, torch.zeros(1), torch.zeros(1))
    assert [r[0] for r in reports if r[2] is not None] == [4, 8, 12, 16, 20]


def test_sdxl_style_unets_get_pooled_and_size_conditioning() -> None:
    from nodes.models import UNet2DConditionModel
    from nodes.text_encoding import TIME_IDS, SizeConditioning

    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        sample_size=8, block_out_channels=[8, 16], down_block_types=["DownBlock2D", "CrossAttnDownBlock2D"],
        up_block_types=["CrossAttnUpBlock2D", "UpBlock2D"], layers_per_block=1, attention_head_dim=2,
        cross_attention_dim=32, norm_num_groups=4, addition_embed_type="text_time", addition_time_embed_dim=4,
        projection_class_embeddings_input_dim=12 + 6 * 4,
    ).eval()  # fmt: skip
    embeddings, pooled = torch.randn(1, 77, 32), torch.randn(1, 12)
    small, large = (Conditioning(embeddings, pooled, {TIME_IDS: SizeConditioning(target_size=size).time_ids()}) for size in ((512, 512), (1024, 1024)))  # fmt: skip
    x, t = torch.randn(2, 4, 8, 8), torch.full((2,), 300.0)
    with torch.no_grad():
        out_small = GuidedUNet(unet, small, None, 1.0, batch_size=2)(x, t)
        out_large = GuidedUNet(unet, large, None, 1.0, batch_size=2)(x, t)
        expected = unet(x, t, embeddings.expand(2, -1, -1), added_cond_kwargs={
            "text_embeds": pooled.expand(2, -1), "time_ids": small.extras[TIME_IDS].expand(2, -1)})  # fmt: skip
    torch.testing.assert_close(out_small, expected)
    assert not torch.allclose(out_small, out_large)  # the size ids reach the UNet
    with pytest.raises(ValueError, match="lacks SDXL's pooled embedding"):
        GuidedUNet(unet, Conditioning(embeddings), None, 1.0, batch_size=1)
