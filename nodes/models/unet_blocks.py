"""The resolution levels of a UNet: down blocks, the middle block, and up blocks with skip connections.

Each block is a stack of ResnetBlock2D layers, each optionally followed by an attention module
(a text-conditioned Transformer2DModel or a SpatialSelfAttention), plus an optional 2x resample.
Attention modules are built by an `AttentionMaker(channels, layer_index)` so the same block classes
serve diffusers' DownBlock2D / CrossAttnDownBlock2D / AttnDownBlock2D / DownEncoderBlock2D families.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn

from .resnet import Downsample2D, ResnetSettings, Upsample2D

AttentionMaker = Callable[[int, int], nn.Module]


def _attend(attention: nn.Module, x: Tensor, context: Tensor | None) -> Tensor:
    return attention(x) if context is None else attention(x, context)


class DownBlock(nn.Module):
    """Resnets (+ attention) at one resolution, then a stride-2 downsample; returns every skip output."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        num_layers: int,
        resnet: ResnetSettings,
        attention: AttentionMaker | None = None,
        add_downsample: bool,
        downsample_padding: int = 1,
    ) -> None:
        super().__init__()
        self.resnets = nn.ModuleList(
            resnet.block(in_channels if i == 0 else out_channels, out_channels) for i in range(num_layers)
        )
        self.attentions = (
            nn.ModuleList(attention(out_channels, i) for i in range(num_layers)) if attention is not None else None
        )
        self.downsamplers = (
            nn.ModuleList([Downsample2D(out_channels, padding=downsample_padding)]) if add_downsample else None
        )

    def forward(
        self, x: Tensor, temb: Tensor | None = None, context: Tensor | None = None
    ) -> tuple[Tensor, list[Tensor]]:
        skips = []
        for i, resnet in enumerate(self.resnets):
            x = resnet(x, temb)
            if self.attentions is not None:
                x = _attend(self.attentions[i], x, context)
            skips.append(x)
        if self.downsamplers is not None:
            x = self.downsamplers[0](x)
            skips.append(x)
        return x, skips


class MidBlock(nn.Module):
    """Resnet, then (attention, resnet) per layer, at the lowest resolution."""

    def __init__(
        self, channels: int, *, resnet: ResnetSettings, attention: AttentionMaker | None = None, num_layers: int = 1
    ) -> None:
        super().__init__()
        self.resnets = nn.ModuleList(resnet.block(channels, channels) for _ in range(num_layers + 1))
        self.attentions = (
            nn.ModuleList(attention(channels, i) for i in range(num_layers)) if attention is not None else None
        )

    def forward(self, x: Tensor, temb: Tensor | None = None, context: Tensor | None = None) -> Tensor:
        x = self.resnets[0](x, temb)
        for i, resnet in enumerate(self.resnets[1:]):
            if self.attentions is not None:
                x = _attend(self.attentions[i], x, context)
            x = resnet(x, temb)
        return x


class UpBlock(nn.Module):
    """Resnets (+ attention) that each concatenate one skip from the matching down path, then a 2x upsample.

    `skip_channels[i]` is the channel count of the skip consumed by layer i (skips are consumed last first).
    """

    def __init__(
        self,
        prev_output_channels: int,
        out_channels: int,
        *,
        skip_channels: Sequence[int],
        resnet: ResnetSettings,
        attention: AttentionMaker | None = None,
        add_upsample: bool,
    ) -> None:
        super().__init__()
        self.resnets = nn.ModuleList(
            resnet.block((prev_output_channels if i == 0 else out_channels) + skip, out_channels)
            for i, skip in enumerate(skip_channels)
        )
        self.attentions = (
            nn.ModuleList(attention(out_channels, i) for i in range(len(skip_channels)))
            if attention is not None
            else None
        )
        self.upsamplers = nn.ModuleList([Upsample2D(out_channels)]) if add_upsample else None

    def forward(
        self,
        x: Tensor,
        skips: Sequence[Tensor],
        temb: Tensor | None = None,
        context: Tensor | None = None,
        upsample_size: tuple[int, int] | None = None,
    ) -> Tensor:
        if len(skips) != len(self.resnets):
            raise ValueError(f"UpBlock expects {len(self.resnets)} skip tensors, got {len(skips)}")
        for i, resnet in enumerate(self.resnets):
            x = resnet(torch.cat([x, skips[-1 - i]], dim=1), temb)
            if self.attentions is not None:
                x = _attend(self.attentions[i], x, context)
        if self.upsamplers is not None:
            x = self.upsamplers[0](x, upsample_size)
        return x
