"""The VAE posterior: a diagonal Gaussian over the latent, parameterised by the encoder's moments."""

from __future__ import annotations

import torch
from torch import Tensor


class DiagonalGaussianDistribution:
    """N(mean, exp(logvar)) per latent element; `moments` stacks mean and logvar along channels."""

    def __init__(self, moments: Tensor) -> None:
        if moments.ndim < 2 or moments.shape[1] % 2 != 0:
            raise ValueError(
                "VAE moments must have an even channel count (mean and logvar stacked), "
                f"got shape {tuple(moments.shape)}"
            )
        self.mean, logvar = moments.chunk(2, dim=1)
        # Clamped as in LDM so exp() stays finite for untrained or extreme encoders.
        self.logvar = logvar.clamp(-30.0, 20.0)
        self.std = torch.exp(0.5 * self.logvar)
        self.var = torch.exp(self.logvar)

    def sample(self, generator: torch.Generator | None = None) -> Tensor:
        """mean + std * noise; a CPU generator draws on the CPU (reproducible across devices) then moves."""
        device = generator.device if generator is not None else self.mean.device
        noise = torch.randn(self.mean.shape, generator=generator, device=device, dtype=self.mean.dtype)
        return self.mean + self.std * noise.to(self.mean.device)

    def mode(self) -> Tensor:
        return self.mean

    def kl(self) -> Tensor:
        """KL divergence to the standard normal, summed over all but the batch dimension."""
        dims = list(range(1, self.mean.ndim))
        return 0.5 * torch.sum(self.mean.pow(2) + self.var - 1.0 - self.logvar, dim=dims)
