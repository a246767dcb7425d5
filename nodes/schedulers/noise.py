"""Reproducible Gaussian noise for the initial latent and for stochastic samplers.

Noise is drawn in float32 on the generator's device (the CPU for a default `torch.Generator()`) and
only then moved to the latent's device and dtype, so one seed gives the same image on CPU and GPU
and in fp32 or fp16.
"""

from __future__ import annotations

import bisect
import math
from typing import Protocol

import torch
from torch import Tensor


class NoiseSampler(Protocol):
    """Standard-normal noise for the stretch of a sampler's path from one noise level to the next."""

    def __call__(self, sigma: float, sigma_next: float) -> Tensor: ...


def draw_noise(like: Tensor, generator: torch.Generator) -> Tensor:
    """Standard normal noise shaped like `like`, drawn on the generator's device, returned on `like`'s."""
    noise = torch.randn(like.shape, generator=generator, device=generator.device, dtype=torch.float32)
    return noise.to(device=like.device, dtype=like.dtype)


class IndependentNoise:
    """A fresh draw at every call: the noise of ancestral samplers (one draw per step)."""

    def __init__(self, like: Tensor, generator: torch.Generator) -> None:
        self._like = like
        self._generator = generator

    def __call__(self, sigma: float, sigma_next: float) -> Tensor:
        return draw_noise(self._like, self._generator)


class BrownianNoise:
    """Increments of one Brownian path W(σ), normalised: (W(σ_next) - W(σ)) / sqrt(|σ_next - σ|).

    SDE samplers that query overlapping intervals within a step (DPM++ SDE asks for [σ, σ_mid] and
    then [σ, σ_next]) need correlated draws, which independent noise gets wrong. W is sampled lazily:
    a point beyond the known ones extends the path by an independent increment, a point between two
    known ones is drawn from the Brownian bridge. Queries on successive disjoint intervals therefore
    cost exactly one draw each, in order, like `IndependentNoise`. Every queried point is kept (one
    latent-sized tensor each, two per step for DPM++ SDE).
    """

    def __init__(self, like: Tensor, generator: torch.Generator) -> None:
        self._like = like
        self._generator = generator
        self._times: list[float] = []
        self._values: list[Tensor] = []

    def __call__(self, sigma: float, sigma_next: float) -> Tensor:
        if sigma == sigma_next:
            raise ValueError(f"Brownian increment over an empty interval: sigma == sigma_next == {sigma}")
        start = self._value_at(sigma)
        end = self._value_at(sigma_next)
        increment = (end - start) / math.sqrt(abs(sigma_next - sigma))
        return increment.to(device=self._like.device, dtype=self._like.dtype)

    def _value_at(self, time: float) -> Tensor:
        index = bisect.bisect_left(self._times, time)
        if index < len(self._times) and self._times[index] == time:
            return self._values[index]
        if not self._times:
            value = torch.zeros(self._like.shape, device=self._generator.device, dtype=torch.float32)
        elif index == 0:
            value = self._values[0] + math.sqrt(self._times[0] - time) * self._draw()
        elif index == len(self._times):
            value = self._values[-1] + math.sqrt(time - self._times[-1]) * self._draw()
        else:
            # Brownian bridge between the known neighbours a < time < b.
            a, b = self._times[index - 1], self._times[index]
            weight = (time - a) / (b - a)
            mean = torch.lerp(self._values[index - 1], self._values[index], weight)
            value = mean + math.sqrt((time - a) * (b - time) / (b - a)) * self._draw()
        self._times.insert(index, time)
        self._values.insert(index, value)
        return value

    def _draw(self) -> Tensor:
        return torch.randn(
            self._like.shape, generator=self._generator, device=self._generator.device, dtype=torch.float32
        )
