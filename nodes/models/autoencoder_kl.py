"""The KL-regularised autoencoder of latent diffusion (diffusers' AutoencoderKL): image <-> latent."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

from .activations import check_activation
from .attention import SpatialSelfAttention
from .base import ConfiguredModel
from .config import ModelConfig, require_choice
from .distribution import DiagonalGaussianDistribution
from .resnet import ResnetSettings, Upsample2D
from .unet_blocks import AttentionMaker, DownBlock, MidBlock
from .vae_tiling import VAETiling, tiled_decode, tiled_encode

_OWNER = "AutoencoderKL"
_EPS = 1e-6  # the LDM autoencoder's GroupNorm epsilon, fixed (not part of the config)


@dataclasses.dataclass(frozen=True)
class AutoencoderKLConfig(ModelConfig):
    """diffusers' AutoencoderKL config keys and defaults.

    `scaling_factor` (and `shift_factor`) map encoder latents to the diffusion model's scale:
    callers apply `(z - shift) * scale` after encode and the inverse before decode.
    `force_upcast` marks VAEs that overflow in float16 (SDXL's): see `AutoencoderKL.decode(upcast=...)`.
    """

    in_channels: int = 3
    out_channels: int = 3
    down_block_types: tuple[str, ...] = ("DownEncoderBlock2D",)
    up_block_types: tuple[str, ...] = ("UpDecoderBlock2D",)
    block_out_channels: tuple[int, ...] = (64,)
    layers_per_block: int = 1
    act_fn: str = "silu"
    latent_channels: int = 4
    norm_num_groups: int = 32
    sample_size: int | tuple[int, int] = 32
    scaling_factor: float = 0.18215
    shift_factor: float | None = None
    latents_mean: tuple[float, ...] | None = None
    latents_std: tuple[float, ...] | None = None
    force_upcast: bool = True
    use_quant_conv: bool = True
    use_post_quant_conv: bool = True
    mid_block_add_attention: bool = True

    def validate(self) -> None:
        blocks = len(self.block_out_channels)
        if len(self.down_block_types) != blocks or len(self.up_block_types) != blocks:
            raise ValueError(
                f"{_OWNER} config: down_block_types ({len(self.down_block_types)}), up_block_types "
                f"({len(self.up_block_types)}) and block_out_channels ({blocks}) must have the same length"
            )
        for kind in self.down_block_types:
            require_choice(_OWNER, "down_block_types entry", kind, ("DownEncoderBlock2D",))
        for kind in self.up_block_types:
            require_choice(_OWNER, "up_block_types entry", kind, ("UpDecoderBlock2D",))
        check_activation(_OWNER, "act_fn", self.act_fn)

    @property
    def tile_sample_size(self) -> int:
        """Default tile edge in pixels: the training resolution (`sample_size`)."""
        return self.sample_size[0] if isinstance(self.sample_size, tuple) else self.sample_size

    @property
    def downscale(self) -> int:
        """Pixels per latent pixel along each axis."""
        return 2 ** (len(self.block_out_channels) - 1)


def _self_attention(groups: int) -> AttentionMaker:
    def make(channels: int, layer: int) -> nn.Module:
        return SpatialSelfAttention(channels, head_dim=channels, norm_groups=groups, eps=_EPS)

    return make


class Encoder(nn.Module):
    """Image -> latent moments (mean and logvar stacked along channels)."""

    def __init__(self, cfg: AutoencoderKLConfig) -> None:
        super().__init__()
        channels = cfg.block_out_channels
        resnet = ResnetSettings(temb_channels=None, groups=cfg.norm_num_groups, eps=_EPS, act_fn=cfg.act_fn)
        self.conv_in = nn.Conv2d(cfg.in_channels, channels[0], kernel_size=3, padding=1)
        self.down_blocks = nn.ModuleList(
            DownBlock(
                channels[max(i - 1, 0)],
                channels[i],
                num_layers=cfg.layers_per_block,
                resnet=resnet,
                add_downsample=i < len(channels) - 1,
                downsample_padding=0,
            )
            for i in range(len(channels))
        )
        attention = _self_attention(cfg.norm_num_groups) if cfg.mid_block_add_attention else None
        self.mid_block = MidBlock(channels[-1], resnet=resnet, attention=attention)
        self.conv_norm_out = nn.GroupNorm(cfg.norm_num_groups, channels[-1], eps=_EPS)
        self.conv_act = nn.SiLU()
        self.conv_out = nn.Conv2d(channels[-1], 2 * cfg.latent_channels, kernel_size=3, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        x = self.conv_in(x)
        for block in self.down_blocks:
            x, _ = block(x)
        x = self.mid_block(x)
        return self.conv_out(self.conv_act(self.conv_norm_out(x)))


class DecoderUpBlock(nn.Module):
    """Resnets at one resolution, then a 2x upsample (no skip connections in the VAE)."""

    def __init__(
        self, in_channels: int, out_channels: int, *, num_layers: int, resnet: ResnetSettings, add_upsample: bool
    ) -> None:
        super().__init__()
        self.resnets = nn.ModuleList(
            resnet.block(in_channels if i == 0 else out_channels, out_channels) for i in range(num_layers)
        )
        self.upsamplers = nn.ModuleList([Upsample2D(out_channels)]) if add_upsample else None

    def forward(self, x: Tensor) -> Tensor:
        for resnet in self.resnets:
            x = resnet(x)
        if self.upsamplers is not None:
            x = self.upsamplers[0](x)
        return x


class Decoder(nn.Module):
    """Latent -> image."""

    def __init__(self, cfg: AutoencoderKLConfig) -> None:
        super().__init__()
        channels = tuple(reversed(cfg.block_out_channels))
        resnet = ResnetSettings(temb_channels=None, groups=cfg.norm_num_groups, eps=_EPS, act_fn=cfg.act_fn)
        self.conv_in = nn.Conv2d(cfg.latent_channels, channels[0], kernel_size=3, padding=1)
        attention = _self_attention(cfg.norm_num_groups) if cfg.mid_block_add_attention else None
        self.mid_block = MidBlock(channels[0], resnet=resnet, attention=attention)
        self.up_blocks = nn.ModuleList(
            DecoderUpBlock(
                channels[max(i - 1, 0)],
                channels[i],
                num_layers=cfg.layers_per_block + 1,
                resnet=resnet,
                add_upsample=i < len(channels) - 1,
            )
            for i in range(len(channels))
        )
        self.conv_norm_out = nn.GroupNorm(cfg.norm_num_groups, channels[-1], eps=_EPS)
        self.conv_act = nn.SiLU()
        self.conv_out = nn.Conv2d(channels[-1], cfg.out_channels, kernel_size=3, padding=1)

    def forward(self, z: Tensor) -> Tensor:
        x = self.mid_block(self.conv_in(z))
        for block in self.up_blocks:
            x = block(x)
        return self.conv_out(self.conv_act(self.conv_norm_out(x)))


class AutoencoderKL(ConfiguredModel[AutoencoderKLConfig]):
    """Encodes images in [-1, 1] (B, C, H, W) to a latent posterior and decodes latents back.

    Latents are unscaled: apply the config's `scaling_factor` / `shift_factor` outside, as diffusers does.
    Options on encode/decode: `tiling` (process large images in blended tiles, see `tiling()`),
    `sliced` (one batch element at a time) and `upcast` (run in float32; defaults to on for a
    float16 model whose config sets `force_upcast`). None of them changes the model itself.
    """

    config_class = AutoencoderKLConfig

    def __init__(self, **config: Any) -> None:
        super().__init__(**config)
        cfg = self.config
        self.encoder = Encoder(cfg)
        self.decoder = Decoder(cfg)
        latent = cfg.latent_channels
        self.quant_conv = nn.Conv2d(2 * latent, 2 * latent, kernel_size=1) if cfg.use_quant_conv else None
        self.post_quant_conv = nn.Conv2d(latent, latent, kernel_size=1) if cfg.use_post_quant_conv else None

    def tiling(self, sample_tile: int | None = None, overlap_factor: float = 0.25) -> VAETiling:
        """Tile settings: by default diffusers' `enable_tiling()` ones (tiles of `sample_size` px, 25% overlap)."""
        cfg = self.config
        sample_tile = sample_tile or cfg.tile_sample_size
        if sample_tile % cfg.downscale != 0:
            raise ValueError(f"VAE sample_tile must be a multiple of {cfg.downscale} pixels, got {sample_tile}")
        return VAETiling(sample_tile, sample_tile // cfg.downscale, overlap_factor)

    def needs_upcast(self) -> bool:
        """True when this model is float16 and its config says float16 overflows (`force_upcast`)."""
        return self.config.force_upcast and self.dtype == torch.float16

    def encode(
        self, x: Tensor, *, tiling: VAETiling | None = None, sliced: bool = False, upcast: bool | None = None
    ) -> DiagonalGaussianDistribution:
        """Posterior over latents for images `x`; tiles only when `x` is larger than a tile."""
        if self._upcasts(upcast):
            return self._float32_twin().encode(x, tiling=tiling, sliced=sliced, upcast=False)
        x = x.to(self.dtype)

        def encode_tile(tile: Tensor) -> Tensor:
            moments = self.encoder(tile)
            return self.quant_conv(moments) if self.quant_conv is not None else moments

        def encode_batch(batch: Tensor) -> Tensor:
            if tiling is not None and max(batch.shape[-2:]) > tiling.sample_tile:
                return tiled_encode(batch, encode_tile, tiling)
            return encode_tile(batch)

        return DiagonalGaussianDistribution(_batched(encode_batch, x, sliced))

    def decode(
        self, z: Tensor, *, tiling: VAETiling | None = None, sliced: bool = False, upcast: bool | None = None
    ) -> Tensor:
        """Images (about [-1, 1]) for unscaled latents `z`; tiles only when `z` is larger than a tile."""
        if self._upcasts(upcast):
            return self._float32_twin().decode(z, tiling=tiling, sliced=sliced, upcast=False)
        z = z.to(self.dtype)

        def decode_tile(tile: Tensor) -> Tensor:
            return self.decoder(self.post_quant_conv(tile) if self.post_quant_conv is not None else tile)

        def decode_batch(batch: Tensor) -> Tensor:
            if tiling is not None and max(batch.shape[-2:]) > tiling.latent_tile:
                return tiled_decode(batch, decode_tile, tiling)
            return decode_tile(batch)

        return _batched(decode_batch, z, sliced)

    def _upcasts(self, upcast: bool | None) -> bool:
        wanted = self.needs_upcast() if upcast is None else upcast
        return wanted and self.dtype != torch.float32

    def _float32_twin(self) -> AutoencoderKL:
        """A float32 copy sharing nothing mutable with this model; built on meta so only one copy is allocated."""
        with torch.device("meta"):
            twin = type(self)(**self.config)
        twin.load_state_dict({key: value.float() for key, value in self.state_dict().items()}, assign=True)
        return twin.train(self.training)


def _batched(fn: Callable[[Tensor], Tensor], x: Tensor, sliced: bool) -> Tensor:
    """fn over the whole batch, or one sample at a time to bound activation memory."""
    if sliced and x.shape[0] > 1:
        return torch.cat([fn(sample) for sample in x.split(1)])
    return fn(x)
