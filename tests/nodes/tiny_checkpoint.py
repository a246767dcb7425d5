"""Tiny random checkpoints in the diffusers folder layout, built with our own model classes.

`write_text_to_image(folder)`: an SD 1.x-style pipeline (UNet, VAE with downscale 4, a 2-layer CLIP
text encoder with CLIP's real tokenizer, SD's PNDM scheduler config); 32x32 images <-> 8x8 latents.
`write_unconditional(folder)`: a DDPM pipeline (a 16x16 pixel UNet2DModel, DDPM's scheduler config).
Weights are random but seeded, so every build is identical.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer, PreTrainedModel

from nodes.loading import clip_tokenizer, load_bpe_vocabulary
from nodes.models import AutoencoderKL, UNet2DConditionModel, UNet2DModel
from nodes.tiny_shapes.recipe import DDPM_SCHEDULER_CONFIG, SCHEDULER_CONFIG

UNET_CONFIG: dict[str, Any] = {
    "sample_size": 8,
    "in_channels": 4,
    "out_channels": 4,
    "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D"],
    "up_block_types": ["CrossAttnUpBlock2D", "UpBlock2D"],
    "block_out_channels": [8, 16],
    "layers_per_block": 1,
    "attention_head_dim": 2,
    "cross_attention_dim": 32,
    "norm_num_groups": 4,
}
VAE_CONFIG: dict[str, Any] = {
    "in_channels": 3,
    "out_channels": 3,
    "down_block_types": ["DownEncoderBlock2D"] * 3,
    "up_block_types": ["UpDecoderBlock2D"] * 3,
    "block_out_channels": [8, 8, 16],
    "layers_per_block": 1,
    "latent_channels": 4,
    "norm_num_groups": 4,
    "sample_size": 32,
    "scaling_factor": 0.5,
}
TEXT_ENCODER_CONFIG: dict[str, Any] = {
    "vocab_size": 49408,
    "hidden_size": 32,
    "intermediate_size": 64,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "max_position_embeddings": 77,
    "projection_dim": 32,
    "hidden_act": "quick_gelu",
    "bos_token_id": 49406,
    "eos_token_id": 49407,
    "pad_token_id": 49407,
}
DDPM_UNET_CONFIG: dict[str, Any] = {
    "sample_size": 16,
    "in_channels": 3,
    "out_channels": 3,
    "down_block_types": ["DownBlock2D", "AttnDownBlock2D"],
    "up_block_types": ["AttnUpBlock2D", "UpBlock2D"],
    "block_out_channels": [8, 16],
    "layers_per_block": 1,
    "norm_num_groups": 4,
}


def _json(path: Path, content: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(content, indent=2, sort_keys=True))


def _randomize(module: torch.nn.Module, generator: torch.Generator) -> None:
    """Replace every weight by seeded noise, large enough that outputs are far from constant."""
    with torch.no_grad():
        for name, parameter in module.named_parameters():
            if parameter.ndim > 1:
                fan_in = parameter[0].numel()
                parameter.copy_(torch.randn(parameter.shape, generator=generator) / fan_in**0.5)
            elif "norm" not in name:
                parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.1)


def _save_model(folder: Path, class_name: str, config: dict[str, Any], model: torch.nn.Module) -> None:
    _json(folder / "config.json", {"_class_name": class_name, **config})
    state = {key: value.contiguous() for key, value in model.state_dict().items()}
    save_file(state, folder / "diffusion_pytorch_model.safetensors")


def write_latent_pipeline(
    folder: Path,
    seed: int,
    model_index: dict[str, Any],
    unet_config: dict[str, Any],
    text_encoders: dict[str, PreTrainedModel],
    tokenizers: dict[str, CLIPTokenizer],
    scheduler: dict[str, Any],
) -> Path:
    """A latent text-to-image pipeline folder: a UNet of `unet_config`, the VAE of VAE_CONFIG and the
    given text encoders and tokenizers (each under its folder name), all weights seeded noise."""
    generator = torch.Generator().manual_seed(seed)
    unet = UNet2DConditionModel(**unet_config)
    vae = AutoencoderKL(**VAE_CONFIG)
    for module in (unet, vae, *text_encoders.values()):
        _randomize(module, generator)
    _json(folder / "model_index.json", model_index)
    _save_model(folder / "unet", "UNet2DConditionModel", unet_config, unet)
    _save_model(folder / "vae", "AutoencoderKL", VAE_CONFIG, vae)
    for name, text_encoder in text_encoders.items():
        text_encoder.save_pretrained(folder / name, safe_serialization=True)
    for name, tokenizer in tokenizers.items():
        tokenizer.save_pretrained(folder / name)
    _json(folder / "scheduler" / "scheduler_config.json", scheduler)
    return folder


def write_text_to_image(folder: Path, seed: int = 0) -> Path:
    model_index = {
        "_class_name": "StableDiffusionPipeline",
        "scheduler": ["diffusers", "PNDMScheduler"],
        "text_encoder": ["transformers", "CLIPTextModel"],
        "tokenizer": ["transformers", "CLIPTokenizer"],
        "unet": ["diffusers", "UNet2DConditionModel"],
        "vae": ["diffusers", "AutoencoderKL"],
    }
    return write_latent_pipeline(
        folder,
        seed,
        model_index,
        UNET_CONFIG,
        {"text_encoder": CLIPTextModel(CLIPTextConfig(**TEXT_ENCODER_CONFIG))},
        {"tokenizer": clip_tokenizer(load_bpe_vocabulary())},
        SCHEDULER_CONFIG,
    )


def write_unconditional(folder: Path, seed: int = 0) -> Path:
    generator = torch.Generator().manual_seed(seed)
    unet = UNet2DModel(**DDPM_UNET_CONFIG)
    _randomize(unet, generator)
    _json(
        folder / "model_index.json",
        {
            "_class_name": "DDPMPipeline",
            "scheduler": ["diffusers", "DDPMScheduler"],
            "unet": ["diffusers", "UNet2DModel"],
        },
    )
    _save_model(folder / "unet", "UNet2DModel", DDPM_UNET_CONFIG, unet)
    _json(folder / "scheduler" / "scheduler_config.json", DDPM_SCHEDULER_CONFIG)
    return folder
