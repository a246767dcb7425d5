"""Residual conv block and the 2x down/up-sampling layers of the UNets and the VAE."""

from __future__ import annotations

from dataclasses import dataclass

import torch.nn.functional as F
from torch import Tensor, nn

from .activations import activation


class ResnetBlock2D(nn.Module):
    """GroupNorm-act-conv twice, with the time embedding injected between the convs (DDPM's ResBlock).

    `time_embedding_norm` "default" adds the projected embedding before the second norm;
    "scale_shift" modulates the second norm's output by (1 + scale) and shift instead.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        temb_channels: int | None,
        groups: int,
        eps: float,
        act_fn: str = "silu",
        dropout: float = 0.0,
        output_scale_factor: float = 1.0,
        time_embedding_norm: str = "default",
    ) -> None:
        super().__init__()
        self.output_scale_factor = output_scale_factor
        self.time_embedding_norm = time_embedding_norm
        self.norm1 = nn.GroupNorm(groups, in_channels, eps=eps)
        self.conv1 = nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1)
        if temb_channels is None:
            self.time_emb_proj = None
        else:
            projected = 2 * out_channels if time_embedding_norm == "scale_shift" else out_channels
            self.time_emb_proj = nn.Linear(temb_channels, projected)
        self.norm2 = nn.GroupNorm(groups, out_channels, eps=eps)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = nn.Conv2d(out_channels, out_channels, kernel_size=3, padding=1)
        self.nonlinearity = activation(act_fn)
        self.conv_shortcut = (
            nn.Conv2d(in_channels, out_channels, kernel_size=1) if in_channels != out_channels else None
        )

    def forward(self, x: Tensor, temb: Tensor | None = None) -> Tensor:
        hidden = self.conv1(self.nonlinearity(self.norm1(x)))
        time = None
        if self.time_emb_proj is not None and temb is not None:
            time = self.time_emb_proj(self.nonlinearity(temb))[:, :, None, None]
        if self.time_embedding_norm == "scale_shift":
            if time is None:
                raise ValueError("a scale_shift ResnetBlock2D needs a time embedding")
            scale, shift = time.chunk(2, dim=1)
            hidden = self.norm2(hidden) * (1 + scale) + shift
        else:
            hidden = self.norm2(hidden if time is None else hidden + time)
        hidden = self.conv2(self.dropout(self.nonlinearity(hidden)))
        shortcut = self.conv_shortcut(x) if self.conv_shortcut is not None else x
        return (shortcut + hidden) / self.output_scale_factor


@dataclass(frozen=True)
class ResnetSettings:
    """What every ResnetBlock2D of one model (or one block) shares; builds blocks by channel counts."""

    temb_channels: int | None
    groups: int
    eps: float
    act_fn: str
    dropout: float = 0.0
    output_scale_factor: float = 1.0
    time_embedding_norm: str = "default"

    def block(self, in_channels: int, out_channels: int) -> ResnetBlock2D:
        return ResnetBlock2D(
            in_channels,
            out_channels,
            temb_channels=self.temb_channels,
            groups=self.groups,
            eps=self.eps,
            act_fn=self.act_fn,
            dropout=self.dropout,
            output_scale_factor=self.output_scale_factor,
            time_embedding_norm=self.time_embedding_norm,
        )


class Downsample2D(nn.Module):
    """Stride-2 3x3 conv. padding=0 pads right/bottom by one first (the original LDM VAE's asymmetric pad)."""

    def __init__(self, channels: int, *, padding: int = 1) -> None:
        super().__init__()
        self.asymmetric_pad = padding == 0
        self.conv = nn.Conv2d(channels, channels, kernel_size=3, stride=2, padding=padding)

    def forward(self, x: Tensor) -> Tensor:
        if self.asymmetric_pad:
            x = F.pad(x, (0, 1, 0, 1))
        return self.conv(x)


class Upsample2D(nn.Module):
    """Nearest-neighbour 2x upsampling (or to an explicit size, for odd skip shapes) then a 3x3 conv."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, kernel_size=3, padding=1)

    def forward(self, x: Tensor, size: tuple[int, int] | None = None) -> Tensor:
        if size is None:
            x = F.interpolate(x, scale_factor=2.0, mode="nearest")
        else:
            x = F.interpolate(x, size=size, mode="nearest")
        return self.conv(x)
