"""Names of diffusers UNet modules in Stability's original (SGM/LDM) UNet layout.

kohya trains SDXL LoRAs on the SGM UNet, so their keys say `input_blocks.4.1.…` where our
UNet (diffusers naming) says `down_blocks.1.attentions.0.…`. The SGM layout numbers every
layer of the encoder in one list (`input_blocks`; index 0 is conv_in, each downsampler takes
its own index) and every layer of the decoder in another (`output_blocks`, upsamplers sit
inside the block's last layer). The block structure is read off the module names, so any
UNet2DConditionModel layout (SD 1.x, SD 2.x, SDXL, tiny test models) maps.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass

# Modules outside the block lists.
_TOP_LEVEL = {
    "conv_in": "input_blocks.0.0",
    "time_embedding.linear_1": "time_embed.0",
    "time_embedding.linear_2": "time_embed.2",
    "add_embedding.linear_1": "label_emb.0.0",
    "add_embedding.linear_2": "label_emb.0.2",
    "conv_norm_out": "out.0",
    "conv_out": "out.2",
}

# Inside a ResnetBlock2D (SGM's ResBlock keeps its layers in Sequentials).
_RESNET = {
    "norm1": "in_layers.0",
    "conv1": "in_layers.2",
    "time_emb_proj": "emb_layers.1",
    "norm2": "out_layers.0",
    "conv2": "out_layers.3",
    "conv_shortcut": "skip_connection",
}

_BLOCK_MODULE = re.compile(r"^(down_blocks|up_blocks|mid_block)\.(?:(\d+)\.)?(resnets|attentions|downsamplers|upsamplers)\.(\d+)(?:\.(.*))?$")


@dataclass(frozen=True)
class _Layout:
    down_layers: list[int]  # resnets per down block
    down_sampled: list[bool]  # whether the down block ends in a downsampler
    up_layers: list[int]  # resnets per up block
    up_attended: list[bool]  # whether the up block has attentions (moves its upsampler to index 2)

    @classmethod
    def read(cls, names: list[str]) -> "_Layout":
        layers: dict[tuple[str, int], set[int]] = {}
        extras: dict[tuple[str, int], set[str]] = {}
        for name in names:
            match = _BLOCK_MODULE.match(name)
            if match is None or match[1] == "mid_block":
                continue
            block = (match[1], int(match[2]))
            extras.setdefault(block, set()).add(match[3])
            if match[3] == "resnets":
                layers.setdefault(block, set()).add(int(match[4]))

        def count(kind: str) -> int:
            return 1 + max((index for k, index in extras if k == kind), default=-1)

        down, up = range(count("down_blocks")), range(count("up_blocks"))
        return cls(
            down_layers=[len(layers.get(("down_blocks", b), ())) for b in down],
            down_sampled=["downsamplers" in extras.get(("down_blocks", b), ()) for b in down],
            up_layers=[len(layers.get(("up_blocks", b), ())) for b in up],
            up_attended=["attentions" in extras.get(("up_blocks", b), ()) for b in up],
        )

    def input_index(self, block: int, layer: int) -> int:
        """SGM `input_blocks` index of a down block's layer (conv_in is index 0)."""
        return 1 + sum(self.down_layers[b] + self.down_sampled[b] for b in range(block)) + layer

    def output_index(self, block: int, layer: int) -> int:
        return sum(self.up_layers[:block]) + layer


def sgm_names(module_names: Iterable[str]) -> dict[str, str]:
    """Map each diffusers UNet module name that has an SGM counterpart to its SGM name."""
    names = list(module_names)
    layout = _Layout.read(names)
    mapped = {name: _sgm_name(name, layout) for name in names}
    return {name: sgm for name, sgm in mapped.items() if sgm is not None}


def _sgm_name(name: str, layout: _Layout) -> str | None:
    if name in _TOP_LEVEL:
        return _TOP_LEVEL[name]
    match = _BLOCK_MODULE.match(name)
    if match is None or match[5] is None:
        return None
    blocks, block, kind, layer, rest = match[1], int(match[2] or 0), match[3], int(match[4]), match[5]
    if kind == "resnets":
        head, dot, tail = rest.partition(".")
        if head not in _RESNET:
            return None
        rest = _RESNET[head] + dot + tail
    if blocks == "mid_block":
        # mid block: resnet, attention, resnet.
        return f"middle_block.{2 * layer + (kind == 'attentions')}.{rest}"
    if blocks == "down_blocks":
        if kind == "downsamplers":
            index = layout.input_index(block, layout.down_layers[block])
            return f"input_blocks.{index}.0.op" if rest == "conv" else None
        return f"input_blocks.{layout.input_index(block, layer)}.{int(kind == 'attentions')}.{rest}"
    if kind == "upsamplers":
        index = layout.output_index(block, layout.up_layers[block] - 1)
        slot = 2 if layout.up_attended[block] else 1
        return f"output_blocks.{index}.{slot}.{rest}"
    return f"output_blocks.{layout.output_index(block, layer)}.{int(kind == 'attentions')}.{rest}"
