"""The unconditional pixel-space UNet of DDPM checkpoints (diffusers' UNet2DModel, e.g. google/ddpm-*)."""

from __future__ import annotations

import dataclasses
from typing import Any

from torch import Tensor, nn

from .activations import check_activation
from .attention import SpatialSelfAttention
from .base import ConfiguredModel
from .config import ModelConfig, require_choice
from .embeddings import TimestepEmbedding, batch_timesteps, sinusoidal_embedding
from .resnet import ResnetSettings
from .unet_blocks import AttentionMaker, DownBlock, MidBlock, UpBlock

_OWNER = "UNet2DModel"
_ATTN_DOWN, _PLAIN_DOWN = "AttnDownBlock2D", "DownBlock2D"
_ATTN_UP, _PLAIN_UP = "AttnUpBlock2D", "UpBlock2D"


@dataclasses.dataclass(frozen=True)
class UNet2DConfig(ModelConfig):
    """diffusers' UNet2DModel config keys and defaults (the subset of values DDPM checkpoints use).

    Unlike UNet2DConditionModel, `attention_head_dim` here really is the per-head width
    (null: one head spanning all channels).
    """

    sample_size: int | tuple[int, int] | None = None
    in_channels: int = 3
    out_channels: int = 3
    center_input_sample: bool = False
    time_embedding_type: str = "positional"
    time_embedding_dim: int | None = None
    freq_shift: int = 0
    flip_sin_to_cos: bool = True
    down_block_types: tuple[str, ...] = (_PLAIN_DOWN, _ATTN_DOWN, _ATTN_DOWN, _ATTN_DOWN)
    mid_block_type: str | None = "UNetMidBlock2D"
    up_block_types: tuple[str, ...] = (_ATTN_UP, _ATTN_UP, _ATTN_UP, _PLAIN_UP)
    block_out_channels: tuple[int, ...] = (224, 448, 672, 896)
    layers_per_block: int = 2
    mid_block_scale_factor: float = 1
    downsample_padding: int = 1
    downsample_type: str = "conv"
    upsample_type: str = "conv"
    dropout: float = 0.0
    act_fn: str = "silu"
    attention_head_dim: int | None = 8
    norm_num_groups: int = 32
    attn_norm_num_groups: int | None = None
    norm_eps: float = 1e-5
    resnet_time_scale_shift: str = "default"
    add_attention: bool = True
    class_embed_type: str | None = None
    num_class_embeds: int | None = None
    num_train_timesteps: int | None = None

    def validate(self) -> None:
        blocks = len(self.block_out_channels)
        if len(self.down_block_types) != blocks or len(self.up_block_types) != blocks:
            raise ValueError(
                f"{_OWNER} config: down_block_types ({len(self.down_block_types)}), up_block_types "
                f"({len(self.up_block_types)}) and block_out_channels ({blocks}) must have the same length"
            )
        for kind in self.down_block_types:
            require_choice(_OWNER, "down_block_types entry", kind, (_ATTN_DOWN, _PLAIN_DOWN))
        for kind in self.up_block_types:
            require_choice(_OWNER, "up_block_types entry", kind, (_ATTN_UP, _PLAIN_UP))
        for key, allowed in (
            ("mid_block_type", ("UNetMidBlock2D", None)),
            ("time_embedding_type", ("positional",)),
            ("downsample_type", ("conv",)),
            ("upsample_type", ("conv",)),
            ("resnet_time_scale_shift", ("default", "scale_shift")),
            ("class_embed_type", (None,)),
            ("num_class_embeds", (None,)),
        ):
            require_choice(_OWNER, key, getattr(self, key), allowed)
        check_activation(_OWNER, "act_fn", self.act_fn)


class UNet2DModel(ConfiguredModel[UNet2DConfig]):
    """Predicts the noise in an image (B, C, H, W) at a timestep. State dict identical to diffusers'."""

    config_class = UNet2DConfig

    def __init__(self, **config: Any) -> None:
        super().__init__(**config)
        cfg = self.config
        channels = cfg.block_out_channels
        blocks = len(channels)
        time_dim = cfg.time_embedding_dim or channels[0] * 4

        self.conv_in = nn.Conv2d(cfg.in_channels, channels[0], kernel_size=3, padding=1)
        # diffusers builds this MLP with SiLU whatever act_fn says; checkpoints were trained that way.
        self.time_embedding = TimestepEmbedding(channels[0], time_dim)
        resnet = ResnetSettings(
            temb_channels=time_dim,
            groups=cfg.norm_num_groups,
            eps=cfg.norm_eps,
            act_fn=cfg.act_fn,
            dropout=cfg.dropout,
            time_embedding_norm=cfg.resnet_time_scale_shift,
        )

        def self_attention(norm_groups: int | None, rescale: float = 1.0) -> AttentionMaker:
            def make(block_channels: int, layer: int) -> nn.Module:
                return SpatialSelfAttention(
                    block_channels,
                    head_dim=cfg.attention_head_dim or block_channels,
                    norm_groups=norm_groups,
                    eps=cfg.norm_eps,
                    rescale_output_factor=rescale,
                )

            return make

        self.down_blocks = nn.ModuleList(
            DownBlock(
                channels[max(i - 1, 0)],
                channels[i],
                num_layers=cfg.layers_per_block,
                resnet=resnet,
                attention=self_attention(cfg.norm_num_groups) if kind == _ATTN_DOWN else None,
                add_downsample=i < blocks - 1,
                downsample_padding=cfg.downsample_padding,
            )
            for i, kind in enumerate(cfg.down_block_types)
        )

        # The mid attention's norm: its own group count if set, none at all next to scale-shift resnets.
        mid_groups = cfg.attn_norm_num_groups or (
            cfg.norm_num_groups if cfg.resnet_time_scale_shift == "default" else None
        )
        self.mid_block = (
            MidBlock(
                channels[-1],
                resnet=dataclasses.replace(resnet, output_scale_factor=cfg.mid_block_scale_factor),
                attention=self_attention(mid_groups, cfg.mid_block_scale_factor) if cfg.add_attention else None,
            )
            if cfg.mid_block_type is not None
            else None
        )

        up_channels = tuple(reversed(channels))
        num_layers = cfg.layers_per_block + 1
        self.up_blocks = nn.ModuleList(
            UpBlock(
                up_channels[max(i - 1, 0)],
                up_channels[i],
                # The last layer's skip comes from the next-shallower level (its downsample output or conv_in).
                skip_channels=[up_channels[i]] * (num_layers - 1) + [up_channels[min(i + 1, blocks - 1)]],
                resnet=resnet,
                attention=self_attention(cfg.norm_num_groups) if kind == _ATTN_UP else None,
                add_upsample=i < blocks - 1,
            )
            for i, kind in enumerate(cfg.up_block_types)
        )

        self.conv_norm_out = nn.GroupNorm(cfg.norm_num_groups, channels[0], eps=cfg.norm_eps)
        self.conv_act = nn.SiLU()
        self.conv_out = nn.Conv2d(channels[0], cfg.out_channels, kernel_size=3, padding=1)

    def forward(self, sample: Tensor, timestep: Tensor | float | int) -> Tensor:
        cfg = self.config
        if cfg.center_input_sample:
            sample = 2 * sample - 1.0
        timesteps = batch_timesteps(timestep, sample.shape[0], sample.device)
        features = sinusoidal_embedding(
            timesteps, cfg.block_out_channels[0], flip_sin_to_cos=cfg.flip_sin_to_cos, freq_shift=cfg.freq_shift
        )
        emb = self.time_embedding(features.to(self.time_embedding.linear_1.weight.dtype))

        x = self.conv_in(sample)
        skips = [x]
        for down in self.down_blocks:
            x, block_skips = down(x, emb)
            skips.extend(block_skips)
        if self.mid_block is not None:
            x = self.mid_block(x, emb)
        for up in self.up_blocks:
            count = len(up.resnets)
            block_skips, skips = skips[-count:], skips[:-count]
            size = tuple(skips[-1].shape[-2:]) if skips else None
            x = up(x, block_skips, emb, upsample_size=size)
        return self.conv_out(self.conv_act(self.conv_norm_out(x)))
