"""LoraLoader nodes: add a LoRA file's weight patches to a MODEL and a CLIP.

The nodes only derive new handles carrying patches; the weights in the model manager are not
touched, and the patches are applied while sampling or encoding (`nodes.sampling.patched`).
Patches stack: chain several LoraLoaders, each with its own strengths.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, NamedTuple

from torch import nn

from graph_engine import Context, Description, FileHasher, Range, node
from nodes.lora.patches import LoraPatches, compute_lora_patches
from nodes.lora.weights import load_lora
from nodes.model_manager import ManagedModel
from nodes.types import Clip, ClipHandle, Model

LoraPath = Annotated[str, Description("a .safetensors LoRA file (kohya or diffusers/PEFT format)")]
Strength = Annotated[float, Range(-10.0, 10.0, step=0.01)]


def lora_fingerprint(constants: Mapping[str, Any], files: FileHasher) -> str | None:
    """The LoRA file's content hash, so the node re-runs when the file changes. A missing file
    gives None and the node itself reports it, with a clearer message than a failed hash."""
    path = constants.get("lora")
    return files.hash(path) if isinstance(path, str) and Path(path).is_file() else None


class LoraOutputs(NamedTuple):
    model: Annotated[Model, Description("the model with the LoRA's UNet patches added")]
    clip: Annotated[Clip, Description("the text encoder(s) with the LoRA's patches added")]


@node(category="loaders", version=1, fingerprint=lora_fingerprint)
def LoraLoader(
    ctx: Context,
    model: Model,
    clip: Clip,
    lora: LoraPath,
    strength_model: Annotated[Strength, Description("how strongly the LoRA changes the UNet")] = 1.0,
    strength_clip: Annotated[Strength, Description("how strongly the LoRA changes the text encoder(s)")] = 1.0,
) -> LoraOutputs:
    """Apply a LoRA to a model and its text encoder(s), each with its own strength."""
    components = {"unet": _module(model.unet, ctx.device), **_text_encoders(clip, ctx.device)}
    strengths = {name: strength_clip for name in components} | {"unet": strength_model}
    result = _patches(ctx, lora, components, strengths)
    clip_patches = {name: result.for_component(name) for name in components if name != "unet"}
    return LoraOutputs(model.with_patches(result.for_component("unet")), clip.with_patches(clip_patches))


@node(category="loaders", version=1, fingerprint=lora_fingerprint)
def LoraLoaderModelOnly(
    ctx: Context,
    model: Model,
    lora: LoraPath,
    strength_model: Annotated[Strength, Description("how strongly the LoRA changes the UNet")] = 1.0,
) -> Annotated[Model, Description("the model with the LoRA's UNet patches added")]:
    """Apply a LoRA to a model's UNet only (its text-encoder layers, if any, are left out)."""
    result = _patches(ctx, lora, {"unet": _module(model.unet, ctx.device)}, {"unet": strength_model})
    return model.with_patches(result.for_component("unet"))


def _patches(ctx: Context, path: str, components: dict[str, nn.Module], strengths: dict[str, float]) -> LoraPatches:
    result = compute_lora_patches(load_lora(path), components, strengths, source=path)
    report = result.report()
    if report is not None:
        ctx.logger.warning("%s: %s", path, report)
    return result


def _module(model: ManagedModel, device: str) -> nn.Module:
    # Only parameter names and shapes are read: a loaded module serves wherever it is.
    return model.module if model.module is not None else model.use(device)


def _text_encoders(clip: ClipHandle, device: str) -> dict[str, nn.Module]:
    encoders = {"text_encoder": _module(clip.text_encoder, device)}
    if clip.text_encoder_2 is not None:
        encoders["text_encoder_2"] = _module(clip.text_encoder_2, device)
    return encoders


__all__ = ["LoraLoader", "LoraLoaderModelOnly", "LoraOutputs"]
