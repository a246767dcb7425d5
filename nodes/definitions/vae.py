"""VAE nodes: images to latents and back (whole or in tiles), and encoding for inpainting.

Decoding falls back to tiles when the device runs out of memory: other models are moved off the
device first, then the decode is retried tile by tile.
"""

from __future__ import annotations

import logging
from typing import Annotated

import torch

from graph_engine import Context, Description, Range, node
from nodes.image_ops import (
    check_mask,
    crop_to_multiple,
    grow_mask,
    image_to_pixels,
    pixels_to_image,
    resize_image,
)
from nodes.model_manager import ModelManager
from nodes.models import AutoencoderKL, VAETiling
from nodes.types import Image, Latent, LatentValue, Mask, Vae, VaeHandle

logger = logging.getLogger(__name__)

TileSize = Annotated[int, Range(16, 8192, step=8), Description("tile edge in pixels")]
Overlap = Annotated[float, Range(0.0, 0.75, step=0.05), Description("fraction of a tile shared with its neighbour")]


def is_out_of_memory(error: BaseException) -> bool:
    """CUDA's OutOfMemoryError, or the CPU allocator's failure (a RuntimeError)."""
    return isinstance(error, torch.OutOfMemoryError) or (
        isinstance(error, RuntimeError) and "can't allocate memory" in str(error)
    )


def tiles_for(module: AutoencoderKL, height: int, width: int, tile_size: int | None, overlap: float) -> VAETiling:
    """Tiling of at most `tile_size` pixels (default: the VAE's own), smaller than the image so it tiles."""
    factor = module.config.downscale
    tile = tile_size or module.config.tile_sample_size
    while tile >= max(height, width) and tile // 2 >= 2 * factor:
        tile //= 2
    return module.tiling(sample_tile=max(factor, tile // factor * factor), overlap_factor=overlap)


def encode_image(
    vae: VaeHandle, image: torch.Tensor, device: str, tiling: tuple[int, float] | None = None
) -> torch.Tensor:
    """IMAGE -> latent samples as the UNet sees them ((mean - shift) · scaling), on the CPU.

    The posterior mean is used (no sampling), so encoding is deterministic and needs no seed.
    """
    module = vae.autoencoder(device)
    pixels = image_to_pixels(crop_to_multiple(image, vae.downscale)).to(device)
    height, width = pixels.shape[2:]
    tiles = tiles_for(module, height, width, tiling[0], tiling[1]) if tiling is not None else None
    with torch.no_grad():
        raw = module.encode(pixels, tiling=tiles).mode().float()
    return ((raw - vae.shift_factor) * vae.scaling_factor).cpu()


def decode_latent(
    vae: VaeHandle,
    samples: torch.Tensor,
    device: str,
    manager: ModelManager | None,
    tiling: tuple[int, float] | None = None,
) -> torch.Tensor:
    """Latent samples -> IMAGE. Untiled, on running out of memory it frees the device (through
    `manager`) and retries in tiles."""
    module = vae.autoencoder(device)
    latents = samples.to(device, torch.float32) / vae.scaling_factor + vae.shift_factor
    height, width = latents.shape[2] * vae.downscale, latents.shape[3] * vae.downscale
    with torch.no_grad():
        if tiling is not None:
            tiles = tiles_for(module, height, width, tiling[0], tiling[1])
            return pixels_to_image(module.decode(latents, tiling=tiles))
        try:
            return pixels_to_image(module.decode(latents))
        except (torch.OutOfMemoryError, RuntimeError) as error:
            if not is_out_of_memory(error):
                raise
        logger.warning("VAE decode of %dx%d ran out of memory on %s; retrying in tiles", width, height, device)
        if manager is not None:
            manager.free_device(device, keep=vae.vae)
        return pixels_to_image(module.decode(latents, tiling=tiles_for(module, height, width, None, 0.25)))


@node(category="vae")
def VAEEncode(ctx: Context, vae: Vae, image: Image) -> LatentValue:
    """Encode images into latents (sizes are cropped to multiples of the VAE's downscale factor)."""
    return Latent(encode_image(vae, image, ctx.device))


@node(category="vae")
def VAEDecode(ctx: Context, vae: Vae, latent: LatentValue) -> Image:
    """Decode latents into images; falls back to tiles if the device runs out of memory."""
    return decode_latent(vae, latent.samples, ctx.device, ctx.resource(ModelManager))


@node(category="vae")
def VAEEncodeTiled(
    ctx: Context, vae: Vae, image: Image, tile_size: TileSize = 512, overlap: Overlap = 0.25
) -> LatentValue:
    """Encode large images tile by tile, blending the overlaps (bounded memory)."""
    return Latent(encode_image(vae, image, ctx.device, (tile_size, overlap)))


@node(category="vae")
def VAEDecodeTiled(
    ctx: Context, vae: Vae, latent: LatentValue, tile_size: TileSize = 512, overlap: Overlap = 0.25
) -> Image:
    """Decode large latents tile by tile, blending the overlaps (bounded memory)."""
    return decode_latent(vae, latent.samples, ctx.device, ctx.resource(ModelManager), (tile_size, overlap))


@node(category="vae")
def InpaintEncode(
    ctx: Context,
    vae: Vae,
    image: Image,
    mask: Mask,
    grow_mask_by: Annotated[int, Range(0, 64), Description("pixels to widen the mask by, for seamless edges")] = 6,
) -> LatentValue:
    """Encode an image for inpainting: the masked area (widened) is greyed out before encoding and
    becomes the latent's noise mask, so the sampler regenerates only there."""
    check_mask(mask)
    if mask.shape[0] not in (1, image.shape[0]):
        raise ValueError(f"mask has a batch of {mask.shape[0]}; expected 1 or the image's {image.shape[0]}")
    height, width = image.shape[1:3]
    if mask.shape[1:] != (height, width):
        mask = resize_image(mask[..., None], width, height)[..., 0]
    # Crop image and mask alike, so the mask stays over the same pixels.
    image = crop_to_multiple(image, vae.downscale)
    mask = crop_to_multiple(mask[..., None], vae.downscale)[..., 0]
    grown = grow_mask(mask, grow_mask_by)
    keep = (1 - grown.round())[..., None]
    greyed = (image[..., :3] - 0.5) * keep + 0.5
    return Latent(encode_image(vae, greyed, ctx.device), noise_mask=grown[:, None])
