"""Write trained components as diffusers-layout checkpoint folders (what the loader reads)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file
from transformers import CLIPTextModel

# The diffusers release whose folder layout and config keys these files follow.
DIFFUSERS_VERSION = "0.42.1"


def _write_json(path: Path, content: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(content, indent=2, sort_keys=True) + "\n")


def write_model(directory: Path, class_name: str, config: dict[str, Any], model: torch.nn.Module) -> None:
    """config.json + diffusion_pytorch_model.safetensors, as diffusers' save_pretrained lays them out."""
    _write_json(
        directory / "config.json", {"_class_name": class_name, "_diffusers_version": DIFFUSERS_VERSION, **config}
    )
    weights = {
        name: tensor.detach().to("cpu", torch.float32).contiguous() for name, tensor in model.state_dict().items()
    }
    save_file(weights, directory / "diffusion_pytorch_model.safetensors", metadata={"format": "pt"})


def write_scheduler(directory: Path, config: dict[str, Any]) -> None:
    _write_json(directory / "scheduler_config.json", {"_diffusers_version": DIFFUSERS_VERSION, **config})


def write_text_to_image(
    directory: Path,
    *,
    unet: torch.nn.Module,
    unet_config: dict[str, Any],
    vae: torch.nn.Module,
    vae_config: dict[str, Any],
    text_encoder: CLIPTextModel,
    tokenizer_directory: Path,
    scheduler_config: dict[str, Any],
) -> None:
    """An SD 1.x pipeline folder: model_index.json, unet/, vae/, text_encoder/, tokenizer/, scheduler/."""
    if directory.exists():
        shutil.rmtree(directory)
    scheduler_class = scheduler_config["_class_name"]
    _write_json(
        directory / "model_index.json",
        {
            "_class_name": "StableDiffusionPipeline",
            "_diffusers_version": DIFFUSERS_VERSION,
            "feature_extractor": [None, None],
            "image_encoder": [None, None],
            "requires_safety_checker": False,
            "safety_checker": [None, None],
            "scheduler": ["diffusers", scheduler_class],
            "text_encoder": ["transformers", "CLIPTextModel"],
            "tokenizer": ["transformers", "CLIPTokenizer"],
            "unet": ["diffusers", "UNet2DConditionModel"],
            "vae": ["diffusers", "AutoencoderKL"],
        },
    )
    write_model(directory / "unet", "UNet2DConditionModel", unet_config, unet)
    write_model(directory / "vae", "AutoencoderKL", vae_config, vae)
    text_encoder.to(torch.float32).save_pretrained(directory / "text_encoder", safe_serialization=True)
    shutil.copytree(tokenizer_directory, directory / "tokenizer")
    write_scheduler(directory / "scheduler", scheduler_config)


def write_unconditional(
    directory: Path, *, unet: torch.nn.Module, unet_config: dict[str, Any], scheduler_config: dict[str, Any]
) -> None:
    """A DDPM pipeline folder: model_index.json, unet/ (UNet2DModel), scheduler/."""
    if directory.exists():
        shutil.rmtree(directory)
    _write_json(
        directory / "model_index.json",
        {
            "_class_name": "DDPMPipeline",
            "_diffusers_version": DIFFUSERS_VERSION,
            "scheduler": ["diffusers", scheduler_config["_class_name"]],
            "unet": ["diffusers", "UNet2DModel"],
        },
    )
    write_model(directory / "unet", "UNet2DModel", unet_config, unet)
    write_scheduler(directory / "scheduler", scheduler_config)
