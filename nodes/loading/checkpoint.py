"""Loading a Stable Diffusion model (1.x, 2.x or XL) from a diffusers folder, an original
single `.safetensors` file, or a Hub repository, into ready-to-run components."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from transformers import CLIPTokenizer

from nodes.loading.build import build_on_meta
from nodes.loading.clip_tokenizer import clip_tokenizer, load_bpe_vocabulary
from nodes.loading.diffusers_folder import (
    DIFFUSERS_WEIGHTS,
    SCHEDULER_CONFIG,
    TRANSFORMERS_WEIGHTS,
    component_class,
    read_json,
    read_model_folder,
    read_model_index,
)
from nodes.loading.errors import CheckpointError
from nodes.loading.families import PREDICTION_TYPES, Family, PredictionType
from nodes.loading.single_file import ComponentConfigs, convert_original_checkpoint
from nodes.loading.sources import locate
from nodes.loading.tensor_files import open_tensor_file
from nodes.loading.text_encoders import TextEncoder, build_text_encoder
from nodes.models import AutoencoderKL, UNet2DConditionModel
from nodes.text_encoding import TextEncoders

PIPELINE_COMPONENTS = ("unet", "vae", "text_encoder", "tokenizer", "text_encoder_2", "tokenizer_2", "scheduler")
_TOKENIZER_FILES = ("tokenizer.json", "vocab.json")


@dataclass
class StableDiffusionComponents:
    """Everything a Stable Diffusion sampler needs, loaded and ready (eval mode)."""

    family: Family
    unet: UNet2DConditionModel
    vae: AutoencoderKL
    text_encoder: TextEncoder
    tokenizer: CLIPTokenizer
    text_encoder_2: TextEncoder | None
    tokenizer_2: CLIPTokenizer | None
    scheduler_config: dict[str, Any]
    prediction_type: PredictionType

    def text_encoders(self) -> TextEncoders:
        return TextEncoders(self.tokenizer, self.text_encoder, self.tokenizer_2, self.text_encoder_2)


def load_checkpoint(
    source: str | Path,
    *,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str = "cpu",
    allow_pickle: bool = False,
    variant: str | None = None,
    family: Family | None = None,
    prediction_type: PredictionType | None = None,
    configs: ComponentConfigs | None = None,
) -> StableDiffusionComponents:
    """Load a Stable Diffusion model.

    `source`: a diffusers folder, an original single-file checkpoint (`.safetensors`; pickles
    only with `allow_pickle`, read with `torch.load(weights_only=True)`), or a Hub repo id
    (local cache first). Weights go straight to `device` in `dtype`. `variant` picks
    `*.<variant>.safetensors` files in diffusers folders. For single files, `family` overrides
    detection and `configs` replaces shipped component configs by name. `prediction_type`
    overrides the scheduler's (e.g. "epsilon" for SD 2.x 512 base single files).
    """
    if prediction_type is not None and prediction_type not in PREDICTION_TYPES:
        raise ValueError(f"prediction_type {prediction_type!r} is not one of {PREDICTION_TYPES}")
    path = locate(source, components=PIPELINE_COMPONENTS, variant=variant)
    if path.is_file():
        return _load_single_file(path, dtype, device, allow_pickle, family, prediction_type, configs)
    if configs is not None:
        raise ValueError("configs applies to single-file checkpoints; a diffusers folder brings its own configs")
    return _load_diffusers_folder(path, dtype, device, allow_pickle, variant, family, prediction_type)


def _load_single_file(
    path: Path,
    dtype: torch.dtype,
    device: torch.device | str,
    allow_pickle: bool,
    family: Family | None,
    prediction_type: PredictionType | None,
    configs: ComponentConfigs | None,
) -> StableDiffusionComponents:
    file = open_tensor_file(path, device=device, allow_pickle=allow_pickle)
    try:
        converted = convert_original_checkpoint(
            file, family=family, configs=configs, prediction_type=prediction_type, dtype=dtype
        )
    except CheckpointError as error:
        raise CheckpointError(f"{path}: {error}") from error
    unet = build_on_meta(lambda: UNet2DConditionModel.from_config(converted.unet_config), converted.unet, what=f"UNet of {path}")
    vae = build_on_meta(lambda: AutoencoderKL.from_config(converted.vae_config), converted.vae, what=f"VAE of {path}")
    vocabulary = load_bpe_vocabulary()
    encoders = [
        build_text_encoder(weights.class_name, weights.config, weights.state_dict, what=f"text encoder of {path}")
        for weights in converted.text_encoders
    ]
    tokenizers = [clip_tokenizer(vocabulary, pad_token=weights.pad_token) for weights in converted.text_encoders]
    second = len(encoders) > 1
    return StableDiffusionComponents(
        family=converted.family,
        unet=unet,
        vae=vae,
        text_encoder=encoders[0],
        tokenizer=tokenizers[0],
        text_encoder_2=encoders[1] if second else None,
        tokenizer_2=tokenizers[1] if second else None,
        scheduler_config=converted.scheduler_config,
        prediction_type=converted.prediction_type,
    )


def _load_diffusers_folder(
    folder: Path,
    dtype: torch.dtype,
    device: torch.device | str,
    allow_pickle: bool,
    variant: str | None,
    family: Family | None,
    prediction_type: PredictionType | None,
) -> StableDiffusionComponents:
    index = read_model_index(folder)
    for name, expected in (("unet", "UNet2DConditionModel"), ("vae", "AutoencoderKL")):
        found = component_class(index, name, folder=folder)
        if found != expected:
            raise CheckpointError(f"{folder}: model_index.json must list {name} as {expected}, found {found}")

    def model(name: str, cls: type[UNet2DConditionModel] | type[AutoencoderKL]) -> Any:
        config, state = read_model_folder(
            folder / name, DIFFUSERS_WEIGHTS, variant=variant, device=device, dtype=dtype, allow_pickle=allow_pickle
        )
        return build_on_meta(lambda: cls.from_config(config), state, what=f"{name} of {folder}")

    def text_encoder(name: str) -> tuple[TextEncoder, dict[str, Any]] | None:
        class_name = component_class(index, name, folder=folder)
        if class_name is None:
            return None
        config, state = read_model_folder(
            folder / name, TRANSFORMERS_WEIGHTS, variant=variant, device=device, dtype=dtype, allow_pickle=allow_pickle
        )
        return build_text_encoder(class_name, config, state, what=f"{name} of {folder}"), config

    first = text_encoder("text_encoder")
    if first is None:
        raise CheckpointError(f"{folder}: model_index.json lists no text_encoder")
    second = text_encoder("text_encoder_2")
    scheduler_config = read_json(folder / "scheduler" / SCHEDULER_CONFIG)
    prediction = prediction_type or scheduler_config.get("prediction_type", "epsilon")
    # OpenCLIP towers (SD 2.x) use gelu where OpenAI's CLIP (SD 1.x) uses quick_gelu.
    detected: Family = "sdxl" if second is not None else ("sd2" if first[1].get("hidden_act") == "gelu" else "sd1")
    return StableDiffusionComponents(
        family=family or detected,
        unet=model("unet", UNet2DConditionModel),
        vae=model("vae", AutoencoderKL),
        text_encoder=first[0],
        tokenizer=_load_tokenizer(folder / "tokenizer"),
        text_encoder_2=second[0] if second else None,
        tokenizer_2=_load_tokenizer(folder / "tokenizer_2") if second else None,
        scheduler_config={**scheduler_config, "prediction_type": prediction},
        prediction_type=prediction,
    )


def _load_tokenizer(folder: Path) -> CLIPTokenizer:
    if not any((folder / name).is_file() for name in _TOKENIZER_FILES):
        raise CheckpointError(f"missing tokenizer files in {folder}: expected {' or '.join(_TOKENIZER_FILES)}")
    return CLIPTokenizer.from_pretrained(str(folder))
