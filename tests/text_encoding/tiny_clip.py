"""Tiny random CLIP text encoders over the real CLIP vocabulary, inside diffusers pipelines
whose `encode_prompt` is the reference."""

from __future__ import annotations

import torch
from diffusers import (
    AutoencoderKL,
    EulerDiscreteScheduler,
    PNDMScheduler,
    StableDiffusionPipeline,
    StableDiffusionXLPipeline,
    UNet2DConditionModel,
)
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

from nodes.loading import clip_tokenizer, load_bpe_vocabulary

WIDTH = 32
_VAE = AutoencoderKL(block_out_channels=(8,), down_block_types=("DownEncoderBlock2D",),
                     up_block_types=("UpDecoderBlock2D",), norm_num_groups=4, latent_channels=4)


def clip_config(hidden_act: str) -> CLIPTextConfig:
    return CLIPTextConfig(
        hidden_size=WIDTH, intermediate_size=64, num_hidden_layers=3, num_attention_heads=4, vocab_size=49408,
        max_position_embeddings=77, hidden_act=hidden_act, projection_dim=WIDTH,
        bos_token_id=0, eos_token_id=2, pad_token_id=1,
    )


def _unet(cross_attention_dim: int, **extra: object) -> UNet2DConditionModel:
    return UNet2DConditionModel(
        block_out_channels=(8, 16), layers_per_block=1, norm_num_groups=4, sample_size=8,
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"), up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
        cross_attention_dim=cross_attention_dim, attention_head_dim=2, **extra,
    )


def sd_pipeline(*, open_clip: bool = False, seed: int = 0) -> StableDiffusionPipeline:
    """SD 1.x style (OpenAI CLIP, quick_gelu, pads with the end token) or SD 2.x (OpenCLIP, gelu, pads with "!")."""
    torch.manual_seed(seed)
    text_encoder = CLIPTextModel(clip_config("gelu" if open_clip else "quick_gelu")).eval()
    # diffusers 0.42 reads `text_encoder.text_model.final_layer_norm` for clip_skip, a level that
    # transformers 5's CLIPTextModel no longer has; alias it without registering a submodule.
    object.__setattr__(text_encoder, "text_model", text_encoder)
    return StableDiffusionPipeline(
        vae=_VAE, text_encoder=text_encoder,
        tokenizer=clip_tokenizer(load_bpe_vocabulary(), pad_token="!" if open_clip else "<|endoftext|>"),
        unet=_unet(WIDTH), scheduler=PNDMScheduler(skip_prk_steps=True),
        safety_checker=None, feature_extractor=None, requires_safety_checker=False,
    )


def sdxl_pipeline(seed: int = 0) -> StableDiffusionXLPipeline:
    torch.manual_seed(seed)
    vocabulary = load_bpe_vocabulary()
    return StableDiffusionXLPipeline(
        vae=_VAE,
        text_encoder=CLIPTextModel(clip_config("quick_gelu")).eval(),
        text_encoder_2=CLIPTextModelWithProjection(clip_config("gelu")).eval(),
        tokenizer=clip_tokenizer(vocabulary),
        tokenizer_2=clip_tokenizer(vocabulary, pad_token="!"),
        unet=_unet(2 * WIDTH, addition_embed_type="text_time", addition_time_embed_dim=8,
                   projection_class_embeddings_input_dim=6 * 8 + WIDTH, use_linear_projection=True),
        scheduler=EulerDiscreteScheduler(),
    )
