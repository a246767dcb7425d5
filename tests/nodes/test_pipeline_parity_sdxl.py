"""The pack's SDXL text-to-image graph against diffusers' StableDiffusionXLPipeline (the test oracle)
on the same tiny random SDXL checkpoint: same seed, same scheduler, same pixels up to float rounding."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from diffusers import StableDiffusionXLPipeline
from tiny_checkpoint import UNET_CONFIG, write_latent_pipeline
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

from nodes.loading import clip_tokenizer, load_bpe_vocabulary

TEXT_WIDTH_1, TEXT_WIDTH_2, TIME_DIM = 32, 32, 8
# The SD 1.x test UNet with SDXL's additions: linear projections, both encoders' width, text_time embedding.
SDXL_UNET_CONFIG: dict[str, Any] = {
    **UNET_CONFIG,
    "use_linear_projection": True,
    "cross_attention_dim": TEXT_WIDTH_1 + TEXT_WIDTH_2,
    "addition_embed_type": "text_time",
    "addition_time_embed_dim": TIME_DIM,
    "projection_class_embeddings_input_dim": 6 * TIME_DIM + TEXT_WIDTH_2,
}
_TEXT_COMMON: dict[str, Any] = {
    "vocab_size": 49408,
    "intermediate_size": 64,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "max_position_embeddings": 77,
    "bos_token_id": 49406,
    "eos_token_id": 49407,
}
TEXT_ENCODER_CONFIG = {**_TEXT_COMMON, "hidden_size": TEXT_WIDTH_1, "projection_dim": TEXT_WIDTH_1,
                       "hidden_act": "quick_gelu", "pad_token_id": 49407}  # fmt: skip
TEXT_ENCODER_2_CONFIG = {**_TEXT_COMMON, "hidden_size": TEXT_WIDTH_2, "projection_dim": TEXT_WIDTH_2,
                         "hidden_act": "gelu", "pad_token_id": 0}  # fmt: skip
# SDXL base's scheduler config (Euler, "leading" spacing with steps_offset 1).
SDXL_SCHEDULER: dict[str, Any] = {
    "_class_name": "EulerDiscreteScheduler",
    "num_train_timesteps": 1000,
    "beta_start": 0.00085,
    "beta_end": 0.012,
    "beta_schedule": "scaled_linear",
    "prediction_type": "epsilon",
    "interpolation_type": "linear",
    "use_karras_sigmas": False,
    "timestep_spacing": "leading",
    "steps_offset": 1,
    "set_alpha_to_one": False,
    "skip_prk_steps": True,
    "clip_sample": False,
}


def write_sdxl(folder: Path, seed: int = 0) -> Path:
    model_index = {
        "_class_name": "StableDiffusionXLPipeline",
        "force_zeros_for_empty_prompt": True,
        "scheduler": ["diffusers", "EulerDiscreteScheduler"],
        "text_encoder": ["transformers", "CLIPTextModel"],
        "text_encoder_2": ["transformers", "CLIPTextModelWithProjection"],
        "tokenizer": ["transformers", "CLIPTokenizer"],
        "tokenizer_2": ["transformers", "CLIPTokenizer"],
        "unet": ["diffusers", "UNet2DConditionModel"],
        "vae": ["diffusers", "AutoencoderKL"],
    }
    text_encoders = {
        "text_encoder": CLIPTextModel(CLIPTextConfig(**TEXT_ENCODER_CONFIG)),
        "text_encoder_2": CLIPTextModelWithProjection(CLIPTextConfig(**TEXT_ENCODER_2_CONFIG)),
    }
    vocabulary = load_bpe_vocabulary()
    tokenizers = {"tokenizer": clip_tokenizer(vocabulary), "tokenizer_2": clip_tokenizer(vocabulary, pad_token="!")}
    return write_latent_pipeline(folder, seed, model_index, SDXL_UNET_CONFIG, text_encoders, tokenizers, SDXL_SCHEDULER)


@pytest.fixture(scope="module")
def sdxl_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_sdxl(tmp_path_factory.mktemp("tiny_sdxl"))


def test_sdxl_txt2img_matches_diffusers(run, sdxl_checkpoint: Path) -> None:
    prompt, seed, steps, cfg, size = "a red circle on a blue background", 3, 4, 6.0, 32
    pipeline = StableDiffusionXLPipeline.from_pretrained(sdxl_checkpoint)
    pipeline.set_progress_bar_config(disable=True)
    assert pipeline.config.force_zeros_for_empty_prompt
    assert pipeline.scheduler.config.timestep_spacing == "leading"

    sizes = {
        "original_width": size,
        "original_height": size,
        "target_width": size,
        "target_height": size,
    }
    nodes = {
        "load": ("CheckpointLoader", {"checkpoint": str(sdxl_checkpoint)}),
        "positive": ("TextEncodeSDXL", {"clip": "@load.clip", "text": prompt, **sizes}),
        # diffusers: no negative prompt + force_zeros_for_empty_prompt -> zero embeddings and pooled.
        "negative": ("ConditioningZero", {"conditioning": "@positive.conditioning"}),
        "empty": (
            "EmptyLatent",
            {"vae": "@load.vae", "width": size, "height": size, "batch": 2},
        ),
        "sample": (
            "KSampler",
            {
                "model": "@load.model",
                "positive": "@positive.conditioning",
                "negative": "@negative.conditioning",
                "latent": "@empty.latent",
                "seed": seed,
                "steps": steps,
                "cfg": cfg,
                "sampler": "euler",
                "scheduler": "leading",
            },
        ),
        "decode": ("VAEDecode", {"vae": "@load.vae", "latent": "@sample.latent"}),
    }
    ours = run(nodes, {"image": "decode.image"}).outputs["image"]
    expected = pipeline(
        prompt, height=size, width=size, num_inference_steps=steps, guidance_scale=cfg, num_images_per_prompt=2,
        generator=torch.Generator().manual_seed(seed), output_type="pt",
    ).images  # fmt: skip
    assert ours.shape == (2, size, size, 3)
    assert expected.std() > 0.01  # a real image, not a constant
    torch.testing.assert_close(ours, expected.permute(0, 2, 3, 1), atol=2e-4, rtol=0)
