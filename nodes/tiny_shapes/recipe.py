"""The tiny-shapes recipe: component configs and training settings, full size and smoke size.

Configs use diffusers' / transformers' key names, so they are written out unchanged as the
components' config.json files.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from nodes.tiny_shapes.data import IMAGE_SIZE

# Stable Diffusion's noise schedule, so every standard sampler works on this model unchanged.
SCHEDULER_CONFIG: dict[str, Any] = {
    "_class_name": "PNDMScheduler",
    "num_train_timesteps": 1000,
    "beta_start": 0.00085,
    "beta_end": 0.012,
    "beta_schedule": "scaled_linear",
    "prediction_type": "epsilon",
    "skip_prk_steps": True,
    "set_alpha_to_one": False,
    "steps_offset": 1,
    "clip_sample": False,
    "trained_betas": None,
}
# The unconditional pixel model keeps DDPM's own linear schedule, as diffusers' DDPM checkpoints do.
DDPM_SCHEDULER_CONFIG: dict[str, Any] = {
    "_class_name": "DDPMScheduler",
    "num_train_timesteps": 1000,
    "beta_start": 0.0001,
    "beta_end": 0.02,
    "beta_schedule": "linear",
    "prediction_type": "epsilon",
    "variance_type": "fixed_small",
    "clip_sample": True,
    "trained_betas": None,
}


def scheduler_config(prediction_type: str) -> dict[str, Any]:
    """SD's scheduler config with the prediction type the UNet was trained for."""
    return {**SCHEDULER_CONFIG, "prediction_type": prediction_type}


def vae_config(channels: tuple[int, ...], groups: int) -> dict[str, Any]:
    """One block per channel count, each but the last halving the size: two blocks map 64x64x3 pixels
    <-> 32x32x4 latents (factor 2), three <-> 16x16x4 (factor 4)."""
    return {
        "in_channels": 3,
        "out_channels": 3,
        "down_block_types": ["DownEncoderBlock2D"] * len(channels),
        "up_block_types": ["UpDecoderBlock2D"] * len(channels),
        "block_out_channels": list(channels),
        "layers_per_block": 1,
        "act_fn": "silu",
        "latent_channels": 4,
        "norm_num_groups": groups,
        "sample_size": IMAGE_SIZE,
        "scaling_factor": 1.0,  # replaced by the measured 1 / latent std after VAE training
    }


def text_encoder_config(
    vocab_size: int, bos_token_id: int, eos_token_id: int, hidden: int, layers: int
) -> dict[str, Any]:
    """A CLIPTextModel config: SD 1.x's text encoder, shrunk."""
    return {
        "architectures": ["CLIPTextModel"],
        "model_type": "clip_text_model",
        "vocab_size": vocab_size,
        "hidden_size": hidden,
        "intermediate_size": hidden * 4,
        "projection_dim": hidden,
        "num_hidden_layers": layers,
        "num_attention_heads": max(1, hidden // 16),
        "max_position_embeddings": 77,
        "hidden_act": "quick_gelu",
        "layer_norm_eps": 1e-5,
        "bos_token_id": bos_token_id,
        "eos_token_id": eos_token_id,
        "pad_token_id": eos_token_id,
    }


def latent_size(vae_channels: tuple[int, ...]) -> int:
    """Side of the latents of a `vae_config(vae_channels, ...)` VAE for IMAGE_SIZE pictures."""
    return IMAGE_SIZE // 2 ** (len(vae_channels) - 1)


def unet_config(
    cross_attention_dim: int, channels: tuple[int, ...], heads: int, groups: int, sample_size: int
) -> dict[str, Any]:
    """SD's UNet, one level per channel count on `sample_size` latents, each level halving the size;
    cross-attention only at 8x8 and below, where it is cheap."""
    attends = [sample_size >> level <= 8 for level in range(len(channels))]
    return {
        "sample_size": sample_size,
        "in_channels": 4,
        "out_channels": 4,
        "down_block_types": ["CrossAttnDownBlock2D" if attend else "DownBlock2D" for attend in attends],
        "mid_block_type": "UNetMidBlock2DCrossAttn",
        "up_block_types": ["CrossAttnUpBlock2D" if attend else "UpBlock2D" for attend in reversed(attends)],
        "block_out_channels": list(channels),
        "layers_per_block": 1,
        "attention_head_dim": heads,  # diffusers' name; it is the number of heads
        "cross_attention_dim": cross_attention_dim,
        "norm_num_groups": groups,
        "act_fn": "silu",
        "flip_sin_to_cos": True,
        "freq_shift": 0,
    }


def ddpm_unet_config(size: int, channels: tuple[int, int, int], groups: int) -> dict[str, Any]:
    """Unconditional pixel-space UNet2DModel with self-attention at the lowest resolution only."""
    return {
        "sample_size": size,
        "in_channels": 3,
        "out_channels": 3,
        "down_block_types": ["DownBlock2D", "DownBlock2D", "AttnDownBlock2D"],
        "up_block_types": ["AttnUpBlock2D", "UpBlock2D", "UpBlock2D"],
        "block_out_channels": list(channels),
        "layers_per_block": 1,
        "norm_num_groups": groups,
        "act_fn": "silu",
        "flip_sin_to_cos": True,
        "freq_shift": 0,
    }


@dataclass(frozen=True)
class StageSettings:
    """Optimisation settings of one training stage."""

    steps: int
    batch_size: int
    learning_rate: float
    warmup_steps: int
    ema_decay: float = 0.999
    sample_every: int = 500
    sample_steps: int = 20  # sampler steps of the grids written every `sample_every` steps
    checkpoint_every: int = 250


@dataclass(frozen=True)
class Recipe:
    """Everything that determines the trained weights (together with the code)."""

    seed: int = 0
    vae_channels: tuple[int, ...] = (16, 16, 32)
    # One group: a GroupNorm over a flat-coloured region keeps the colour only as the pattern across
    # channels, and with few channels per group that pattern collapses (flat backgrounds lose their colour).
    vae_groups: int = 1
    text_hidden: int = 64
    text_layers: int = 3
    unet_channels: tuple[int, ...] = (32, 64, 64)
    unet_heads: int = 4
    unet_groups: int = 8
    ddpm_size: int = 32
    ddpm_channels: tuple[int, int, int] = (16, 32, 64)
    ddpm_groups: int = 8
    caption_dropout: float = 0.1
    # The loss weights each timestep's implied clean-latent error by clamp(SNR, snr_floor, snr_gamma).
    # The cap is min-SNR-gamma (Hang et al. 2023): nearly clean timesteps stop dominating. The floor is
    # truncated-SNR (Salimans & Ho 2022): without it the noisy timesteps, where the layout and the shape
    # are decided, weigh only SNR (0.02-0.2) against up to gamma, as in an epsilon loss.
    snr_gamma: float = 5.0
    snr_floor: float = 0.0
    # What the UNet predicts: "epsilon" (SD 1.x) or "v_prediction" (SD 2.x 768). v stays well-conditioned at
    # high noise, where an epsilon error is multiplied by sigma (up to 14.6) in the implied clean image.
    prediction_type: str = "v_prediction"
    # Training timesteps: "uniform" (DDPM) or "logit_normal" (SD3): t / T = sigmoid(N(0, 1)) spends
    # fewer steps on the nearly clean and nearly pure-noise ends and more where the layout forms.
    timestep_sampling: str = "logit_normal"
    # Offset noise (a per-image, per-channel constant added to the training noise): SD's schedule keeps
    # some signal at its last step, so without it the sampler's starting noise decides the mean colour
    # of the picture, i.e. the background, and the prompt cannot change it.
    offset_noise: float = 0.2
    kl_weight: float = 1e-6
    # VAE training images carry 1..vae_max_shapes shapes (data.collage): corners per image, not images,
    # are what the VAE needs most of. 1 trains on the captioned examples themselves.
    vae_max_shapes: int = 4
    # Held-out images over which the latent std (hence the VAE scaling factor) is measured.
    scaling_images: int = 256
    edge_weight: float = 0.5
    vae: StageSettings = field(
        default_factory=lambda: StageSettings(
            steps=4000, batch_size=8, learning_rate=1.5e-3, warmup_steps=50, sample_every=500
        )
    )
    unet: StageSettings = field(
        default_factory=lambda: StageSettings(steps=3000, batch_size=64, learning_rate=1e-3, warmup_steps=100)
    )
    ddpm: StageSettings = field(
        default_factory=lambda: StageSettings(steps=4000, batch_size=16, learning_rate=1e-3, warmup_steps=50)
    )


# What ships (MODEL_CARD.md). On 2 CPU cores with `--workers 2`: VAE 15 min + UNet 63 min (measured) + DDPM
# about 19 min; on one H100 about a quarter of an hour.
FULL = Recipe()
# What fits an hour on 2 CPU cores with `--workers 2`: half the UNet and DDPM steps. Scores below FULL.
CPU_HOUR = replace(
    FULL,
    unet=replace(FULL.unet, steps=1500),
    ddpm=replace(FULL.ddpm, steps=2000),
)
RECIPES: dict[str, Recipe] = {"full": FULL, "cpu-hour": CPU_HOUR}

_SMOKE_STAGE = StageSettings(
    steps=2, batch_size=2, learning_rate=1e-3, warmup_steps=1, sample_every=2, sample_steps=2, checkpoint_every=1
)


def smoke(recipe: Recipe) -> Recipe:
    """The same code paths with toy sizes and two steps per stage: what the tests train."""
    return replace(
        recipe,
        vae_channels=(4, 8, 8),
        vae_groups=1,
        text_hidden=16,
        text_layers=1,
        unet_channels=(8, 16, 16),
        unet_heads=1,
        unet_groups=4,
        ddpm_size=16,
        ddpm_channels=(8, 8, 16),
        ddpm_groups=4,
        scaling_images=8,
        vae=_SMOKE_STAGE,
        unet=_SMOKE_STAGE,
        ddpm=_SMOKE_STAGE,
    )
