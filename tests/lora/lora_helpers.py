"""Tiny models and random LoRA files in each supported format, with diffusers as the oracle.

LoRAs are trained-free: PEFT injects adapters with random (not zero) up factors into a copy
of a tiny model, and its state dict is written out in diffusers' own format (via diffusers'
`save_lora_weights`) or converted here into kohya and older diffusers spellings.
"""

import copy
from collections.abc import Callable
from pathlib import Path

import torch
from diffusers import UNet2DConditionModel as DiffusersUNet
from diffusers.loaders import StableDiffusionLoraLoaderMixin, StableDiffusionXLLoraLoaderMixin
from peft import LoraConfig, get_peft_model_state_dict
from safetensors.torch import save_file
from torch import nn
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

from nodes.models import UNet2DConditionModel

SD_UNET = dict(
    sample_size=8,
    block_out_channels=(16, 32),
    layers_per_block=1,
    down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
    up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
    cross_attention_dim=24,
    attention_head_dim=2,
    norm_num_groups=8,
)

# SDXL's shape in miniature: plain first block, linear projections, text_time embedding, 2 transformer layers.
SDXL_UNET = dict(
    sample_size=8,
    block_out_channels=(16, 32),
    layers_per_block=1,
    down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
    up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
    transformer_layers_per_block=(1, 2),
    cross_attention_dim=40,
    attention_head_dim=(2, 4),
    use_linear_projection=True,
    addition_embed_type="text_time",
    addition_time_embed_dim=8,
    projection_class_embeddings_input_dim=6 * 8 + 16,
    norm_num_groups=8,
)


def clip_config(hidden: int) -> CLIPTextConfig:
    return CLIPTextConfig(
        hidden_size=hidden,
        intermediate_size=2 * hidden,
        num_hidden_layers=2,
        num_attention_heads=2,
        vocab_size=1000,
        max_position_embeddings=16,
        projection_dim=hidden,
        bos_token_id=0,
        eos_token_id=2,
        pad_token_id=1,
    )


def diffusers_unet(config: dict, seed: int) -> DiffusersUNet:
    torch.manual_seed(seed)
    return DiffusersUNet(**config).eval()


def our_unet(reference: DiffusersUNet, config: dict) -> UNet2DConditionModel:
    """Our UNet with the reference's weights (state-dict names are identical by design)."""
    unet = UNet2DConditionModel(**config)
    unet.load_state_dict(reference.state_dict())
    return unet.eval()


def text_encoder(hidden: int, seed: int, projection: bool = False) -> nn.Module:
    torch.manual_seed(seed)
    model_class = CLIPTextModelWithProjection if projection else CLIPTextModel
    return model_class(clip_config(hidden)).eval()


UNET_TARGETS = [
    "to_q", "to_k", "to_v", "to_out.0", "proj_in", "proj_out", "ff.net.0.proj", "ff.net.2",
    "conv1", "conv2", "conv_shortcut", "time_emb_proj", "conv_in", "conv_out", "conv", "linear_1", "linear_2",
]  # fmt: skip
TEXT_TARGETS = ["q_proj", "k_proj", "v_proj", "out_proj", "fc1", "fc2"]


def random_lora(model: nn.Module, config: LoraConfig, seed: int) -> dict[str, torch.Tensor]:
    """PEFT adapter weights for `model`, all factors random so every layer changes the output."""
    torch.manual_seed(seed)
    trainer = copy.deepcopy(model)
    trainer.add_adapter(config)
    return {name: tensor.detach().clone() for name, tensor in get_peft_model_state_dict(trainer).items()}


def lora_config(rank: int, alpha: float, targets: list[str], **patterns: dict) -> LoraConfig:
    return LoraConfig(r=rank, lora_alpha=alpha, target_modules=targets, init_lora_weights=False, **patterns)


def save_diffusers_format(
    path: Path, unet: dict, text: dict, unet_config: LoraConfig | None, text_config: LoraConfig | None
) -> Path:
    """diffusers' own writer: PEFT keys under `unet.` / `text_encoder.`, LoraConfigs in the header when given."""
    StableDiffusionLoraLoaderMixin.save_lora_weights(
        str(path.parent),
        unet_lora_layers=unet,
        text_encoder_lora_layers=text,
        weight_name=path.name,
        unet_lora_adapter_metadata=unet_config.to_dict() if unet_config else None,
        text_encoder_lora_adapter_metadata=text_config.to_dict() if text_config else None,
    )
    return path


def kohya_state_dict(
    components: dict[str, dict[str, torch.Tensor]], alpha: float, rename: Callable[[str], str] = lambda name: name
) -> dict[str, torch.Tensor]:
    """kohya spelling: `<prefix><path with _>.lora_down.weight/.lora_up.weight/.alpha`.

    `components` maps a kohya prefix (`lora_unet_`, `lora_te_`, ...) to PEFT weights; `rename`
    turns a UNet module path into the layout kohya trained on (identity for SD 1.x). Every layer
    gets the same alpha: diffusers mis-assigns per-layer alphas of kohya files, so it cannot
    serve as the oracle for them (`test_lora_patches.py` checks those against the formula).
    """
    result: dict[str, torch.Tensor] = {}
    for prefix, weights in components.items():
        for key in (k for k in weights if k.endswith(".lora_A.weight")):
            module = key.removesuffix(".lora_A.weight")
            if prefix.startswith("lora_te") and module.startswith("encoder."):
                module = "text_model." + module  # kohya's CLIP layer paths always include text_model
            elif prefix == "lora_unet_":
                module = rename(module)
            name = prefix + module.replace(".", "_")
            result[f"{name}.lora_down.weight"] = weights[key]
            result[f"{name}.lora_up.weight"] = weights[f"{key.removesuffix('A.weight')}B.weight"]
            result[f"{name}.alpha"] = torch.tensor(alpha)
    return result


def old_diffusers_state_dict(unet: dict[str, torch.Tensor], text: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The attention-processor era spelling (diffusers < 0.21): `processor.to_q_lora.down`, `lora.down`, `lora_linear_layer`."""
    unet_renames = {f"{p}.lora_": f"processor.{p}_lora." for p in ("to_q", "to_k", "to_v")}
    unet_renames["to_out.0.lora_"] = "processor.to_out_lora."
    text_renames = {f"{p}_proj.lora_": f"to_{p}_lora." for p in ("q", "k", "v")}
    text_renames["out_proj.lora_"] = "to_out_lora."
    result: dict[str, torch.Tensor] = {}
    for prefix, weights, renames, default in (
        ("unet.", unet, unet_renames, "lora."),
        ("text_encoder.text_model.", text, text_renames, "lora_linear_layer."),
    ):
        for key, tensor in weights.items():
            new = key.replace("lora_A.weight", "lora_down.weight").replace("lora_B.weight", "lora_up.weight")
            for old, replacement in renames.items():
                if old in new:
                    new = new.replace(old, replacement)
                    break
            else:
                new = new.replace("lora_", default)
            result[prefix + new] = tensor
    return result


# The tiny SDXL UNet's blocks in Stability's SGM layout, written out by hand for this config.
TINY_SDXL_SGM_BLOCKS = {
    "down_blocks.0.resnets.0": "input_blocks.1.0",
    "down_blocks.0.downsamplers.0.conv": "input_blocks.2.0.op",
    "down_blocks.1.resnets.0": "input_blocks.3.0",
    "down_blocks.1.attentions.0": "input_blocks.3.1",
    "mid_block.resnets.0": "middle_block.0",
    "mid_block.attentions.0": "middle_block.1",
    "mid_block.resnets.1": "middle_block.2",
    "up_blocks.0.resnets.0": "output_blocks.0.0",
    "up_blocks.0.attentions.0": "output_blocks.0.1",
    "up_blocks.0.resnets.1": "output_blocks.1.0",
    "up_blocks.0.attentions.1": "output_blocks.1.1",
    "up_blocks.0.upsamplers.0": "output_blocks.1.2",
    "up_blocks.1.resnets.0": "output_blocks.2.0",
    "up_blocks.1.resnets.1": "output_blocks.3.0",
    "conv_in": "input_blocks.0.0",
    "time_embedding.linear_1": "time_embed.0",
    "time_embedding.linear_2": "time_embed.2",
    "add_embedding.linear_1": "label_emb.0.0",
    "add_embedding.linear_2": "label_emb.0.2",
    "conv_out": "out.2",
}
SGM_RESNET = {
    "conv1": "in_layers.2",
    "time_emb_proj": "emb_layers.1",
    "conv2": "out_layers.3",
    "conv_shortcut": "skip_connection",
}


def tiny_sdxl_sgm_name(module: str) -> str:
    for diffusers, sgm in TINY_SDXL_SGM_BLOCKS.items():
        if module == diffusers or module.startswith(diffusers + "."):
            rest = module[len(diffusers) :]
            if ".resnets." in diffusers:
                rest = "." + SGM_RESNET[rest.removeprefix(".")]
            return sgm + rest
    raise AssertionError(f"no SGM name for {module}")


def save(path: Path, state_dict: dict[str, torch.Tensor]) -> Path:
    save_file({key: tensor.contiguous() for key, tensor in state_dict.items()}, str(path))
    return path


class DiffusersSD(StableDiffusionLoraLoaderMixin):
    """The LoRA-loading part of diffusers' StableDiffusionPipeline, on bare models."""

    hf_device_map = None

    def __init__(self, unet: nn.Module, text_encoder: nn.Module) -> None:
        self.unet, self.text_encoder = unet, text_encoder

    @property
    def components(self) -> dict[str, nn.Module]:
        return {"unet": self.unet, "text_encoder": self.text_encoder}


class DiffusersSDXL(StableDiffusionXLLoraLoaderMixin):
    """The LoRA-loading part of diffusers' StableDiffusionXLPipeline, on bare models."""

    hf_device_map = None

    def __init__(self, unet: nn.Module, text_encoder: nn.Module, text_encoder_2: nn.Module) -> None:
        self.unet, self.text_encoder, self.text_encoder_2 = unet, text_encoder, text_encoder_2

    @property
    def components(self) -> dict[str, nn.Module]:
        return {"unet": self.unet, "text_encoder": self.text_encoder, "text_encoder_2": self.text_encoder_2}


def max_difference(a: torch.Tensor, b: torch.Tensor) -> float:
    return (a - b).abs().max().item()
