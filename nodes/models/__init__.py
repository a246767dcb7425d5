"""Diffusion models as plain torch modules, state-dict compatible with diffusers."""

from .autoencoder_kl import AutoencoderKL, AutoencoderKLConfig
from .distribution import DiagonalGaussianDistribution
from .unet_2d import UNet2DConfig, UNet2DModel
from .unet_2d_condition import UNet2DConditionConfig, UNet2DConditionModel
from .vae_tiling import VAETiling

__all__ = [
    "AutoencoderKL",
    "AutoencoderKLConfig",
    "DiagonalGaussianDistribution",
    "UNet2DConditionConfig",
    "UNet2DConditionModel",
    "UNet2DConfig",
    "UNet2DModel",
    "VAETiling",
]
