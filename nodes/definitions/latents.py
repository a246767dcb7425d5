"""Latent nodes: empty latents, resizing, noise masks, batching."""

from __future__ import annotations

from typing import Annotated, Literal

import torch

from graph_engine import Description, Range, node
from nodes.image_ops import (
    ResizeMethod,
    center_crop_latent,
    check_mask,
    resize_latent,
    upscale_latent,
)
from nodes.types import Latent, LatentValue, Mask, Vae

Side = Annotated[int, Range(8, 16384, step=8), Description("pixels; a multiple of the VAE's downscale factor")]
BatchSize = Annotated[int, Range(1, 4096)]


@node(category="latent")
def EmptyLatent(vae: Vae, width: Side = 64, height: Side = 64, batch: BatchSize = 1) -> LatentValue:
    """A zero latent for a width x height image in the VAE's latent space (the sampler adds the noise)."""
    factor = vae.downscale
    if width % factor or height % factor:
        raise ValueError(
            f"width and height must be multiples of the VAE's downscale factor {factor}, got {width}x{height}"
        )
    return Latent(torch.zeros(batch, vae.latent_channels, height // factor, width // factor))


@node(category="latent")
def LatentUpscale(
    latent: LatentValue,
    scale_by: Annotated[float, Range(0.01, 8.0, step=0.05)] = 2.0,
    method: ResizeMethod = "bilinear",
) -> LatentValue:
    """Resize latents by a factor (e.g. 2 for a hires-fix second pass); a noise mask follows the latent."""
    return Latent(upscale_latent(latent.samples, scale_by, method), latent.noise_mask, latent.batch_index)


@node(category="latent")
def LatentScale(
    latent: LatentValue,
    vae: Annotated[Vae, Description("the latents' VAE: it gives the pixels-to-latent factor")],
    width: Side = 512,
    height: Side = 512,
    method: ResizeMethod = "bilinear",
    crop: Annotated[Literal["disabled", "center"], Description("center: crop to the new aspect ratio first")] = "disabled",
) -> LatentValue:
    """Resize latents to those of a width x height image (ComfyUI's LatentUpscale); a noise mask follows."""
    factor = vae.downscale
    if width % factor or height % factor:
        raise ValueError(f"width and height must be multiples of the VAE's downscale factor {factor}, got {width}x{height}")
    samples, mask = latent.samples, latent.noise_mask
    if crop == "center":
        samples = center_crop_latent(samples, width, height)
        mask = center_crop_latent(mask, width, height) if mask is not None else None
    return Latent(resize_latent(samples, height // factor, width // factor, method), mask, latent.batch_index)


@node(category="latent")
def SetLatentNoiseMask(latent: LatentValue, mask: Mask) -> LatentValue:
    """Only regenerate where the mask is 1 (inpainting with any model); the rest is kept."""
    check_mask(mask)
    if mask.shape[0] not in (1, latent.batch_size):
        raise ValueError(f"mask has a batch of {mask.shape[0]}; expected 1 or the latent's {latent.batch_size}")
    return Latent(latent.samples, mask[:, None].float(), latent.batch_index)


def _batched_masks(first: Latent, second: Latent) -> torch.Tensor | None:
    if first.noise_mask is None and second.noise_mask is None:
        return None
    size = (first.samples.shape[2], first.samples.shape[3])

    def full(latent: Latent) -> torch.Tensor:
        if latent.noise_mask is None:
            return torch.ones(latent.batch_size, 1, *size)
        mask = torch.nn.functional.interpolate(latent.noise_mask.float(), size=size, mode="bilinear")
        return mask.expand(latent.batch_size, -1, -1, -1)

    return torch.cat([full(first), full(second)])


@node(category="latent")
def LatentBatch(first: LatentValue, second: LatentValue) -> LatentValue:
    """One batch of both latents (they must have the same size). The second batch's samples take the
    noise of the positions after the first's."""
    if first.samples.shape[1:] != second.samples.shape[1:]:
        raise ValueError(
            f"cannot batch latents of shapes {tuple(first.samples.shape[1:])} and {tuple(second.samples.shape[1:])}"
        )
    offset = max(first.positions) + 1
    positions = first.positions + tuple(offset + p for p in second.positions)
    return Latent(torch.cat([first.samples, second.samples]), _batched_masks(first, second), positions)


@node(category="latent")
def LatentFromBatch(
    latent: LatentValue, index: Annotated[int, Range(0, 4095)] = 0, length: Annotated[int, Range(1, 4096)] = 1
) -> LatentValue:
    """Samples index..index+length-1 of a batch; each keeps its initial noise from the batch."""
    if index + length > latent.batch_size:
        raise ValueError(f"samples {index}..{index + length - 1} asked for, but the batch has {latent.batch_size}")
    mask = latent.noise_mask
    if mask is not None and mask.shape[0] > 1:
        mask = mask[index : index + length]
    return Latent(latent.samples[index : index + length].clone(), mask, latent.positions[index : index + length])
