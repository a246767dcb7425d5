"""Latent previews: the least-squares fit recovers a VAE's colour map, and previews are cheap images."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from nodes.models import DiagonalGaussianDistribution
from nodes.previews import LatentPreview, fit_latent_preview


class LinearColourVae(nn.Module):
    """Encodes each pixel's RGB (in -1..1) to 4 channels by a fixed affine map, at 1/4 resolution."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor) -> None:
        super().__init__()
        self.weight = nn.Parameter(weight)  # [4, 3]
        self.bias = nn.Parameter(bias)  # [4]

    def encode(self, x: torch.Tensor) -> DiagonalGaussianDistribution:
        pooled = nn.functional.avg_pool2d(x, 4)
        mean = torch.einsum("cr,brhw->bchw", self.weight, pooled) + self.bias[:, None, None]
        return DiagonalGaussianDistribution(torch.cat([mean, torch.zeros_like(mean)], dim=1))


def test_fit_inverts_a_linear_vae() -> None:
    torch.manual_seed(0)
    vae = LinearColourVae(torch.randn(4, 3), torch.randn(4))
    preview = fit_latent_preview(vae, scaling_factor=0.5, shift_factor=0.1, downscale=4)  # type: ignore[arg-type]
    colour = torch.tensor([0.2, 0.7, 0.4])
    with torch.no_grad():
        latent = (vae.encode(colour[None, :, None, None].expand(1, 3, 8, 8) * 2 - 1).mode() - 0.1) * 0.5
    torch.testing.assert_close(preview.rgb(latent[0]), colour.expand(2, 2, 3), atol=1e-4, rtol=0)
    assert preview.upscale == 4


def test_fit_on_a_real_vae_gives_a_preview(run, checkpoint) -> None:
    model = run({"load": ("CheckpointLoader", {"checkpoint": str(checkpoint)})}, {"m": "load.model"}).outputs["m"]
    preview = model.preview
    assert len(preview.factors) == 4 and all(len(row) == 3 for row in preview.factors)
    assert all(torch.isfinite(torch.tensor(row)).all() for row in preview.factors)


def test_preview_images() -> None:
    preview = LatentPreview(
        factors=((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0), (0.0, 0.0, 0.0)), bias=(0.0, 0.0, 0.0), upscale=8
    )
    latents = torch.zeros(2, 4, 3, 5)
    latents[0, 1] = 1.0  # green
    image = preview.image(latents)
    assert image.size == (40, 24) and image.getpixel((0, 0)) == (0, 255, 0)
    big = preview.image(torch.zeros(4, 128, 64))
    assert big.size == (128, 256)  # capped at 256 px
    with pytest.raises(ValueError, match="channels=4"):
        preview.rgb(torch.zeros(3, 2, 2))
