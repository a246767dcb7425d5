"""Read access to weight files: safetensors by default, pickles only on explicit request.

Tensors are read key by key straight onto the target device, so a caller that needs
part of a file (one component of a single-file checkpoint) never loads the rest.
"""

from __future__ import annotations

import json
import pickle
import struct
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

import torch
from safetensors import SafetensorError, safe_open

from nodes.loading.errors import CheckpointError

SAFETENSORS_SUFFIX = ".safetensors"
PICKLE_SUFFIXES = (".ckpt", ".bin", ".pt", ".pth")


class TensorFile(Protocol):
    """Named tensors of one checkpoint (one file, or the shards of one model)."""

    @property
    def extras(self) -> Mapping[str, Any]:
        """Non-tensor entries stored beside the tensors (e.g. a pickle's `global_step`)."""
        ...

    def keys(self) -> list[str]: ...

    def shape(self, key: str) -> tuple[int, ...]: ...

    def tensor(self, key: str) -> torch.Tensor: ...


def open_tensor_file(path: Path, *, device: torch.device | str = "cpu", allow_pickle: bool = False) -> TensorFile:
    """Open a `.safetensors` file, or a pickle checkpoint when `allow_pickle` is set."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"weight file not found: {path}")
    suffix = path.suffix.lower()
    if suffix == SAFETENSORS_SUFFIX:
        return SafetensorsFile(path, device=device)
    if suffix in PICKLE_SUFFIXES:
        if not allow_pickle:
            raise CheckpointError(pickle_refusal_message(path))
        return PickleFile(path, device=device)
    raise CheckpointError(
        f"unsupported weight file {path}: expected a {SAFETENSORS_SUFFIX} file"
        f" (or, with allow_pickle=True, one of {', '.join(PICKLE_SUFFIXES)})"
    )


def pickle_refusal_message(path: Path) -> str:
    converted = path.with_suffix(SAFETENSORS_SUFFIX)
    return (
        f"refusing to load {path}: {path.suffix} files are Python pickles, and unpickling can run arbitrary code."
        f" Convert it to safetensors once, e.g.\n"
        f"  python -c \"import torch, safetensors.torch as st; sd = torch.load('{path}', weights_only=True);"
        f" sd = sd.get('state_dict', sd); st.save_file({{k: v.contiguous() for k, v in sd.items()"
        f" if isinstance(v, torch.Tensor)}}, '{converted}')\"\n"
        f"or pass allow_pickle=True to load it with torch.load(weights_only=True), which accepts only tensors"
        f" and plain containers."
    )


class SafetensorsFile:
    """A memory-mapped safetensors file whose header was checked against the file size first."""

    def __init__(self, path: Path, *, device: torch.device | str = "cpu") -> None:
        self.path = path
        self._shapes = check_safetensors_header(path)
        try:
            self._handle = safe_open(str(path), framework="pt", device=str(torch.device(device)))
        except SafetensorError as error:
            raise CheckpointError(f"cannot read safetensors file {path}: {error}") from error

    @property
    def extras(self) -> Mapping[str, Any]:
        return self._handle.metadata() or {}

    def keys(self) -> list[str]:
        return list(self._shapes)

    def shape(self, key: str) -> tuple[int, ...]:
        return self._shapes[key]

    def tensor(self, key: str) -> torch.Tensor:
        try:
            return self._handle.get_tensor(key)
        except SafetensorError as error:
            raise CheckpointError(f"cannot read tensor {key!r} from {self.path}: {error}") from error


def check_safetensors_header(path: Path) -> dict[str, tuple[int, ...]]:
    """Validate the header of a safetensors file and return each tensor's shape.

    safetensors reports a truncated download as an opaque deserialisation error; checking
    the declared data size against the real file size lets us say what happened.
    """
    size = path.stat().st_size
    with path.open("rb") as file:
        prefix = file.read(8)
        if len(prefix) < 8:
            raise CheckpointError(f"{path} is not a safetensors file: it holds only {size} bytes (empty or truncated)")
        (header_size,) = struct.unpack("<Q", prefix)
        if 8 + header_size > size:
            raise CheckpointError(
                f"{path} is truncated or not a safetensors file: its header claims {header_size} bytes"
                f" but the file has {size} bytes in all"
            )
        header_bytes = file.read(header_size)
    try:
        header = json.loads(header_bytes)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CheckpointError(f"{path} has a corrupted safetensors header: {error}") from error
    if not isinstance(header, dict):
        raise CheckpointError(f"{path} has a corrupted safetensors header: expected a JSON object")
    shapes: dict[str, tuple[int, ...]] = {}
    data_end = 0
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        try:
            shapes[name] = tuple(int(n) for n in entry["shape"])
            data_end = max(data_end, int(entry["data_offsets"][1]))
        except (KeyError, IndexError, TypeError, ValueError) as error:
            raise CheckpointError(f"{path} has a corrupted safetensors header entry for {name!r}") from error
    data_size = size - 8 - header_size
    if data_end > data_size:
        raise CheckpointError(
            f"{path} is truncated: its header describes {data_end} bytes of tensor data but the file holds"
            f" only {data_size} (incomplete download? fetch the file again)"
        )
    return shapes


class PickleFile:
    """A torch pickle checkpoint read with `weights_only=True`: tensors and plain containers only."""

    def __init__(self, path: Path, *, device: torch.device | str = "cpu") -> None:
        self.path = path
        content = _load_weights_only(path, device)
        if not isinstance(content, dict):
            raise CheckpointError(f"{path} does not hold a state dict (found {type(content).__name__})")
        nested = content.get("state_dict")
        state = nested if isinstance(nested, dict) else content
        self._tensors = {k: v for k, v in state.items() if isinstance(v, torch.Tensor)}
        self._extras = {k: v for k, v in content.items() if k != "state_dict" and not isinstance(v, torch.Tensor)}

    @property
    def extras(self) -> Mapping[str, Any]:
        return self._extras

    def keys(self) -> list[str]:
        return list(self._tensors)

    def shape(self, key: str) -> tuple[int, ...]:
        return tuple(self._tensors[key].shape)

    def tensor(self, key: str) -> torch.Tensor:
        return self._tensors[key]


def _load_weights_only(path: Path, device: torch.device | str) -> Any:
    try:
        try:
            return torch.load(path, map_location=device, weights_only=True, mmap=True)
        except RuntimeError as error:
            # Only zip-format files can be memory-mapped; legacy (torch < 1.6) pickles cannot.
            if "mmap" not in str(error):
                raise
            return torch.load(path, map_location=device, weights_only=True)
    except pickle.UnpicklingError as error:
        raise CheckpointError(
            f"{path} holds objects other than tensors and plain containers, which weights_only loading refuses: {error}"
        ) from error
    except (RuntimeError, EOFError) as error:
        raise CheckpointError(f"cannot read pickle checkpoint {path} (truncated or corrupted?): {error}") from error


class ShardedTensorFile:
    """The shards of one model, listed by a `*.safetensors.index.json` weight map."""

    def __init__(self, index_path: Path, *, device: torch.device | str = "cpu", allow_pickle: bool = False) -> None:
        try:
            weight_map: dict[str, str] = json.loads(index_path.read_text())["weight_map"]
        except (OSError, json.JSONDecodeError, KeyError, TypeError) as error:
            raise CheckpointError(f"{index_path} is not a valid shard index (expected a 'weight_map' object)") from error
        shards: dict[str, TensorFile] = {}
        for shard_name in sorted(set(weight_map.values())):
            shard_path = index_path.parent / shard_name
            if not shard_path.is_file():
                raise CheckpointError(f"shard {shard_path} listed in {index_path.name} is missing")
            shards[shard_name] = open_tensor_file(shard_path, device=device, allow_pickle=allow_pickle)
        self._file_of = {key: shards[name] for key, name in weight_map.items()}

    @property
    def extras(self) -> Mapping[str, Any]:
        return {}

    def keys(self) -> list[str]:
        return list(self._file_of)

    def shape(self, key: str) -> tuple[int, ...]:
        return self._file_of[key].shape(key)

    def tensor(self, key: str) -> torch.Tensor:
        return self._file_of[key].tensor(key)
