"""transformers CLIP text encoders built on the meta device from a config and a state dict."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection
from transformers.models.clip.modeling_clip import CLIPTextEmbeddings

from nodes.loading.build import assign_weights
from nodes.loading.errors import CheckpointError

TextEncoder = CLIPTextModel | CLIPTextModelWithProjection
TEXT_ENCODER_CLASSES: dict[str, type[TextEncoder]] = {
    "CLIPTextModel": CLIPTextModel,
    "CLIPTextModelWithProjection": CLIPTextModelWithProjection,
}
# transformers 5 stores CLIPTextModel's weights without the `text_model.` level that older
# files (and CLIPTextModelWithProjection) have; names are matched either way.
_BASE_PREFIX = "text_model."


def build_text_encoder(
    class_name: str, config: Mapping[str, Any], state_dict: Mapping[str, torch.Tensor], *, what: str
) -> TextEncoder:
    """A CLIP text encoder of class `class_name` holding `state_dict`."""
    if class_name not in TEXT_ENCODER_CLASSES:
        raise CheckpointError(f"{what}: unsupported text encoder class {class_name!r}; expected one of {sorted(TEXT_ENCODER_CLASSES)}")
    text_config = CLIPTextConfig.from_dict({key: value for key, value in config.items() if not key.startswith("_")})
    with torch.device("meta"):
        model = TEXT_ENCODER_CLASSES[class_name](text_config)
    aligned = align_base_prefix(state_dict, set(model.state_dict()))
    return assign_weights(model, aligned, what=what, rebuild_buffers=_rebuild_position_ids)


def align_base_prefix(state_dict: Mapping[str, torch.Tensor], expected: set[str]) -> dict[str, torch.Tensor]:
    """Add or remove the `text_model.` level of each name so that it matches the model's names."""
    aligned: dict[str, torch.Tensor] = {}
    for key, tensor in state_dict.items():
        if key not in expected:
            if f"{_BASE_PREFIX}{key}" in expected:
                key = f"{_BASE_PREFIX}{key}"
            elif key.startswith(_BASE_PREFIX) and key[len(_BASE_PREFIX) :] in expected:
                key = key[len(_BASE_PREFIX) :]
        aligned[key] = tensor
    return aligned


def _rebuild_position_ids(model: TextEncoder) -> None:
    # `position_ids` is a non-persistent arange buffer, so no state dict carries it.
    for module in model.modules():
        if isinstance(module, CLIPTextEmbeddings):
            weight = module.position_embedding.weight
            module.position_ids = torch.arange(weight.shape[0], device=weight.device).expand(1, -1)
