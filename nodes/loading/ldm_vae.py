"""Parameter names of the original (LDM) autoencoder, mapped to diffusers' AutoencoderKL names.

Two differences beyond renaming: the LDM decoder numbers its up blocks from the highest
resolution (`decoder.up.0` runs last) while diffusers numbers them in execution order, and
the LDM mid-block attention uses 1x1 convolutions where diffusers uses linear layers.
"""

from __future__ import annotations

import torch

from nodes.loading.errors import CheckpointError

VAE_PREFIXES = ("first_stage_model.", "vae.")

_ATTENTION = {"norm": "group_norm", "q": "to_q", "k": "to_k", "v": "to_v", "proj_out": "to_out.0"}
_RESNET = {"norm1": "norm1", "conv1": "conv1", "norm2": "norm2", "conv2": "conv2", "nin_shortcut": "conv_shortcut"}
_UNCHANGED = {"conv_in", "conv_out"}


def is_ldm_vae_layout(keys: list[str]) -> bool:
    """Whether VAE parameter names (prefix removed) follow the LDM layout rather than diffusers'."""
    return any(key.startswith(("encoder.down.", "decoder.up.", "encoder.mid.", "decoder.mid.")) for key in keys)


def vae_tensor(ldm_key: str, tensor: torch.Tensor, num_up_blocks: int) -> tuple[str, torch.Tensor]:
    """The diffusers name (and layout) of one LDM VAE parameter, given without its prefix."""
    module, _, param = ldm_key.rpartition(".")
    if module in ("quant_conv", "post_quant_conv"):
        return ldm_key, tensor
    side, _, inner = module.partition(".")
    target = None
    if side in ("encoder", "decoder"):
        try:
            target = _inner_module(side, inner.split("."), num_up_blocks)
        except ValueError:  # a block index that is not a number
            target = None
    if target is None:
        raise CheckpointError(f"unrecognised VAE parameter {ldm_key!r}")
    if ".attentions." in target and param == "weight" and tensor.ndim > 2:
        tensor = tensor.reshape(tensor.shape[0], tensor.shape[1])  # 1x1 conv kernel -> linear weight (a view)
    return f"{side}.{target}.{param}", tensor


def _inner_module(side: str, parts: list[str], num_up_blocks: int) -> str | None:
    match parts:
        case [name] if name in _UNCHANGED:
            return name
        case ["norm_out"]:
            return "conv_norm_out"
        case ["mid", "block_1" | "block_2" as block, name] if name in _RESNET:
            return f"mid_block.resnets.{int(block[-1]) - 1}.{_RESNET[name]}"
        case ["mid", "attn_1", name] if name in _ATTENTION:
            return f"mid_block.attentions.0.{_ATTENTION[name]}"
        case ["down", index, "block", layer, name] if side == "encoder" and name in _RESNET:
            return f"down_blocks.{int(index)}.resnets.{int(layer)}.{_RESNET[name]}"
        case ["down", index, "downsample", "conv"] if side == "encoder":
            return f"down_blocks.{int(index)}.downsamplers.0.conv"
        case ["up", index, "block", layer, name] if side == "decoder" and name in _RESNET:
            return f"up_blocks.{num_up_blocks - 1 - int(index)}.resnets.{int(layer)}.{_RESNET[name]}"
        case ["up", index, "upsample", "conv"] if side == "decoder":
            return f"up_blocks.{num_up_blocks - 1 - int(index)}.upsamplers.0.conv"
    return None
