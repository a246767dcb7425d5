"""Cheap latent -> RGB previews for sampler progress, without running the VAE decoder.

Each latent pixel's colour is close to a linear function of its channels (the observation behind
the published "latent RGB factors" for SD's VAE). Rather than hard-coding factors for known VAEs,
`fit_latent_preview` measures them for any VAE: it encodes a few flat colours and solves the least
squares problem latent -> RGB. Previewing is then one [h·w, C] x [C, 3] product per image.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import torch
from PIL import Image

from nodes.models import AutoencoderKL

# Flat colours the fit sees: the corners of the RGB cube and mid grey (more than enough for C + 1 unknowns).
_FIT_COLOURS = [(*corner,) for corner in itertools.product((0.0, 1.0), repeat=3)] + [(0.5, 0.5, 0.5)]
# Largest side of a preview image in pixels; previews are for watching progress, not for keeping.
_MAX_PREVIEW_SIDE = 256


@dataclass(frozen=True)
class LatentPreview:
    """RGB in 0..1 = latent channels @ `factors` + `bias`, shown `upscale` times larger."""

    factors: tuple[tuple[float, float, float], ...]  # one RGB row per latent channel
    bias: tuple[float, float, float]
    upscale: int = 1

    def rgb(self, samples: torch.Tensor) -> torch.Tensor:
        """[C, h, w] latent -> [h, w, 3] colours in 0..1."""
        factors = torch.tensor(self.factors, dtype=torch.float32)
        if samples.ndim != 3 or samples.shape[0] != factors.shape[0]:
            raise ValueError(
                f"preview expects one latent [channels={factors.shape[0]}, h, w], got shape {tuple(samples.shape)}"
            )
        pixels = samples.detach().to("cpu", torch.float32).permute(1, 2, 0) @ factors
        return (pixels + torch.tensor(self.bias)).clamp(0, 1)

    def image(self, samples: torch.Tensor) -> Image.Image:
        """A preview of the first latent of a batch [B, C, h, w] (or of one latent [C, h, w])."""
        latent = samples[0] if samples.ndim == 4 else samples
        rgb = (self.rgb(latent) * 255).round().to(torch.uint8).numpy()
        image = Image.fromarray(rgb)
        scale = max(1, min(self.upscale, _MAX_PREVIEW_SIDE // max(image.size)))
        return image.resize((image.width * scale, image.height * scale), Image.Resampling.BILINEAR)


def fit_latent_preview(
    vae: AutoencoderKL, *, scaling_factor: float, shift_factor: float = 0.0, downscale: int
) -> LatentPreview:
    """Least-squares latent -> RGB factors for `vae`'s scaled latents ((raw - shift) · scaling)."""
    param = next(vae.parameters())
    side = 4 * downscale  # a 4x4 latent: the centre is away from the encoder's border effects
    colours = torch.tensor(_FIT_COLOURS, dtype=torch.float32)
    images = colours[:, :, None, None].expand(-1, -1, side, side) * 2 - 1
    with torch.no_grad():
        raw = vae.encode(images.to(param.device)).mode().float().cpu()
    latents = ((raw - shift_factor) * scaling_factor).mean(dim=(2, 3))  # [colours, C]
    design = torch.cat([latents, torch.ones(len(colours), 1)], dim=1).double()
    solution = torch.linalg.lstsq(design, colours.double()).solution.float()  # [C + 1, 3]
    factors = tuple(tuple(float(v) for v in row) for row in solution[:-1])
    bias = tuple(float(v) for v in solution[-1])
    return LatentPreview(factors=factors, bias=(bias[0], bias[1], bias[2]), upscale=downscale)  # type: ignore[arg-type]
