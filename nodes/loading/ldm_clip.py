"""Text-encoder parameters of original checkpoints, mapped to transformers' CLIP names.

SD 1.x (and SDXL's first encoder) embed OpenAI CLIP already in transformers' layout.
SD 2.x and SDXL's second encoder embed an OpenCLIP text tower: fused `in_proj` attention
weights, `resblocks`/`ln_1`/`c_fc` names, and a `text_projection` matrix applied as
`x @ P` (transformers stores the transposed Linear weight).
"""

from __future__ import annotations

import torch

from nodes.loading.errors import CheckpointError

_OPEN_CLIP_TOP_LEVEL = {
    "token_embedding.weight": "text_model.embeddings.token_embedding.weight",
    "positional_embedding": "text_model.embeddings.position_embedding.weight",
    "ln_final.weight": "text_model.final_layer_norm.weight",
    "ln_final.bias": "text_model.final_layer_norm.bias",
}
_OPEN_CLIP_BLOCK = {
    "ln_1": "layer_norm1",
    "ln_2": "layer_norm2",
    "mlp.c_fc": "mlp.fc1",
    "mlp.c_proj": "mlp.fc2",
    "attn.out_proj": "self_attn.out_proj",
}
# Training-time entries with no counterpart in the text model.
_OPEN_CLIP_IGNORED = {"logit_scale", "attn_mask"}
_RESBLOCKS = "transformer.resblocks."


def clip_tensors(key: str, tensor: torch.Tensor) -> list[tuple[str, torch.Tensor]]:
    """transformers names for one OpenAI-CLIP parameter (given without its checkpoint prefix)."""
    if key.endswith("embeddings.position_ids"):
        return []  # a constant arange buffer that transformers rebuilds itself
    if not key.startswith("text_model."):
        key = f"text_model.{key}"  # checkpoints saved with transformers < 4.0 lack this level
    return [(key, tensor)]


def open_clip_tensors(
    key: str, tensor: torch.Tensor, *, num_layers: int, with_projection: bool
) -> list[tuple[str, torch.Tensor]]:
    """transformers names for one OpenCLIP parameter (given without its checkpoint prefix).

    Blocks at index >= `num_layers` are dropped: the SD 2.x encoder is defined as the
    OpenCLIP tower without its last block, since SD 2.x conditions on the penultimate layer.
    """
    if key in _OPEN_CLIP_TOP_LEVEL:
        return [(_OPEN_CLIP_TOP_LEVEL[key], tensor)]
    if key == "text_projection":
        return [("text_projection.weight", tensor.T)] if with_projection else []
    if key in _OPEN_CLIP_IGNORED:
        return []
    if key.startswith(_RESBLOCKS):
        index, _, inner = key[len(_RESBLOCKS) :].partition(".")
        if index.isdigit():
            if int(index) >= num_layers:
                return []
            converted = _block_tensors(inner, tensor)
            if converted is not None:
                prefix = f"text_model.encoder.layers.{index}"
                return [(f"{prefix}.{name}", value) for name, value in converted]
    raise CheckpointError(f"unrecognised OpenCLIP text-encoder parameter {key!r}")


def _block_tensors(inner: str, tensor: torch.Tensor) -> list[tuple[str, torch.Tensor]] | None:
    if inner in ("attn.in_proj_weight", "attn.in_proj_bias"):
        kind = inner.rsplit("_", 1)[1]
        query, key, value = tensor.chunk(3, dim=0)
        return [(f"self_attn.q_proj.{kind}", query), (f"self_attn.k_proj.{kind}", key), (f"self_attn.v_proj.{kind}", value)]
    module, _, param = inner.rpartition(".")
    if module in _OPEN_CLIP_BLOCK:
        return [(f"{_OPEN_CLIP_BLOCK[module]}.{param}", tensor)]
    return None
