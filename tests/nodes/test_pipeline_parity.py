"""The pack's text-to-image and image-to-image graphs against diffusers' pipelines (the test oracle)
on the same tiny checkpoint: same seed, same scheduler, same pixels up to float rounding."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from diffusers import (
    EulerDiscreteScheduler,
    StableDiffusionImg2ImgPipeline,
    StableDiffusionPipeline,
)
from pack_graphs import base_nodes, sampler_node
from PIL import Image


@pytest.fixture(scope="module")
def pipeline(checkpoint: Path) -> StableDiffusionPipeline:
    pipe = StableDiffusionPipeline.from_pretrained(checkpoint, safety_checker=None, requires_safety_checker=False)
    # "leading" spacing: with "linspace" diffusers starts from noise of std σ_max rather than
    # sqrt(σ_max² + 1) (its init_noise_sigma quirk), which the samplers here do not copy.
    pipe.scheduler = EulerDiscreteScheduler.from_config(pipe.scheduler.config, timestep_spacing="leading")
    pipe.set_progress_bar_config(disable=True)
    return pipe


def test_txt2img_matches_diffusers(run, checkpoint: Path, pipeline: StableDiffusionPipeline) -> None:
    prompt, seed, steps, cfg = "a red circle on a blue background", 3, 5, 6.0
    nodes = {
        **base_nodes(checkpoint, prompt=prompt, batch=2),
        "sample": sampler_node(seed=seed, steps=steps, cfg=cfg, scheduler="leading"),
        "decode": ("VAEDecode", {"vae": "@load.vae", "latent": "@sample.latent"}),
    }
    ours = run(nodes, {"image": "decode.image"}).outputs["image"]
    expected = pipeline(
        prompt, height=32, width=32, num_inference_steps=steps, guidance_scale=cfg, num_images_per_prompt=2,
        generator=torch.Generator().manual_seed(seed), output_type="pt",
    ).images  # fmt: skip
    assert ours.shape == (2, 32, 32, 3)
    torch.testing.assert_close(ours, expected.permute(0, 2, 3, 1), atol=2e-4, rtol=0)


def test_img2img_matches_diffusers(run, checkpoint: Path, pipeline: StableDiffusionPipeline, tmp_path: Path) -> None:
    prompt, seed, steps, cfg, strength = "a green star", 4, 8, 5.0, 0.5
    gradient = (torch.linspace(0, 1, 32 * 32 * 3).reshape(32, 32, 3) * 255).round().to(torch.uint8).numpy()
    Image.fromarray(gradient).save(tmp_path / "input.png")
    nodes = {
        **base_nodes(checkpoint, prompt=prompt),
        "image": ("LoadImage", {"image": str(tmp_path / "input.png")}),
        "encode": ("VAEEncode", {"vae": "@load.vae", "image": "@image.image"}),
        "sample": sampler_node(
            "@encode.latent", seed=seed, steps=steps, cfg=cfg, scheduler="leading", denoise=strength
        ),
        "decode": ("VAEDecode", {"vae": "@load.vae", "latent": "@sample.latent"}),
    }
    ours = run(nodes, {"image": "decode.image", "encoded": "encode.latent"}).outputs

    img2img = StableDiffusionImg2ImgPipeline(**pipeline.components)
    img2img.set_progress_bar_config(disable=True)
    pixels = torch.from_numpy(gradient).float().div(255).permute(2, 0, 1)[None] * 2 - 1
    with torch.no_grad():
        latents = img2img.vae.encode(pixels).latent_dist.mode() * img2img.vae.config.scaling_factor
    torch.testing.assert_close(ours["encoded"].samples, latents, atol=1e-5, rtol=0)
    expected = img2img(
        prompt, image=latents, strength=strength, num_inference_steps=steps, guidance_scale=cfg,
        generator=torch.Generator().manual_seed(seed), output_type="pt",
    ).images  # fmt: skip
    torch.testing.assert_close(ours["image"], expected.permute(0, 2, 3, 1), atol=2e-4, rtol=0)
