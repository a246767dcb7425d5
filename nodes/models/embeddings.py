"""Timestep embeddings: the sinusoidal features of "Attention Is All You Need" / DDPM and their MLP."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from .activations import activation


def batch_timesteps(timestep: Tensor | float | int, batch_size: int, device: torch.device) -> Tensor:
    """One timestep per sample from a python number, a 0-d tensor, or a 1-d tensor of length 1 or batch."""
    timesteps = torch.as_tensor(timestep, device=device)
    if timesteps.ndim == 0:
        timesteps = timesteps[None]
    if timesteps.ndim != 1 or timesteps.shape[0] not in (1, batch_size):
        raise ValueError(
            f"timestep must be a number, a 0-d tensor or a 1-d tensor of length 1 or {batch_size} (the batch size); "
            f"got shape {tuple(timesteps.shape)}"
        )
    return timesteps.expand(batch_size)


def sinusoidal_embedding(
    timesteps: Tensor, dim: int, *, flip_sin_to_cos: bool, freq_shift: float, max_period: float = 10000.0
) -> Tensor:
    """[sin(t * f_k), cos(t * f_k)] with f_k = max_period ** (-k / (dim/2 - freq_shift)), in float32.

    Frequencies are computed on the fly (not stored as buffers) so models build on the meta device.
    `flip_sin_to_cos` puts the cosines first; an odd `dim` is zero-padded.
    """
    half = dim // 2
    exponent = -math.log(max_period) * torch.arange(half, dtype=torch.float32, device=timesteps.device)
    frequencies = torch.exp(exponent / (half - freq_shift))
    angles = timesteps[:, None].float() * frequencies[None, :]
    sin, cos = torch.sin(angles), torch.cos(angles)
    embedding = torch.cat([cos, sin] if flip_sin_to_cos else [sin, cos], dim=-1)
    if dim % 2 == 1:
        embedding = nn.functional.pad(embedding, (0, 1))
    return embedding


class TimestepEmbedding(nn.Module):
    """MLP from sinusoidal features (plus an optional projected condition, LCM's guidance w) to the block width."""

    def __init__(
        self,
        in_channels: int,
        embed_dim: int,
        *,
        act_fn: str = "silu",
        post_act_fn: str | None = None,
        cond_proj_dim: int | None = None,
    ) -> None:
        super().__init__()
        self.linear_1 = nn.Linear(in_channels, embed_dim)
        self.cond_proj = nn.Linear(cond_proj_dim, in_channels, bias=False) if cond_proj_dim is not None else None
        self.act = activation(act_fn)
        self.linear_2 = nn.Linear(embed_dim, embed_dim)
        self.post_act = activation(post_act_fn) if post_act_fn is not None else None

    def forward(self, features: Tensor, condition: Tensor | None = None) -> Tensor:
        if condition is not None:
            if self.cond_proj is None:
                raise ValueError("a timestep condition was given but this model has no time_cond_proj_dim")
            features = features + self.cond_proj(condition)
        hidden = self.linear_2(self.act(self.linear_1(features)))
        return self.post_act(hidden) if self.post_act is not None else hidden
