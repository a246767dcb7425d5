"""Group a LoRA state dict into per-module low-rank factors, whatever format wrote it.

A LoRA stores, for each adapted weight W (out x in), two factors `up` (out x r) and `down`
(r x in; r x in x kh x kw for convolutions) and optionally an `alpha`; the update is
    W' = W + strength * (alpha / r) * up @ down
(Hu et al. 2021, "LoRA: Low-Rank Adaptation of Large Language Models", eq. 3 and section 4.1).
Formats differ only in how they spell the factor keys and where alpha lives:
- kohya / A1111:        `<name>.lora_down.weight`, `<name>.lora_up.weight`, `<name>.alpha`
- PEFT (diffusers now): `<name>.lora_A.weight`, `<name>.lora_B.weight`; alpha in the header metadata
- older diffusers:      `<name>.lora.down.weight`, `<name>.lora_linear_layer.down.weight`,
                        attention processors' `<attn>.processor.to_q_lora.down.weight`
"""

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch

from nodes.lora.errors import LoraError
from nodes.lora.file import LoraFile, read_lora_file

Factor = Literal["down", "up", "alpha"]

# Longest spellings first is not needed: no suffix here ends another one.
_FACTOR_SUFFIXES: tuple[tuple[str, Factor], ...] = (
    (".lora_down.weight", "down"),
    (".lora_up.weight", "up"),
    (".alpha", "alpha"),
    (".lora_A.weight", "down"),
    (".lora_B.weight", "up"),
    (".lora_linear_layer.down.weight", "down"),
    (".lora_linear_layer.up.weight", "up"),
    (".lora.down.weight", "down"),
    (".lora.up.weight", "up"),
    ("_lora.down.weight", "down"),
    ("_lora.up.weight", "up"),
)

# Variants whose update is not `up @ down` alone; applying only their LoRA part would give wrong weights.
_UNSUPPORTED_MARKERS: dict[str, str] = {
    ".dora_scale": "DoRA magnitude vectors are not supported",
    ".lora_magnitude_vector": "DoRA magnitude vectors are not supported",
    ".lora_mid.weight": "LoCon/Tucker middle factors are not supported",
    ".lora_B.bias": "LoRA bias terms are not supported",
}

# The safetensors header key under which diffusers stores each component's PEFT LoraConfig.
_PEFT_METADATA_KEY = "lora_adapter_metadata"


@dataclass(frozen=True)
class LoraLayer:
    """The low-rank update of one weight: delta = scale * up @ down."""

    up: torch.Tensor  # (out, rank), or (out, rank, 1, 1) for convolutions
    down: torch.Tensor  # (rank, in), or (rank, in, kh, kw) for convolutions
    scale: float  # alpha / rank as trained; 1.0 when the file gives no alpha
    keys: tuple[str, ...]  # the file keys it was read from, for messages

    @property
    def rank(self) -> int:
        return self.down.shape[0]


@dataclass(frozen=True)
class LoraWeights:
    """A parsed LoRA: its layers keyed by module name as the file spells it, and what could not be used."""

    layers: dict[str, LoraLayer]
    skipped: dict[str, str] = field(default_factory=dict)  # file key -> why it cannot be applied

    @property
    def key_count(self) -> int:
        return sum(len(layer.keys) for layer in self.layers.values()) + len(self.skipped)


def parse_lora(lora: LoraFile, source: str = "LoRA") -> LoraWeights:
    """Group the file's tensors into LoRA layers; `source` names the file in error messages."""
    parts: dict[str, dict[Factor, tuple[str, torch.Tensor]]] = {}
    skipped: dict[str, str] = {}
    unsupported_modules: dict[str, str] = {}
    for key, tensor in lora.tensors.items():
        split = _split_factor_key(key)
        if split is not None:
            module, factor = split
            parts.setdefault(module, {})[factor] = (key, tensor)
            continue
        marker = next((m for m in _UNSUPPORTED_MARKERS if m in key), None)
        if marker is not None:
            unsupported_modules[key.split(marker)[0]] = _UNSUPPORTED_MARKERS[marker]
            skipped[key] = _UNSUPPORTED_MARKERS[marker]
        else:
            skipped[key] = "not a LoRA factor in any known format"

    peft_configs = _peft_configs(lora.metadata, source)
    layers: dict[str, LoraLayer] = {}
    for module, factors in parts.items():
        keys = tuple(key for key, _ in factors.values())
        problem = unsupported_modules.get(module) or _missing_factor(factors)
        if problem is not None:
            skipped.update({key: problem for key in keys})
            continue
        (_, down), (_, up) = factors["down"], factors["up"]
        if down.ndim < 2 or up.ndim < 2 or up.shape[1] != down.shape[0]:
            raise LoraError(
                f"{source}: the factors of '{module}' do not chain: up {tuple(up.shape)} @ down "
                f"{tuple(down.shape)}; expected up (out, r) and down (r, in)"
            )
        layers[module] = LoraLayer(up=up, down=down, scale=_scale(module, factors, down.shape[0], peft_configs), keys=keys)

    if not layers:
        examples = ", ".join(list(lora.tensors)[:3])
        raise LoraError(
            f"{source} holds no usable LoRA weights: expected keys ending in .lora_down.weight/.lora_up.weight "
            f"(kohya) or .lora_A.weight/.lora_B.weight (PEFT/diffusers); found {len(lora.tensors)} keys such as {examples}"
        )
    return LoraWeights(layers=layers, skipped=skipped)


def _split_factor_key(key: str) -> tuple[str, Factor] | None:
    for suffix, factor in _FACTOR_SUFFIXES:
        if key.endswith(suffix):
            return key[: -len(suffix)], factor
    return None


def _missing_factor(factors: dict[Factor, tuple[str, torch.Tensor]]) -> str | None:
    if "down" not in factors:
        return "has no down (A) factor"
    if "up" not in factors:
        return "has no up (B) factor"
    return None


def _scale(module: str, factors: dict[Factor, tuple[str, torch.Tensor]], rank: int, peft_configs: dict[str, dict[str, Any]]) -> float:
    """alpha / rank: from the layer's own alpha key (kohya), else its component's PEFT config, else 1."""
    if "alpha" in factors:
        return float(factors["alpha"][1].item()) / rank
    component, _, name = module.partition(".")
    config = peft_configs.get(component)
    if config is None:
        return 1.0
    alpha = float(config.get("lora_alpha", rank))
    for pattern, pattern_alpha in (config.get("alpha_pattern") or {}).items():
        # PEFT's rule: a pattern matches the module name or a dotted suffix of it.
        if re.match(rf"(.*\.)?({pattern})$", name):
            alpha = float(pattern_alpha)
            break
    return alpha / math.sqrt(rank) if config.get("use_rslora") else alpha / rank


def _peft_configs(metadata: dict[str, str], source: str) -> dict[str, dict[str, Any]]:
    """Per-component LoraConfig fields from diffusers' header metadata: {"unet": {"lora_alpha": 8, ...}}."""
    raw = metadata.get(_PEFT_METADATA_KEY)
    if not raw:
        return {}
    try:
        flat = json.loads(raw)
    except json.JSONDecodeError as error:
        raise LoraError(f"{source}: header metadata '{_PEFT_METADATA_KEY}' is not valid JSON ({error})") from error
    if not isinstance(flat, dict):
        raise LoraError(f"{source}: header metadata '{_PEFT_METADATA_KEY}' must be a JSON object, got {type(flat).__name__}")
    configs: dict[str, dict[str, Any]] = {}
    for key, value in flat.items():
        component, _, field_name = key.rpartition(".")
        configs.setdefault(component, {})[field_name] = value
    return configs


def load_lora(path: str | Path) -> LoraWeights:
    """Read and parse a `.safetensors` LoRA file."""
    return parse_lora(read_lora_file(path), source=str(path))
