"""Inpainting by masking the denoiser (ComfyUI's `KSamplerX0Inpaint`).

Outside the mask the sampler is shown the original latent noised with the run's own noise to the
current level, and is told that the original is the answer there; so the kept region follows the
original's noising trajectory exactly while the masked region is generated consistently with it.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from nodes.schedulers.denoiser import Denoise


@dataclass(frozen=True)
class Inpaint:
    """Regenerate where `mask` is 1, keep `original` where it is 0 (soft values blend).

    original: the clean latent [B, C, H, W]; mask: broadcastable to it, values in [0, 1].
    """

    original: Tensor
    mask: Tensor

    def for_latent(self, latent: Tensor) -> Inpaint:
        """This inpaint checked against `latent` and moved to its device and dtype."""
        if self.original.shape != latent.shape:
            raise ValueError(
                f"inpaint original has shape {tuple(self.original.shape)}, expected the latent's {tuple(latent.shape)}"
            )
        try:
            broadcast = torch.broadcast_shapes(self.mask.shape, latent.shape)
        except RuntimeError:
            broadcast = None
        if broadcast != latent.shape:
            raise ValueError(
                f"inpaint mask of shape {tuple(self.mask.shape)} does not broadcast to the latent's "
                f"{tuple(latent.shape)}"
            )
        if self.mask.numel() and (self.mask.min() < 0 or self.mask.max() > 1):
            raise ValueError("inpaint mask values must lie in [0, 1] (1 = regenerate, 0 = keep)")
        original = self.original.to(device=latent.device, dtype=latent.dtype)
        return Inpaint(original, self.mask.to(device=latent.device, dtype=latent.dtype).expand(latent.shape))

    def blend(self, x: Tensor, noise: Tensor, sigma: float) -> Tensor:
        """x inside the mask, the original noised to σ outside it."""
        return torch.lerp(self.original + noise * sigma, x, self.mask)


class InpaintDenoiser:
    """`denoise(x, σ)` restricted to the mask, with `noise` the run's noise (the one that noised the latent)."""

    def __init__(self, denoise: Denoise, inpaint: Inpaint, noise: Tensor) -> None:
        self._denoise = denoise
        self._inpaint = inpaint
        self._noise = noise

    def __call__(self, x: Tensor, sigma: float) -> Tensor:
        denoised = self._denoise(self._inpaint.blend(x, self._noise, sigma), sigma)
        return torch.lerp(self._inpaint.original, denoised, self._inpaint.mask)
