"""Tiny random Stable Diffusion components built with diffusers/transformers, and an exporter
that writes them in the original (LDM / SGM) single-file layout.

The exporter is written here, independently of nodes.loading, by walking the diffusers block
structure forwards; the loader under test walks the LDM names backwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from diffusers import AutoencoderKL, UNet2DConditionModel
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

CROSS_DOWN, PLAIN_DOWN, CROSS_UP, PLAIN_UP = "CrossAttnDownBlock2D", "DownBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"
TEXT_WIDTH = 32

VAE_CONFIG: dict[str, Any] = {
    "block_out_channels": [8, 16, 16],
    "down_block_types": ["DownEncoderBlock2D"] * 3,
    "up_block_types": ["UpDecoderBlock2D"] * 3,
    "in_channels": 3,
    "out_channels": 3,
    "latent_channels": 4,
    "layers_per_block": 1,
    "norm_num_groups": 4,
    "sample_size": 32,
    "scaling_factor": 0.18215,
}

_UNET_COMMON: dict[str, Any] = {
    "block_out_channels": [16, 16, 32],
    "layers_per_block": 2,
    "norm_num_groups": 8,
    "sample_size": 16,
    "in_channels": 4,
    "out_channels": 4,
}

UNET_CONFIGS: dict[str, dict[str, Any]] = {
    "sd1": {
        **_UNET_COMMON,
        "down_block_types": [CROSS_DOWN, CROSS_DOWN, PLAIN_DOWN],
        "up_block_types": [PLAIN_UP, CROSS_UP, CROSS_UP],
        "cross_attention_dim": TEXT_WIDTH,
        "attention_head_dim": 2,
    },
    "sd2": {
        **_UNET_COMMON,
        "down_block_types": [CROSS_DOWN, CROSS_DOWN, PLAIN_DOWN],
        "up_block_types": [PLAIN_UP, CROSS_UP, CROSS_UP],
        "cross_attention_dim": TEXT_WIDTH,
        "attention_head_dim": [2, 4, 4],
        "use_linear_projection": True,
    },
    "sdxl": {
        **_UNET_COMMON,
        "down_block_types": [PLAIN_DOWN, CROSS_DOWN, CROSS_DOWN],
        "up_block_types": [CROSS_UP, CROSS_UP, PLAIN_UP],
        "cross_attention_dim": 2 * TEXT_WIDTH,
        "attention_head_dim": [2, 4, 4],
        "transformer_layers_per_block": [1, 1, 2],
        "use_linear_projection": True,
        "addition_embed_type": "text_time",
        "addition_time_embed_dim": 8,
        "projection_class_embeddings_input_dim": 6 * 8 + TEXT_WIDTH,
    },
}


def text_encoder_config(hidden_act: str, *, vocab_size: int = 1000) -> dict[str, Any]:
    return {
        "hidden_size": TEXT_WIDTH,
        "intermediate_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "vocab_size": vocab_size,
        "max_position_embeddings": 77,
        "hidden_act": hidden_act,
        "projection_dim": TEXT_WIDTH,
        "bos_token_id": 0,
        "eos_token_id": 2,
        "pad_token_id": 1,
    }


SCHEDULER_CONFIG = {
    "beta_start": 0.00085, "beta_end": 0.012, "beta_schedule": "scaled_linear", "num_train_timesteps": 1000, "steps_offset": 1,
}


@dataclass
class TinyModels:
    family: str
    unet: UNet2DConditionModel
    vae: AutoencoderKL
    text_encoders: list[CLIPTextModel | CLIPTextModelWithProjection]

    @property
    def configs(self) -> dict[str, dict[str, Any]]:
        configs = {"unet": dict(self.unet.config), "vae": dict(self.vae.config), "scheduler": dict(SCHEDULER_CONFIG)}
        for name, encoder in zip(("text_encoder", "text_encoder_2"), self.text_encoders):
            configs[name] = encoder.config.to_dict()
        return configs


def tiny_models(family: str, seed: int = 0, *, vocab_size: int = 1000) -> TinyModels:
    """Random tiny components; `vocab_size=49408` makes the text encoders accept real CLIP token ids."""
    torch.manual_seed(seed)
    unet = UNet2DConditionModel(**UNET_CONFIGS[family]).eval()
    vae = AutoencoderKL(**VAE_CONFIG).eval()
    openai, open_clip = (CLIPTextConfig(**text_encoder_config(act, vocab_size=vocab_size)) for act in ("quick_gelu", "gelu"))
    if family == "sd1":
        encoders = [CLIPTextModel(openai)]
    elif family == "sd2":
        encoders = [CLIPTextModel(open_clip)]
    else:
        encoders = [CLIPTextModel(openai), CLIPTextModelWithProjection(open_clip)]
    _randomise_norms(unet, vae, *encoders)
    return TinyModels(family, unet, vae, [encoder.eval() for encoder in encoders])


def _randomise_norms(*modules: torch.nn.Module) -> None:
    # Norm weights initialise to ones and biases to zeros; random values make swapped names detectable.
    with torch.no_grad():
        for module in modules:
            for name, parameter in module.named_parameters():
                if "norm" in name:
                    parameter.normal_()


# --- diffusers -> original layout -------------------------------------------------------------

_UNET_RESNET = {"norm1": "in_layers.0", "conv1": "in_layers.2", "time_emb_proj": "emb_layers.1",
                "norm2": "out_layers.0", "conv2": "out_layers.3", "conv_shortcut": "skip_connection"}


def unet_to_ldm(state_dict: dict[str, torch.Tensor], config: dict[str, Any]) -> dict[str, torch.Tensor]:
    """LDM names (with the `model.diffusion_model.` prefix) for a diffusers UNet2DConditionModel."""
    levels, per_level = len(config["block_out_channels"]), config["layers_per_block"]
    modules = {
        "conv_in": "input_blocks.0.0",
        "time_embedding.linear_1": "time_embed.0",
        "time_embedding.linear_2": "time_embed.2",
        "add_embedding.linear_1": "label_emb.0.0",
        "add_embedding.linear_2": "label_emb.0.2",
        "conv_norm_out": "out.0",
        "conv_out": "out.2",
        "mid_block.resnets.0": "middle_block.0",
        "mid_block.attentions.0": "middle_block.1",
        "mid_block.resnets.1": "middle_block.2",
    }
    index = 1
    for level in range(levels):
        for layer in range(per_level):
            modules[f"down_blocks.{level}.resnets.{layer}"] = f"input_blocks.{index}.0"
            modules[f"down_blocks.{level}.attentions.{layer}"] = f"input_blocks.{index}.1"
            index += 1
        if level < levels - 1:
            modules[f"down_blocks.{level}.downsamplers.0.conv"] = f"input_blocks.{index}.0.op"
            index += 1
    index = 0
    for level in range(levels):
        has_attention = config["up_block_types"][level] == CROSS_UP
        for layer in range(per_level + 1):
            modules[f"up_blocks.{level}.resnets.{layer}"] = f"output_blocks.{index}.0"
            modules[f"up_blocks.{level}.attentions.{layer}"] = f"output_blocks.{index}.1"
            if layer == per_level and level < levels - 1:
                modules[f"up_blocks.{level}.upsamplers.0.conv"] = f"output_blocks.{index}.{2 if has_attention else 1}.conv"
            index += 1
    out = {}
    for key, tensor in state_dict.items():
        module = max((m for m in modules if key.startswith(m + ".")), key=len)
        rest = key[len(module) + 1 :]
        if ".resnets." in module:
            head, _, param = rest.partition(".")
            rest = f"{_UNET_RESNET[head]}.{param}"
        out[f"model.diffusion_model.{modules[module]}.{rest}"] = tensor.clone()
    return out


def vae_to_ldm(state_dict: dict[str, torch.Tensor], config: dict[str, Any]) -> dict[str, torch.Tensor]:
    """LDM names (with the `first_stage_model.` prefix) for a diffusers AutoencoderKL."""
    levels = len(config["block_out_channels"])
    attention = {"group_norm": "norm", "to_q": "q", "to_k": "k", "to_v": "v", "to_out.0": "proj_out"}
    out = {}
    for key, tensor in state_dict.items():
        name = key.replace("conv_shortcut", "nin_shortcut").replace("conv_norm_out", "norm_out")
        name = name.replace("mid_block.resnets.0", "mid.block_1").replace("mid_block.resnets.1", "mid.block_2")
        if "mid_block.attentions.0." in name:
            head, _, rest = name.partition("mid_block.attentions.0.")
            module, _, param = rest.rpartition(".")
            name = f"{head}mid.attn_1.{attention[module]}.{param}"
            if param == "weight" and tensor.ndim == 2:
                tensor = tensor[:, :, None, None]  # LDM uses 1x1 convolutions
        parts = name.split(".")
        if parts[1] == "down_blocks":
            parts[1] = "down"
            parts[3] = {"resnets": "block", "downsamplers": "downsample"}[parts[3]]
            if parts[3] == "downsample":
                del parts[4]  # downsamplers.0.conv -> downsample.conv
        elif parts[1] == "up_blocks":
            parts[1] = "up"
            parts[2] = str(levels - 1 - int(parts[2]))
            parts[3] = {"resnets": "block", "upsamplers": "upsample"}[parts[3]]
            if parts[3] == "upsample":
                del parts[4]
        out["first_stage_model." + ".".join(parts)] = tensor.clone()
    return out


def clip_to_ldm(encoder: CLIPTextModel, prefix: str) -> dict[str, torch.Tensor]:
    """OpenAI CLIP as SD 1.x stores it: transformers names under `prefix`, with the position-id buffer."""
    out = {}
    for key, tensor in encoder.state_dict().items():
        key = key if key.startswith("text_model.") else f"text_model.{key}"
        out[prefix + key] = tensor.clone()
    positions = encoder.config.max_position_embeddings
    out[prefix + "text_model.embeddings.position_ids"] = torch.arange(positions)[None]
    return out


def open_clip_to_ldm(
    encoder: CLIPTextModel | CLIPTextModelWithProjection, prefix: str, *, extra_block: bool
) -> dict[str, torch.Tensor]:
    """The OpenCLIP text tower layout. `extra_block` appends a final resblock (SD 2.x files hold
    24 blocks while the diffusers encoder keeps 23) and a text projection the encoder does not use."""
    sd = {k.removeprefix("text_model."): v for k, v in encoder.state_dict().items()}
    width = encoder.config.hidden_size
    out = {
        "token_embedding.weight": sd["embeddings.token_embedding.weight"],
        "positional_embedding": sd["embeddings.position_embedding.weight"],
        "ln_final.weight": sd["final_layer_norm.weight"],
        "ln_final.bias": sd["final_layer_norm.bias"],
        "logit_scale": torch.tensor(4.6),
    }
    layers = encoder.config.num_hidden_layers
    for layer in range(layers + (1 if extra_block else 0)):
        source = f"encoder.layers.{layer}."
        block = f"transformer.resblocks.{layer}."
        if layer == layers:  # the dropped block: random values of the right shapes
            template = f"encoder.layers.{layer - 1}."
            sd.update({source + k[len(template):]: torch.randn_like(v) for k, v in sd.items() if k.startswith(template)})
        attn = source + "self_attn."
        out[block + "attn.in_proj_weight"] = torch.cat([sd[attn + f"{p}_proj.weight"] for p in "qkv"])
        out[block + "attn.in_proj_bias"] = torch.cat([sd[attn + f"{p}_proj.bias"] for p in "qkv"])
        for ours, theirs in (("attn.out_proj", "self_attn.out_proj"), ("ln_1", "layer_norm1"), ("ln_2", "layer_norm2"),
                             ("mlp.c_fc", "mlp.fc1"), ("mlp.c_proj", "mlp.fc2")):
            for param in ("weight", "bias"):
                out[f"{block}{ours}.{param}"] = sd[f"{source}{theirs}.{param}"]
    if "text_projection.weight" in sd:
        out["text_projection"] = sd["text_projection.weight"].T
    elif extra_block:
        out["text_projection"] = torch.randn(width, encoder.config.projection_dim)
    return {prefix + key: value.clone().contiguous() for key, value in out.items()}


def to_original_checkpoint(models: TinyModels) -> dict[str, torch.Tensor]:
    """A whole single-file checkpoint in the original layout of `models.family`."""
    checkpoint = unet_to_ldm(models.unet.state_dict(), dict(models.unet.config))
    checkpoint.update(vae_to_ldm(models.vae.state_dict(), dict(models.vae.config)))
    if models.family == "sd1":
        checkpoint.update(clip_to_ldm(models.text_encoders[0], "cond_stage_model.transformer."))
    elif models.family == "sd2":
        checkpoint.update(open_clip_to_ldm(models.text_encoders[0], "cond_stage_model.model.", extra_block=True))
    else:
        checkpoint.update(clip_to_ldm(models.text_encoders[0], "conditioner.embedders.0.transformer."))
        checkpoint.update(open_clip_to_ldm(models.text_encoders[1], "conditioner.embedders.1.model.", extra_block=False))
    # Training leftovers that real files carry and a loader must skip.
    checkpoint["alphas_cumprod"] = torch.linspace(1.0, 0.0, 1000)
    checkpoint["model_ema.decay"] = torch.tensor(0.9999)
    return checkpoint


def diffusers_pipeline(models: TinyModels, *, prediction_type: str = "epsilon") -> Any:
    """A diffusers pipeline over `models`, with tokenizers built from the shipped CLIP vocabulary."""
    from diffusers import EulerDiscreteScheduler, PNDMScheduler, StableDiffusionPipeline, StableDiffusionXLPipeline

    from nodes.loading import clip_tokenizer, load_bpe_vocabulary

    vocabulary = load_bpe_vocabulary()
    if models.family == "sdxl":
        return StableDiffusionXLPipeline(
            vae=models.vae,
            text_encoder=models.text_encoders[0],
            text_encoder_2=models.text_encoders[1],
            tokenizer=clip_tokenizer(vocabulary),
            tokenizer_2=clip_tokenizer(vocabulary, pad_token="!"),
            unet=models.unet,
            scheduler=EulerDiscreteScheduler(**SCHEDULER_CONFIG, prediction_type=prediction_type),
        )
    pad = "!" if models.family == "sd2" else "<|endoftext|>"
    return StableDiffusionPipeline(
        vae=models.vae,
        text_encoder=models.text_encoders[0],
        tokenizer=clip_tokenizer(vocabulary, pad_token=pad),
        unet=models.unet,
        scheduler=PNDMScheduler(**SCHEDULER_CONFIG, skip_prk_steps=True, prediction_type=prediction_type),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
