"""Original single-file Stable Diffusion checkpoints, converted to diffusers-named state dicts.

Configs come from this package (`configs/<family>/`), never from the network; callers may
replace any component's config (tests pass tiny ones).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch

from nodes.loading.build import cast_floating
from nodes.loading.errors import CheckpointError
from nodes.loading.families import (
    PREDICTION_TYPES,
    TEXT_ENCODER_SLOTS,
    Family,
    PredictionType,
    TextEncoderSlot,
    default_prediction_type,
    detect_family,
    shipped_configs,
)
from nodes.loading.ldm_clip import clip_tensors, open_clip_tensors
from nodes.loading.ldm_unet import UNET_PREFIX, unet_key
from nodes.loading.ldm_vae import VAE_PREFIXES, vae_tensor
from nodes.loading.tensor_files import TensorFile

ComponentConfigs = Mapping[str, Mapping[str, Any]]
StateDict = dict[str, torch.Tensor]
TEXT_ENCODER_NAMES = ("text_encoder", "text_encoder_2")
# Input channels of the UNet's first convolution: 4 for txt2img models, 9 for inpainting ones.
_CONV_IN = UNET_PREFIX + "input_blocks.0.0.weight"


@dataclass(frozen=True)
class TextEncoderWeights:
    class_name: str
    config: dict[str, Any]
    state_dict: StateDict
    pad_token: str


@dataclass(frozen=True)
class ConvertedCheckpoint:
    """The components of an original checkpoint, in diffusers/transformers naming."""

    family: Family
    prediction_type: PredictionType
    unet_config: dict[str, Any]
    unet: StateDict
    vae_config: dict[str, Any]
    vae: StateDict
    text_encoders: tuple[TextEncoderWeights, ...]
    scheduler_config: dict[str, Any]


def convert_original_checkpoint(
    file: TensorFile,
    *,
    family: Family | None = None,
    configs: ComponentConfigs | None = None,
    prediction_type: PredictionType | None = None,
    dtype: torch.dtype | None = None,
) -> ConvertedCheckpoint:
    """Read and rename the UNet, VAE and text encoder(s) of an original SD 1.x / 2.x / XL file.

    `configs` replaces shipped component configs by name ("unet", "vae", "text_encoder",
    "text_encoder_2", "scheduler"). `prediction_type` overrides the family's default
    (SD 2.x: see `default_prediction_type`).
    """
    keys = file.keys()
    family = family or detect_family(keys, file.shape)
    overrides = dict(configs or {})
    unknown = sorted(set(overrides) - {"unet", "vae", "scheduler", *TEXT_ENCODER_NAMES})
    if unknown:
        raise ValueError(f"configs has unknown component(s) {unknown}; expected unet, vae, text_encoder, text_encoder_2, scheduler")
    resolved = {**shipped_configs(family), **{name: dict(config) for name, config in overrides.items()}}
    if prediction_type is not None and prediction_type not in PREDICTION_TYPES:
        raise ValueError(f"prediction_type {prediction_type!r} is not one of {PREDICTION_TYPES}")
    prediction = prediction_type or default_prediction_type(family, file.extras)

    unet_config = dict(resolved["unet"])
    if family == "sd2" and "unet" not in overrides:
        unet_config["sample_size"] = 96 if prediction == "v_prediction" else 64  # 768 px v-models, 512 px base
    if _CONV_IN in keys:
        unet_config["in_channels"] = file.shape(_CONV_IN)[1]
    layers_per_block = unet_config.get("layers_per_block", 2)
    if not isinstance(layers_per_block, int):
        raise CheckpointError(f"original UNet layouts need one integer layers_per_block, got {layers_per_block!r}")

    def read(key: str) -> torch.Tensor:
        return cast_floating(file.tensor(key), dtype)

    unet = _convert_tensors(keys, (UNET_PREFIX,), lambda key, t: [(unet_key(key, layers_per_block), t)], read, "UNet")
    num_up_blocks = len(resolved["vae"]["block_out_channels"])
    vae = _convert_tensors(keys, VAE_PREFIXES, lambda key, t: [vae_tensor(key, t, num_up_blocks)], read, "VAE")
    text_encoders = tuple(
        TextEncoderWeights(
            class_name=slot.class_name,
            config=dict(resolved[name]),
            state_dict=_convert_text_encoder(keys, slot, resolved[name], read),
            pad_token=slot.pad_token,
        )
        for name, slot in zip(TEXT_ENCODER_NAMES, TEXT_ENCODER_SLOTS[family])
    )
    scheduler_config = {**resolved["scheduler"], "prediction_type": prediction}
    return ConvertedCheckpoint(
        family=family,
        prediction_type=prediction,
        unet_config=unet_config,
        unet=unet,
        vae_config=dict(resolved["vae"]),
        vae=vae,
        text_encoders=text_encoders,
        scheduler_config=scheduler_config,
    )


def _convert_text_encoder(
    keys: list[str], slot: TextEncoderSlot, config: Mapping[str, Any], read: Callable[[str], torch.Tensor]
) -> StateDict:
    if slot.kind == "clip":
        return _convert_tensors(keys, (slot.prefix,), clip_tensors, read, "text encoder")
    num_layers = int(config["num_hidden_layers"])
    with_projection = slot.class_name == "CLIPTextModelWithProjection"
    return _convert_tensors(
        keys,
        (slot.prefix,),
        lambda key, tensor: open_clip_tensors(key, tensor, num_layers=num_layers, with_projection=with_projection),
        read,
        "text encoder",
    )


def _convert_tensors(
    keys: list[str],
    prefixes: tuple[str, ...],
    convert: Callable[[str, torch.Tensor], list[tuple[str, torch.Tensor]]],
    read: Callable[[str], torch.Tensor],
    what: str,
) -> StateDict:
    """Read every key under the first of `prefixes` present in the file and convert it."""
    prefix = next((p for p in prefixes if any(key.startswith(p) for key in keys)), None)
    if prefix is None:
        raise CheckpointError(f"the checkpoint has no {what} weights (expected names starting with {' or '.join(prefixes)})")
    converted: StateDict = {}
    for key in keys:
        if key.startswith(prefix):
            for name, tensor in convert(key[len(prefix) :], read(key)):
                converted[name] = tensor
    return converted
