"""The diffusion pack's socket types and the runtime values that flow along them.

| socket | runtime value |
|---|---|
| MODEL | `ModelHandle`: a denoising UNet held by the model manager, its noise schedule, LoRA patches |
| CLIP | `ClipHandle`: tokenizer(s), text encoder(s), clip-skip default, LoRA patches |
| VAE | `VaeHandle`: the AutoencoderKL and its latent scaling |
| UNCOND_MODEL | `UnconditionalModelHandle`: a pixel-space UNet2DModel and its noise schedule |
| CONDITIONING | `nodes.text_encoding.Conditioning` |
| LATENT | `Latent`: samples [B, C, h, w] (scaled, as the UNet sees them), optional noise mask and batch index |
| IMAGE | float tensor [B, H, W, C] in 0..1 on the CPU |
| MASK | float tensor [B, H, W] in 0..1 on the CPU (1 = regenerate) |

Values are shared with the result cache, so nothing here is ever modified in place: handles are
frozen and derive new ones (`with_patches`). Model weights live in the `ModelManager`, not in the
handles, so the result cache holds only small handles and the manager alone decides what stays
loaded.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Annotated, cast

import torch
from transformers import PreTrainedTokenizerBase

from graph_engine import EnumType, SocketType
from nodes.lora import WeightPatch
from nodes.model_manager import ManagedModel
from nodes.models import AutoencoderKL
from nodes.previews import LatentPreview
from nodes.schedulers import SAMPLER_NAMES, SCHEDULE_NAMES, NoiseSchedule
from nodes.text_encoding import Conditioning, TextEncoders

MODEL = SocketType("MODEL", "A text-conditioned denoising UNet with its noise schedule (and LoRA patches).")
CLIP = SocketType("CLIP", "Tokenizer(s) and text encoder(s) that turn prompts into conditioning.")
VAE = SocketType("VAE", "The autoencoder between pixels and latents.")
UNCOND_MODEL = SocketType("UNCOND_MODEL", "An unconditional pixel-space UNet2DModel with its noise schedule.")
CONDITIONING = SocketType("CONDITIONING", "Encoded prompt: token embeddings (and SDXL's pooled embedding).")
LATENT = SocketType("LATENT", "Latent samples [B, C, h, w] with an optional noise mask.")
IMAGE = SocketType("IMAGE", "Images as a float tensor [B, H, W, C] in 0..1.")
MASK = SocketType("MASK", "Masks as a float tensor [B, H, W] in 0..1 (1 = regenerate).")
SAMPLER = EnumType("SAMPLER", "A sampling algorithm.", choices=SAMPLER_NAMES)
SCHEDULER = EnumType("SCHEDULER", "How the noise levels of a run are spaced.", choices=SCHEDULE_NAMES)

SOCKET_TYPES = (MODEL, CLIP, VAE, UNCOND_MODEL, CONDITIONING, LATENT, IMAGE, MASK, SAMPLER, SCHEDULER)


def _tensor_bytes(*tensors: torch.Tensor | None) -> int:
    return sum(tensor.element_size() * tensor.nelement() for tensor in tensors if tensor is not None)


@dataclass(frozen=True)
class ModelHandle:
    """A text-conditioned UNet: weights in the model manager, patches applied only while sampling."""

    unet: ManagedModel
    noise_schedule: NoiseSchedule
    family: str
    preview: LatentPreview | None = None
    patches: tuple[WeightPatch, ...] = ()

    def with_patches(self, patches: tuple[WeightPatch, ...]) -> ModelHandle:
        """This model with more weight patches (e.g. a LoRA); the cached weights stay untouched."""
        return replace(self, patches=self.patches + tuple(patches))

    def __graph_nbytes__(self) -> int:
        # The weights are accounted by the model manager; the cache holds only this handle.
        return _tensor_bytes(*(t for patch in self.patches for t in (patch.up, patch.down)))


@dataclass(frozen=True)
class ClipHandle:
    """Tokenizer(s) and text encoder(s); SDXL has a second pair. `patches` maps an encoder
    ("text_encoder", "text_encoder_2") to the weight patches applied while it encodes."""

    tokenizer: PreTrainedTokenizerBase
    text_encoder: ManagedModel
    tokenizer_2: PreTrainedTokenizerBase | None = None
    text_encoder_2: ManagedModel | None = None
    patches: Mapping[str, tuple[WeightPatch, ...]] = field(default_factory=lambda: MappingProxyType({}))
    clip_skip: int = 0  # final layers a text encode node skips unless it says otherwise (ClipSkip sets it)

    def __post_init__(self) -> None:
        if (self.tokenizer_2 is None) != (self.text_encoder_2 is None):
            raise ValueError("ClipHandle: tokenizer_2 and text_encoder_2 come together: give both or neither")
        unknown = set(self.patches) - {"text_encoder", "text_encoder_2"}
        if unknown:
            raise ValueError(
                f"ClipHandle: patches for unknown encoder(s) {sorted(unknown)}; expected text_encoder, text_encoder_2"
            )

    @property
    def is_dual(self) -> bool:
        return self.text_encoder_2 is not None

    def with_patches(self, patches: Mapping[str, tuple[WeightPatch, ...]]) -> ClipHandle:
        """These encoders with more weight patches per encoder name."""
        merged = {name: self.patches.get(name, ()) + tuple(patches.get(name, ())) for name in {*self.patches, *patches}}
        return replace(self, patches=MappingProxyType(merged))

    def encoders(self, device: torch.device | str) -> TextEncoders:
        """The text encoders, loaded and on `device`, as `encode_prompt` takes them."""
        second = self.text_encoder_2.use(device) if self.text_encoder_2 is not None else None
        return TextEncoders(self.tokenizer, self.text_encoder.use(device), self.tokenizer_2, second)

    def __graph_nbytes__(self) -> int:
        return _tensor_bytes(*(t for group in self.patches.values() for patch in group for t in (patch.up, patch.down)))


@dataclass(frozen=True)
class VaeHandle:
    """An AutoencoderKL and how its latents are scaled: UNet latents = (raw - shift) * scaling."""

    vae: ManagedModel
    scaling_factor: float
    shift_factor: float
    downscale: int
    latent_channels: int

    def autoencoder(self, device: torch.device | str) -> AutoencoderKL:
        """The AutoencoderKL, loaded and on `device`."""
        return cast(AutoencoderKL, self.vae.use(device))

    def __graph_nbytes__(self) -> int:
        return 0  # weights are accounted by the model manager


@dataclass(frozen=True)
class UnconditionalModelHandle:
    """A pixel-space UNet2DModel (DDPM-style checkpoint) and its noise schedule."""

    unet: ManagedModel
    noise_schedule: NoiseSchedule
    size: tuple[int, int]  # (height, width) in pixels
    channels: int

    def __graph_nbytes__(self) -> int:
        return 0  # weights are accounted by the model manager


@dataclass(frozen=True)
class Latent:
    """Latent samples as the UNet sees them (already multiplied by the VAE's scaling factor).

    `noise_mask` [B or 1, 1, h', w'] in 0..1 restricts sampling to where it is 1 (resized to the
    latent when used). `batch_index` gives each sample's position in the batch it was taken from,
    so that its initial noise is the one it had there.
    """

    samples: torch.Tensor
    noise_mask: torch.Tensor | None = None
    batch_index: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        if self.samples.ndim != 4:
            raise ValueError(
                f"Latent.samples must be [batch, channels, height, width], got shape {tuple(self.samples.shape)}"
            )
        if self.noise_mask is not None and (self.noise_mask.ndim != 4 or self.noise_mask.shape[1] != 1):
            raise ValueError(
                f"Latent.noise_mask must be [batch, 1, height, width], got shape {tuple(self.noise_mask.shape)}"
            )
        if self.batch_index is not None and len(self.batch_index) != self.batch_size:
            raise ValueError(f"Latent.batch_index has {len(self.batch_index)} entries for a batch of {self.batch_size}")

    @property
    def batch_size(self) -> int:
        return self.samples.shape[0]

    @property
    def positions(self) -> tuple[int, ...]:
        """Each sample's position in its original batch (0..B-1 unless taken from a larger one)."""
        return self.batch_index if self.batch_index is not None else tuple(range(self.batch_size))

    def __graph_nbytes__(self) -> int:
        return _tensor_bytes(self.samples, self.noise_mask)


Model = Annotated[ModelHandle, MODEL]
Clip = Annotated[ClipHandle, CLIP]
Vae = Annotated[VaeHandle, VAE]
UnconditionalModel = Annotated[UnconditionalModelHandle, UNCOND_MODEL]
Cond = Annotated[Conditioning, CONDITIONING]
LatentValue = Annotated[Latent, LATENT]
Image = Annotated[torch.Tensor, IMAGE]
Mask = Annotated[torch.Tensor, MASK]
SamplerName = Annotated[str, SAMPLER]
SchedulerName = Annotated[str, SCHEDULER]
