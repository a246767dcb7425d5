"""Stable Diffusion families: how to recognise an original single-file checkpoint, where each
component lives in it, and the component configs shipped with this package."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

from nodes.loading.clip_tokenizer import OPEN_CLIP_PAD_TOKEN, OPENAI_PAD_TOKEN
from nodes.loading.errors import CheckpointError
from nodes.loading.ldm_unet import UNET_PREFIX

Family = Literal["sd1", "sd2", "sdxl"]
FAMILIES: tuple[Family, ...] = get_args(Family)
PredictionType = Literal["epsilon", "v_prediction", "sample"]
PREDICTION_TYPES: tuple[PredictionType, ...] = get_args(PredictionType)
TextEncoderKind = Literal["clip", "open_clip"]

CONFIG_DIR = Path(__file__).parent / "configs"
COMPONENTS = ("unet", "vae", "text_encoder", "text_encoder_2", "scheduler")


@dataclass(frozen=True)
class TextEncoderSlot:
    """Where one text encoder sits in an original checkpoint and which tokenizer flavour it uses."""

    prefix: str
    kind: TextEncoderKind
    class_name: str
    pad_token: str


# The text encoders of each family's original single files, in order (SDXL: OpenAI CLIP, then OpenCLIP bigG).
TEXT_ENCODER_SLOTS: dict[Family, tuple[TextEncoderSlot, ...]] = {
    "sd1": (TextEncoderSlot("cond_stage_model.transformer.", "clip", "CLIPTextModel", OPENAI_PAD_TOKEN),),
    "sd2": (TextEncoderSlot("cond_stage_model.model.", "open_clip", "CLIPTextModel", OPEN_CLIP_PAD_TOKEN),),
    "sdxl": (
        TextEncoderSlot("conditioner.embedders.0.transformer.", "clip", "CLIPTextModel", OPENAI_PAD_TOKEN),
        TextEncoderSlot("conditioner.embedders.1.model.", "open_clip", "CLIPTextModelWithProjection", OPEN_CLIP_PAD_TOKEN),
    ),
}

# Cross-attention width of the UNet, read from the first cross-attention key, when no text encoder is present.
_CONTEXT_PROBE = UNET_PREFIX + "input_blocks.{}.1.transformer_blocks.0.attn2.to_k.weight"
_CONTEXT_WIDTH: dict[int, Family] = {768: "sd1", 1024: "sd2", 2048: "sdxl"}


def detect_family(keys: list[str], shape: Callable[[str], tuple[int, ...]]) -> Family:
    """Recognise the family of an original checkpoint from its parameter names.

    The text-encoder prefixes are decisive; a UNet-only file falls back to the UNet's
    cross-attention width (768 / 1024 / 2048), which is how diffusers tells SD 2.x apart.
    """
    if not any(key.startswith(UNET_PREFIX) for key in keys):
        raise CheckpointError(
            f"not a Stable Diffusion checkpoint: no UNet parameters ({UNET_PREFIX}*) found."
            " A VAE-only file loads with load_vae."
        )
    if any(key.startswith("conditioner.embedders.0.model.") for key in keys):
        raise CheckpointError("SDXL refiner checkpoints are not supported (only SD 1.x, SD 2.x and SDXL base)")
    for family, slots in TEXT_ENCODER_SLOTS.items():
        if all(any(key.startswith(slot.prefix) for key in keys) for slot in slots):
            return family
    key_set = set(keys)
    for index in range(1, 9):
        probe = _CONTEXT_PROBE.format(index)
        if probe in key_set:
            width = shape(probe)[-1]
            if width in _CONTEXT_WIDTH:
                return _CONTEXT_WIDTH[width]
            break
    raise CheckpointError(
        f"cannot tell which Stable Diffusion family this checkpoint is: no known text-encoder prefix and no"
        f" cross-attention width in {sorted(_CONTEXT_WIDTH)}; pass family= one of {FAMILIES}"
    )


def shipped_configs(family: Family) -> dict[str, dict[str, Any]]:
    """The full-size component configs of a family, keyed by component name."""
    if family not in FAMILIES:
        raise ValueError(f"unknown family {family!r}: expected one of {FAMILIES}")
    folder = CONFIG_DIR / family
    return {name: json.loads((folder / f"{name}.json").read_text()) for name in COMPONENTS if (folder / f"{name}.json").is_file()}


def default_prediction_type(family: Family, extras: Mapping[str, Any]) -> PredictionType:
    """diffusers' heuristic: SD 2.x is v-prediction (the 768 models) unless the checkpoint records
    `global_step == 875000`, the step count of the 512 epsilon "base" release. Safetensors files
    carry no global_step, so a 512 base model needs prediction_type="epsilon" from the caller."""
    if family == "sd2":
        return "epsilon" if str(extras.get("global_step")) == "875000" else "v_prediction"
    return "epsilon"
