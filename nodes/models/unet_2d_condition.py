"""The text-conditioned latent UNet of Stable Diffusion 1.x / 2.x / XL and LCM (diffusers' UNet2DConditionModel)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from .activations import activation, check_activation
from .base import ConfiguredModel
from .config import ModelConfig, per_block, require_choice
from .embeddings import TimestepEmbedding, batch_timesteps, sinusoidal_embedding
from .resnet import ResnetSettings
from .transformer import Transformer2DModel
from .unet_blocks import AttentionMaker, DownBlock, MidBlock, UpBlock

_OWNER = "UNet2DConditionModel"
_CROSS_DOWN, _PLAIN_DOWN = "CrossAttnDownBlock2D", "DownBlock2D"
_CROSS_UP, _PLAIN_UP = "CrossAttnUpBlock2D", "UpBlock2D"
_CROSS_MID = "UNetMidBlock2DCrossAttn"

LayerCounts = int | tuple[int, ...]


@dataclasses.dataclass(frozen=True)
class UNet2DConditionConfig(ModelConfig):
    """diffusers' UNet2DConditionModel config keys and defaults.

    Every key diffusers writes is accepted so Hub configs load; keys for architectures outside
    SD 1.x/2.x/XL/LCM (class embeddings, Kandinsky projections, GLIGEN, ...) must keep their defaults.
    Naming quirk kept from diffusers: `attention_head_dim` holds the number of heads per block.
    """

    sample_size: int | tuple[int, int] | None = None
    in_channels: int = 4
    out_channels: int = 4
    center_input_sample: bool = False
    flip_sin_to_cos: bool = True
    freq_shift: int = 0
    down_block_types: tuple[str, ...] = (_CROSS_DOWN, _CROSS_DOWN, _CROSS_DOWN, _PLAIN_DOWN)
    mid_block_type: str | None = _CROSS_MID
    up_block_types: tuple[str, ...] = (_PLAIN_UP, _CROSS_UP, _CROSS_UP, _CROSS_UP)
    only_cross_attention: bool | tuple[bool, ...] = False
    block_out_channels: tuple[int, ...] = (320, 640, 1280, 1280)
    layers_per_block: int | tuple[int, ...] = 2
    downsample_padding: int = 1
    mid_block_scale_factor: float = 1
    dropout: float = 0.0
    act_fn: str = "silu"
    norm_num_groups: int | None = 32
    norm_eps: float = 1e-5
    cross_attention_dim: int | tuple[int, ...] = 1280
    transformer_layers_per_block: LayerCounts | tuple[LayerCounts, ...] = 1
    reverse_transformer_layers_per_block: tuple[LayerCounts, ...] | None = None
    encoder_hid_dim: int | None = None
    encoder_hid_dim_type: str | None = None
    attention_head_dim: int | tuple[int, ...] = 8
    num_attention_heads: int | tuple[int, ...] | None = None
    dual_cross_attention: bool = False
    use_linear_projection: bool = False
    class_embed_type: str | None = None
    addition_embed_type: str | None = None
    addition_time_embed_dim: int | None = None
    num_class_embeds: int | None = None
    upcast_attention: bool | None = False
    resnet_time_scale_shift: str = "default"
    resnet_skip_time_act: bool = False
    resnet_out_scale_factor: float = 1.0
    time_embedding_type: str = "positional"
    time_embedding_dim: int | None = None
    time_embedding_act_fn: str | None = None
    timestep_post_act: str | None = None
    time_cond_proj_dim: int | None = None
    conv_in_kernel: int = 3
    conv_out_kernel: int = 3
    projection_class_embeddings_input_dim: int | None = None
    attention_type: str = "default"
    class_embeddings_concat: bool = False
    mid_block_only_cross_attention: bool | None = None
    cross_attention_norm: str | None = None
    addition_embed_type_num_heads: int = 64

    def validate(self) -> None:
        blocks = len(self.block_out_channels)
        if len(self.down_block_types) != blocks or len(self.up_block_types) != blocks:
            raise ValueError(
                f"{_OWNER} config: down_block_types ({len(self.down_block_types)}), up_block_types "
                f"({len(self.up_block_types)}) and block_out_channels ({blocks}) must have the same length"
            )
        for kind in self.down_block_types:
            require_choice(_OWNER, "down_block_types entry", kind, (_CROSS_DOWN, _PLAIN_DOWN))
        for kind in self.up_block_types:
            require_choice(_OWNER, "up_block_types entry", kind, (_CROSS_UP, _PLAIN_UP))
        require_choice(_OWNER, "mid_block_type", self.mid_block_type, (_CROSS_MID, None))
        if self.num_attention_heads is not None:
            raise ValueError(
                f"{_OWNER} config: num_attention_heads must be null; like diffusers, the head count is read from "
                "attention_head_dim (a historical naming quirk, diffusers issue #2011)"
            )
        only_cross = self.only_cross_attention
        require_choice(
            _OWNER, "only_cross_attention", any(only_cross) if isinstance(only_cross, tuple) else only_cross, (False,)
        )
        for key, allowed in (
            ("dual_cross_attention", (False,)),
            ("encoder_hid_dim", (None,)),
            ("encoder_hid_dim_type", (None,)),
            ("class_embed_type", (None,)),
            ("num_class_embeds", (None,)),
            ("class_embeddings_concat", (False,)),
            ("addition_embed_type", (None, "text_time")),
            ("resnet_time_scale_shift", ("default", "scale_shift")),
            ("resnet_skip_time_act", (False,)),
            ("time_embedding_type", ("positional",)),
            ("attention_type", ("default",)),
            ("mid_block_only_cross_attention", (None, False)),
            ("cross_attention_norm", (None,)),
        ):
            require_choice(_OWNER, key, getattr(self, key), allowed)
        if self.norm_num_groups is None:
            raise ValueError(f"{_OWNER} config: norm_num_groups must be an integer")
        check_activation(_OWNER, "act_fn", self.act_fn)
        for key in ("time_embedding_act_fn", "timestep_post_act"):
            if getattr(self, key) is not None:
                check_activation(_OWNER, key, getattr(self, key))
        if self.addition_embed_type == "text_time" and (
            self.addition_time_embed_dim is None or self.projection_class_embeddings_input_dim is None
        ):
            raise ValueError(
                f"{_OWNER} config: addition_embed_type 'text_time' needs addition_time_embed_dim and "
                "projection_class_embeddings_input_dim"
            )
        for key in ("attention_head_dim", "cross_attention_dim", "layers_per_block", "transformer_layers_per_block"):
            per_block(_OWNER, key, getattr(self, key), blocks)
        if self.reverse_transformer_layers_per_block is not None:
            per_block(_OWNER, "reverse_transformer_layers_per_block", self.reverse_transformer_layers_per_block, blocks)
        nested = isinstance(self.transformer_layers_per_block, tuple) and any(
            isinstance(count, tuple) for count in self.transformer_layers_per_block
        )
        if nested and self.reverse_transformer_layers_per_block is None:
            raise ValueError(
                f"{_OWNER} config: per-layer transformer_layers_per_block needs reverse_transformer_layers_per_block"
            )


def _per_layer(counts: LayerCounts, num_layers: int) -> tuple[int, ...]:
    """Transformer depth for each resnet layer of a block, from one count or one count per layer."""
    if isinstance(counts, int):
        return (counts,) * num_layers
    if len(counts) != num_layers:
        raise ValueError(
            f"{_OWNER} config: {counts} gives transformer depths for {len(counts)} layers, not {num_layers}"
        )
    return counts


class UNet2DConditionModel(ConfiguredModel[UNet2DConditionConfig]):
    """Predicts noise (or v / x0) for a latent, a timestep and text embeddings.

    State-dict keys and shapes are identical to diffusers', so Hub weights load with strict=True.
    """

    config_class = UNet2DConditionConfig

    def __init__(self, **config: Any) -> None:
        super().__init__(**config)
        cfg = self.config
        channels = cfg.block_out_channels
        blocks = len(channels)
        heads = per_block(_OWNER, "attention_head_dim", cfg.attention_head_dim, blocks)
        context_dims = per_block(_OWNER, "cross_attention_dim", cfg.cross_attention_dim, blocks)
        layers = per_block(_OWNER, "layers_per_block", cfg.layers_per_block, blocks)
        depths = per_block(_OWNER, "transformer_layers_per_block", cfg.transformer_layers_per_block, blocks)
        time_dim = cfg.time_embedding_dim or channels[0] * 4
        groups = cfg.norm_num_groups
        assert groups is not None  # checked by the config

        self.conv_in = nn.Conv2d(
            cfg.in_channels, channels[0], cfg.conv_in_kernel, padding=(cfg.conv_in_kernel - 1) // 2
        )
        self.time_embedding = TimestepEmbedding(
            channels[0],
            time_dim,
            act_fn=cfg.act_fn,
            post_act_fn=cfg.timestep_post_act,
            cond_proj_dim=cfg.time_cond_proj_dim,
        )
        self.add_embedding = (
            TimestepEmbedding(cfg.projection_class_embeddings_input_dim, time_dim)
            if cfg.addition_embed_type == "text_time" and cfg.projection_class_embeddings_input_dim is not None
            else None
        )
        self.time_embed_act = activation(cfg.time_embedding_act_fn) if cfg.time_embedding_act_fn else None

        resnet = ResnetSettings(
            temb_channels=time_dim,
            groups=groups,
            eps=cfg.norm_eps,
            act_fn=cfg.act_fn,
            dropout=cfg.dropout,
            time_embedding_norm=cfg.resnet_time_scale_shift,
        )

        def transformers(block_heads: int, block_depths: tuple[int, ...], context_dim: int) -> AttentionMaker:
            def make(block_channels: int, layer: int) -> nn.Module:
                return Transformer2DModel(
                    block_channels,
                    heads=block_heads,
                    num_layers=block_depths[layer],
                    context_dim=context_dim,
                    norm_groups=groups,
                    use_linear_projection=cfg.use_linear_projection,
                    dropout=cfg.dropout,
                )

            return make

        self.down_blocks = nn.ModuleList()
        for i, kind in enumerate(cfg.down_block_types):
            attention = (
                transformers(heads[i], _per_layer(depths[i], layers[i]), context_dims[i])
                if kind == _CROSS_DOWN
                else None
            )
            self.down_blocks.append(
                DownBlock(
                    channels[max(i - 1, 0)],
                    channels[i],
                    num_layers=layers[i],
                    resnet=resnet,
                    attention=attention,
                    add_downsample=i < blocks - 1,
                    downsample_padding=cfg.downsample_padding,
                )
            )

        mid_depth = depths[-1][0] if isinstance(depths[-1], tuple) else depths[-1]
        self.mid_block = (
            MidBlock(
                channels[-1],
                resnet=dataclasses.replace(resnet, output_scale_factor=cfg.mid_block_scale_factor),
                attention=transformers(heads[-1], (mid_depth,), context_dims[-1]),
            )
            if cfg.mid_block_type == _CROSS_MID
            else None
        )

        up_channels = tuple(reversed(channels))
        up_depths = cfg.reverse_transformer_layers_per_block or tuple(reversed(depths))
        self.up_blocks = nn.ModuleList()
        for i, kind in enumerate(cfg.up_block_types):
            num_layers = layers[blocks - 1 - i] + 1
            # The last layer's skip comes from the next-shallower level (its downsample output or conv_in).
            skip_from_below = up_channels[min(i + 1, blocks - 1)]
            skips = [up_channels[i]] * (num_layers - 1) + [skip_from_below]
            attention = (
                transformers(heads[blocks - 1 - i], _per_layer(up_depths[i], num_layers), context_dims[blocks - 1 - i])
                if kind == _CROSS_UP
                else None
            )
            self.up_blocks.append(
                UpBlock(
                    up_channels[max(i - 1, 0)],
                    up_channels[i],
                    skip_channels=skips,
                    resnet=resnet,
                    attention=attention,
                    add_upsample=i < blocks - 1,
                )
            )

        self.conv_norm_out = nn.GroupNorm(groups, channels[0], eps=cfg.norm_eps)
        self.conv_act = activation(cfg.act_fn)
        self.conv_out = nn.Conv2d(
            channels[0], cfg.out_channels, cfg.conv_out_kernel, padding=(cfg.conv_out_kernel - 1) // 2
        )

    def forward(
        self,
        sample: Tensor,
        timestep: Tensor | float | int,
        encoder_hidden_states: Tensor,
        *,
        added_cond_kwargs: Mapping[str, Tensor] | None = None,
        timestep_cond: Tensor | None = None,
        down_block_additional_residuals: Sequence[Tensor] | None = None,
        mid_block_additional_residual: Tensor | None = None,
    ) -> Tensor:
        """Model output for `sample` (B, C, H, W) at `timestep` given text `encoder_hidden_states` (B, T, D).

        SDXL (`addition_embed_type` "text_time") needs `added_cond_kwargs` with "text_embeds" (the pooled
        text embedding, (B, D_pooled)) and "time_ids" (B, 6); LCM's guidance embedding goes in `timestep_cond`.
        ControlNet outputs are added to the skip connections (one residual per skip, shallowest first)
        and to the middle block's output.
        """
        cfg = self.config
        if cfg.center_input_sample:
            sample = 2 * sample - 1.0
        emb = self._time_embedding(sample, timestep, timestep_cond)
        if self.add_embedding is not None:
            emb = emb + self._text_time_embedding(added_cond_kwargs, emb.dtype)
        if self.time_embed_act is not None:
            emb = self.time_embed_act(emb)

        x = self.conv_in(sample)
        skips = [x]
        for down in self.down_blocks:
            x, block_skips = down(x, emb, encoder_hidden_states)
            skips.extend(block_skips)
        if down_block_additional_residuals is not None:
            if len(down_block_additional_residuals) != len(skips):
                raise ValueError(
                    f"{_OWNER}: got {len(down_block_additional_residuals)} down-block residuals, "
                    f"expected one per skip connection ({len(skips)})"
                )
            skips = [skip + residual for skip, residual in zip(skips, down_block_additional_residuals, strict=True)]
        if self.mid_block is not None:
            x = self.mid_block(x, emb, encoder_hidden_states)
        if mid_block_additional_residual is not None:
            x = x + mid_block_additional_residual
        for up in self.up_blocks:
            count = len(up.resnets)
            block_skips, skips = skips[-count:], skips[:-count]
            # Upsample to the next skip's size so odd latent sizes (not multiples of 2**levels) still line up.
            size = tuple(skips[-1].shape[-2:]) if skips else None
            x = up(x, block_skips, emb, encoder_hidden_states, upsample_size=size)
        return self.conv_out(self.conv_act(self.conv_norm_out(x)))

    def _time_embedding(self, sample: Tensor, timestep: Tensor | float | int, condition: Tensor | None) -> Tensor:
        cfg = self.config
        timesteps = batch_timesteps(timestep, sample.shape[0], sample.device)
        features = sinusoidal_embedding(
            timesteps, cfg.block_out_channels[0], flip_sin_to_cos=cfg.flip_sin_to_cos, freq_shift=cfg.freq_shift
        )
        dtype = self.time_embedding.linear_1.weight.dtype
        return self.time_embedding(features.to(dtype), condition)

    def _text_time_embedding(self, added_cond_kwargs: Mapping[str, Tensor] | None, dtype: torch.dtype) -> Tensor:
        """SDXL's micro-conditioning: pooled text embedding + sinusoidal features of the six size/crop ids."""
        cfg = self.config
        if not added_cond_kwargs or "text_embeds" not in added_cond_kwargs or "time_ids" not in added_cond_kwargs:
            raise ValueError(
                f"{_OWNER} with addition_embed_type 'text_time' (SDXL) needs added_cond_kwargs with 'text_embeds' "
                "(pooled text embedding, (batch, dim)) and 'time_ids' ((batch, 6): original size, crop, target size)"
            )
        text_embeds, time_ids = added_cond_kwargs["text_embeds"], added_cond_kwargs["time_ids"]
        assert cfg.addition_time_embed_dim is not None  # checked by the config
        time_features = sinusoidal_embedding(
            time_ids.flatten(),
            cfg.addition_time_embed_dim,
            flip_sin_to_cos=cfg.flip_sin_to_cos,
            freq_shift=cfg.freq_shift,
        ).reshape(text_embeds.shape[0], -1)
        width = text_embeds.shape[-1] + time_features.shape[-1]
        if width != cfg.projection_class_embeddings_input_dim:
            raise ValueError(
                f"{_OWNER}: text_embeds ({text_embeds.shape[-1]}) + time_ids features ({time_features.shape[-1]}) "
                f"give {width} features, expected projection_class_embeddings_input_dim="
                f"{cfg.projection_class_embeddings_input_dim}"
            )
        return self.add_embedding(torch.cat([text_embeds, time_features], dim=-1).to(dtype))
