"""Text to image on tiny-shapes through the product's own building blocks:
nodes.loading (checkpoint) -> nodes.text_encoding (prompt) -> nodes.sampling (guided sampler loop
from nodes.schedulers) -> the VAE decode. Training-time sample grids and the evaluator both use it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import Image

from nodes.image_ops import pixels_to_image, to_pil
from nodes.loading import load_checkpoint
from nodes.models import AutoencoderKL, UNet2DConditionModel
from nodes.sampling import sample_latent
from nodes.schedulers import NoiseSchedule
from nodes.text_encoding import TextEncoders, encode_prompt
from nodes.tiny_shapes import bundled_checkpoint
from nodes.types import Latent


@dataclass(frozen=True)
class TextToImage:
    """The pieces of an SD 1.x model that txt2img needs (loaded, or in training)."""

    unet: UNet2DConditionModel
    vae: AutoencoderKL
    encoders: TextEncoders
    noise_schedule: NoiseSchedule
    scaling_factor: float


def load(source: str | Path = "tiny-shapes") -> TextToImage:
    """A bundled checkpoint by name, or any SD 1.x diffusers folder / file the loader accepts."""
    path = bundled_checkpoint(source) if isinstance(source, str) and not Path(source).exists() else Path(source)
    components = load_checkpoint(path)
    return TextToImage(
        unet=components.unet,
        vae=components.vae,
        encoders=components.text_encoders(),
        noise_schedule=NoiseSchedule.from_config(components.scheduler_config),
        scaling_factor=float(components.vae.config.scaling_factor),
    )


@torch.no_grad()
def generate_with(
    model: TextToImage,
    prompts: list[str],
    seeds: list[int],
    *,
    steps: int = 20,
    cfg: float = 5.0,
    sampler: str = "euler",
    scheduler: str = "normal",
    negative: str = "",
    init_latents: torch.Tensor | None = None,
    denoise: float = 1.0,
) -> list[Image.Image]:
    """One image per (prompt, seed) pair; image i is what txt2img gives for prompts[i] at seeds[i], or
    with `init_latents` (scaled, one per prompt) what img2img at `denoise` gives from init_latents[i]."""
    if len(prompts) != len(seeds):
        raise ValueError(f"generate: got {len(prompts)} prompts but {len(seeds)} seeds; expected one seed per prompt")
    size = model.unet.config.sample_size
    channels = model.unet.config.in_channels
    uncond = encode_prompt(model.encoders, negative)
    images: list[Image.Image] = []
    for index, (prompt, seed) in enumerate(zip(prompts, seeds)):
        start = torch.zeros(1, channels, size, size) if init_latents is None else init_latents[index : index + 1]
        latent = sample_latent(
            model.unet,
            model.noise_schedule,
            encode_prompt(model.encoders, prompt),
            uncond,
            Latent(start),
            seed=seed,
            steps=steps,
            cfg=cfg,
            sampler=sampler,
            scheduler=scheduler,
            denoise=denoise,
        )
        pixels = model.vae.decode(latent.samples.to(next(model.vae.parameters()).device) / model.scaling_factor)
        images.append(to_pil(pixels_to_image(pixels)[0]))
    return images


def generate(prompts: list[str], seeds: list[int], steps: int = 20, cfg: float = 5.0) -> list[Image.Image]:
    """txt2img on the bundled tiny-shapes model: one 64x64 image per (prompt, seed)."""
    return generate_with(load("tiny-shapes"), prompts, seeds, steps=steps, cfg=cfg)
