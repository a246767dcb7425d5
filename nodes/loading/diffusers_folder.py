"""The diffusers folder layout: `model_index.json`, one sub-folder per component, each with its
config and weights (`diffusion_pytorch_model*.safetensors` for diffusers models,
`model*.safetensors` for transformers models), optionally as a variant (`*.fp16.safetensors`)
or sharded (`*.safetensors.index.json` + shards)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from nodes.loading.build import cast_floating
from nodes.loading.errors import CheckpointError
from nodes.loading.tensor_files import (
    PICKLE_SUFFIXES,
    SAFETENSORS_SUFFIX,
    ShardedTensorFile,
    TensorFile,
    open_tensor_file,
    pickle_refusal_message,
)

MODEL_INDEX = "model_index.json"
MODEL_CONFIG = "config.json"
SCHEDULER_CONFIG = "scheduler_config.json"
DIFFUSERS_WEIGHTS = "diffusion_pytorch_model"
TRANSFORMERS_WEIGHTS = "model"
_PICKLE_WEIGHT_SUFFIX = ".bin"  # the only pickle suffix diffusers and transformers save


def read_json(path: Path) -> dict[str, Any]:
    """A JSON object from `path`, with errors that name the file."""
    if not path.is_file():
        raise CheckpointError(f"missing file: {path}")
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CheckpointError(f"{path} is not valid JSON: {error}") from error
    if not isinstance(content, dict):
        raise CheckpointError(f"{path} must hold a JSON object")
    return content


def read_model_index(folder: Path) -> dict[str, Any]:
    return read_json(folder / MODEL_INDEX)


def component_class(model_index: dict[str, Any], name: str, *, folder: Path) -> str | None:
    """The class name model_index.json gives a component, or None when the component is absent."""
    entry = model_index.get(name)
    if entry is None or entry == [None, None]:
        return None
    if not (isinstance(entry, list) and len(entry) == 2 and isinstance(entry[1], str)):
        raise CheckpointError(f"{folder / MODEL_INDEX}: entry {name!r} must be [library, class name], got {entry!r}")
    return entry[1]


def weight_file_candidates(stem: str, variant: str | None) -> tuple[str, str]:
    """The single-file and shard-index names a model's weights are saved under."""
    infix = f".{variant}" if variant else ""
    return f"{stem}{infix}{SAFETENSORS_SUFFIX}", f"{stem}{SAFETENSORS_SUFFIX}.index{infix}.json"


def open_model_weights(
    folder: Path,
    stem: str,
    *,
    variant: str | None = None,
    device: torch.device | str = "cpu",
    allow_pickle: bool = False,
) -> TensorFile:
    """The weights of the model saved in `folder` (a component sub-folder)."""
    if not folder.is_dir():
        raise CheckpointError(f"missing component folder: {folder}")
    single, index = weight_file_candidates(stem, variant)
    if (folder / single).is_file():
        return open_tensor_file(folder / single, device=device)
    if (folder / index).is_file():
        return ShardedTensorFile(folder / index, device=device)
    infix = f".{variant}" if variant else ""
    pickled = [folder / f"{stem}{infix}{_PICKLE_WEIGHT_SUFFIX}", folder / f"{stem}{_PICKLE_WEIGHT_SUFFIX}.index{infix}.json"]
    for path in pickled:
        if path.is_file():
            if not allow_pickle:
                raise CheckpointError(pickle_refusal_message(path))
            if path.suffix in PICKLE_SUFFIXES:
                return open_tensor_file(path, device=device, allow_pickle=True)
            return ShardedTensorFile(path, device=device, allow_pickle=True)
    present = sorted(p.name for p in folder.iterdir())
    hint = ""
    if variant and any((folder / name).is_file() for name in weight_file_candidates(stem, None)):
        hint = f" (there is no {variant!r} variant; pass variant=None to load the default weights)"
    raise CheckpointError(
        f"no weights in {folder}: expected {single} or {index}{hint}; the folder holds {present}"
    )


def read_model_folder(
    folder: Path,
    stem: str,
    *,
    variant: str | None = None,
    device: torch.device | str = "cpu",
    dtype: torch.dtype | None = None,
    allow_pickle: bool = False,
) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """The config and the state dict (on `device`, floating tensors in `dtype`) of a saved model."""
    config = read_json(folder / MODEL_CONFIG)
    weights = open_model_weights(folder, stem, variant=variant, device=device, allow_pickle=allow_pickle)
    return config, {key: cast_floating(weights.tensor(key), dtype) for key in weights.keys()}
