"""Parameter names of the original (CompVis/Stability "LDM") UNet, mapped to diffusers names.

The LDM UNet is a flat list of blocks: `input_blocks.i` (conv_in, then per resolution
`layers_per_block` [resnet, transformer] pairs and one downsampler), `middle_block.0-2`,
and `output_blocks.i` (per resolution `layers_per_block + 1` [resnet, transformer,
upsampler] triples). diffusers nests the same modules as `down_blocks.b.resnets.l` etc.
Transformer internals (`proj_in`, `transformer_blocks.n.attn1.to_q`, ...) have the same
names in both layouts.
"""

from __future__ import annotations

from nodes.loading.errors import CheckpointError

UNET_PREFIX = "model.diffusion_model."

_TOP_LEVEL = {
    "time_embed.0": "time_embedding.linear_1",
    "time_embed.2": "time_embedding.linear_2",
    "label_emb.0.0": "add_embedding.linear_1",  # SDXL size/pooled-text embedding
    "label_emb.0.2": "add_embedding.linear_2",
    "input_blocks.0.0": "conv_in",
    "out.0": "conv_norm_out",
    "out.2": "conv_out",
}

_RESNET = {
    "in_layers.0": "norm1",
    "in_layers.2": "conv1",
    "emb_layers.1": "time_emb_proj",
    "out_layers.0": "norm2",
    "out_layers.3": "conv2",
    "skip_connection": "conv_shortcut",
}


def unet_key(ldm_key: str, layers_per_block: int) -> str:
    """The diffusers name of one LDM UNet parameter (given without the `model.diffusion_model.` prefix)."""
    module, _, param = ldm_key.rpartition(".")
    if module in _TOP_LEVEL:
        return f"{_TOP_LEVEL[module]}.{param}"
    parts = module.split(".")
    target = None
    if len(parts) >= 3 and parts[1].isdigit():
        group, index = parts[0], int(parts[1])
        if group == "middle_block":
            target = _mid_block_module(index, ".".join(parts[2:]))
        elif parts[2].isdigit():
            slot, rest = int(parts[2]), ".".join(parts[3:])
            if group == "input_blocks" and index > 0:
                target = _down_block_module(index, slot, rest, layers_per_block)
            elif group == "output_blocks":
                target = _up_block_module(index, slot, rest, layers_per_block)
    if target is None:
        raise CheckpointError(f"unrecognised UNet parameter {ldm_key!r}")
    return f"{target}.{param}"


def _down_block_module(index: int, slot: int, rest: str, layers_per_block: int) -> str | None:
    block, layer = divmod(index - 1, layers_per_block + 1)
    if layer == layers_per_block:  # the last entry of each resolution is its downsampler
        return f"down_blocks.{block}.downsamplers.0.conv" if (slot, rest) == (0, "op") else None
    if slot == 0:
        return _resnet_module(f"down_blocks.{block}.resnets.{layer}", rest)
    if slot == 1 and rest:
        return f"down_blocks.{block}.attentions.{layer}.{rest}"
    return None


def _mid_block_module(slot: int, rest: str) -> str | None:
    if slot in (0, 2):
        return _resnet_module(f"mid_block.resnets.{slot // 2}", rest)
    if slot == 1 and rest:
        return f"mid_block.attentions.0.{rest}"
    return None


def _up_block_module(index: int, slot: int, rest: str, layers_per_block: int) -> str | None:
    block, layer = divmod(index, layers_per_block + 1)
    if slot == 0:
        return _resnet_module(f"up_blocks.{block}.resnets.{layer}", rest)
    # The upsampler sits after the transformer, or directly after the resnet in blocks without attention.
    if rest == "conv" and slot in (1, 2):
        return f"up_blocks.{block}.upsamplers.0.conv"
    if slot == 1 and rest:
        return f"up_blocks.{block}.attentions.{layer}.{rest}"
    return None


def _resnet_module(prefix: str, rest: str) -> str | None:
    name = _RESNET.get(rest)
    return f"{prefix}.{name}" if name else None
