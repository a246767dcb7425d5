"""Full-size configs of real checkpoints: state-dict names and shapes equal diffusers' (built on meta: no memory)."""

from __future__ import annotations

from typing import Any

import diffusers
import pytest
import torch

from nodes.models import AutoencoderKL, UNet2DConditionModel, UNet2DModel

SD15_UNET: dict[str, Any] = {
    "attention_head_dim": 8,
    "block_out_channels": [320, 640, 1280, 1280],
    "cross_attention_dim": 768,
    "down_block_types": ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
    "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"],
    "sample_size": 64,
}
SD21_UNET = {
    **SD15_UNET,
    "attention_head_dim": [5, 10, 20, 20],
    "cross_attention_dim": 1024,
    "use_linear_projection": True,
    "upcast_attention": True,
    "sample_size": 96,
}
SDXL_BASE_UNET = {
    "addition_embed_type": "text_time",
    "addition_time_embed_dim": 256,
    "projection_class_embeddings_input_dim": 2816,
    "attention_head_dim": [5, 10, 20],
    "block_out_channels": [320, 640, 1280],
    "cross_attention_dim": 2048,
    "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"],
    "up_block_types": ["CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"],
    "transformer_layers_per_block": [1, 2, 10],
    "use_linear_projection": True,
    "sample_size": 128,
}
SDXL_REFINER_UNET = {
    **SDXL_BASE_UNET,
    "attention_head_dim": [6, 12, 12, 24],
    "block_out_channels": [384, 768, 1536, 1536],
    "cross_attention_dim": 1280,
    "projection_class_embeddings_input_dim": 2560,
    "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
    "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"],
    "transformer_layers_per_block": 4,
}
LCM_UNET = {**SD15_UNET, "time_cond_proj_dim": 256}
SD_VAE = {
    "block_out_channels": [128, 256, 512, 512],
    "down_block_types": ["DownEncoderBlock2D"] * 4,
    "up_block_types": ["UpDecoderBlock2D"] * 4,
    "latent_channels": 4,
    "layers_per_block": 2,
    "sample_size": 512,
}
DDPM_CIFAR = {
    "attention_head_dim": None,
    "block_out_channels": [128, 256, 256, 256],
    "down_block_types": ["DownBlock2D", "AttnDownBlock2D", "DownBlock2D", "DownBlock2D"],
    "up_block_types": ["UpBlock2D", "UpBlock2D", "AttnUpBlock2D", "UpBlock2D"],
    "downsample_padding": 0,
    "flip_sin_to_cos": False,
    "freq_shift": 1,
    "norm_eps": 1e-6,
    "sample_size": 32,
}


def layout(model: torch.nn.Module) -> dict[str, tuple[int, ...]]:
    return {name: tuple(tensor.shape) for name, tensor in model.state_dict().items()}


@pytest.mark.parametrize(
    ("ours", "theirs", "config", "parameters"),
    [
        (UNet2DConditionModel, diffusers.UNet2DConditionModel, SD15_UNET, 859_520_964),
        (UNet2DConditionModel, diffusers.UNet2DConditionModel, SD21_UNET, 865_910_724),
        (UNet2DConditionModel, diffusers.UNet2DConditionModel, SDXL_BASE_UNET, 2_567_463_684),
        (UNet2DConditionModel, diffusers.UNet2DConditionModel, SDXL_REFINER_UNET, None),
        (UNet2DConditionModel, diffusers.UNet2DConditionModel, LCM_UNET, None),
        (AutoencoderKL, diffusers.AutoencoderKL, SD_VAE, 83_653_863),
        (UNet2DModel, diffusers.UNet2DModel, DDPM_CIFAR, 35_746_307),
    ],
    ids=["sd15", "sd21", "sdxl-base", "sdxl-refiner", "lcm-sd15", "sd-vae", "ddpm-cifar10"],
)
def test_state_dict_layout_equals_diffusers(
    ours: type[torch.nn.Module], theirs: type[torch.nn.Module], config: dict[str, Any], parameters: int | None
) -> None:
    with torch.device("meta"):
        expected = layout(theirs(**config))
        model = ours(**config)
    assert layout(model) == expected
    if parameters is not None:
        assert sum(p.numel() for p in model.parameters()) == parameters
