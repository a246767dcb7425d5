"""Reading LoRA files: safetensors only, because pickled files can run code when loaded."""

from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open

from nodes.lora.errors import LoraError


@dataclass(frozen=True)
class LoraFile:
    """The tensors of a LoRA file and the string metadata from its safetensors header."""

    tensors: dict[str, torch.Tensor]
    metadata: dict[str, str]


# Formats that are pickles in disguise (torch.save zips and raw pickles).
_PICKLE_SUFFIXES = frozenset({".ckpt", ".pt", ".pth", ".bin", ".pkl", ".pickle"})


def read_lora_file(path: str | Path) -> LoraFile:
    """Read every tensor of a `.safetensors` LoRA file onto the CPU, with its header metadata."""
    path = Path(path)
    if not path.is_file():
        raise LoraError(f"LoRA file not found: {path}")
    suffix = path.suffix.lower()
    if suffix in _PICKLE_SUFFIXES:
        raise LoraError(
            f"{path}: '{suffix}' LoRA files are pickles, which can run arbitrary code when loaded, "
            "so they are refused; convert the file to .safetensors"
        )
    if suffix != ".safetensors":
        raise LoraError(f"{path}: expected a .safetensors LoRA file, got a '{suffix or 'no'}' extension")
    try:
        with safe_open(str(path), framework="pt", device="cpu") as handle:
            metadata = dict(handle.metadata() or {})
            tensors = {key: handle.get_tensor(key) for key in handle.keys()}
    except SafetensorError as error:
        raise LoraError(f"{path} is not a valid safetensors file ({error})") from error
    if not tensors:
        raise LoraError(f"{path} holds no tensors; expected LoRA weights")
    return LoraFile(tensors=tensors, metadata=metadata)
