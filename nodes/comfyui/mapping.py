"""Which ComfyUI node is which of ours: input names, positional widgets, value conversions, outputs.

ComfyUI's editor format stores a node's widget values positionally (`widgets_values`), in the
order of its INPUT_TYPES, with frontend-only entries interleaved (the seed's
`control_after_generate`, LoadImage's upload button); `widgets` lists them in that order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from nodes.comfyui.names import (
    Warn,
    sampler_to_comfy,
    sampler_to_ours,
    scheduler_to_comfy,
    scheduler_to_ours,
)

ToOurs = Callable[[Any, Warn], Any]
ToComfy = Callable[[Any, Warn], Any]
# Conversions that need several inputs at once: on our inputs after import, on ComfyUI's before export.
AfterImport = Callable[[dict[str, Any], Warn], None]
BeforeExport = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class Widget:
    """One entry of `widgets_values`: a ComfyUI input and the input of ours it sets (None: frontend-only)."""

    comfy: str
    ours: str | None
    to_ours: ToOurs | None = None
    to_comfy: ToComfy | None = None  # raises ValueError when a value of ours has no ComfyUI counterpart


@dataclass(frozen=True)
class NodeMapping:
    comfy: str
    ours: str
    links: dict[str, str]  # ComfyUI socket input -> ours
    widgets: tuple[Widget, ...] = ()
    outputs: tuple[str, ...] = ()  # our output names, by ComfyUI output slot
    note: str = ""  # said on import when the counterpart is an approximation
    vae_from_graph: bool = False  # ours needs a VAE link that ComfyUI's node does without
    comfy_only: dict[str, Any] = field(default_factory=dict)  # ComfyUI inputs we lack: value on export
    file_input: tuple[str, str] | None = None  # (our input, ComfyUI folder) for a file ComfyUI names by folder
    after_import: AfterImport | None = None
    before_export: BeforeExport | None = None

    def widget(self, comfy_name: str) -> Widget | None:
        return next((widget for widget in self.widgets if widget.comfy == comfy_name), None)

    def ours_to_widget(self) -> dict[str, Widget]:
        return {widget.ours: widget for widget in self.widgets if widget.ours is not None}


SEED_CONTROL = Widget("control_after_generate", None)  # fixed / increment / randomize: the frontend's business
UPLOAD_BUTTON = Widget("upload", None)


def _enabled(value: Any, warn: Warn) -> Any:
    if value in ("enable", "disable"):
        return value == "enable"
    warn(f"expected 'enable' or 'disable', got {value!r}")
    return value


def _enable(value: Any, warn: Warn) -> str:
    return "enable" if value else "disable"


def _resize_to_ours(value: Any, warn: Warn) -> Any:
    if value in ("bilinear", "bicubic", "area"):
        return value
    if value == "nearest-exact":
        return "nearest"
    if value in ("bislerp", "lanczos"):
        warn(f"resize method {value!r} became 'bicubic' (we have nearest, bilinear, bicubic, area)")
        return "bicubic"
    warn(f"unknown resize method {value!r}")
    return value


def _resize_to_comfy(value: Any, warn: Warn) -> Any:
    return "nearest-exact" if value == "nearest" else value


def _last_layer_to_clip_skip(value: Any, warn: Warn) -> Any:
    # ComfyUI counts layers from the end (-1: the last, -2: the penultimate); clip_skip counts skipped ones.
    if isinstance(value, int) and value < 0:
        return -value - 1
    warn(f"expected a negative layer index (-1: the last layer), got {value!r}")
    return value


def _clip_skip_to_last_layer(value: Any, warn: Warn) -> Any:
    return -int(value) - 1


MAX_OVERLAP = 0.75  # our tiled VAE nodes' largest overlap fraction


def _overlap_to_fraction(inputs: dict[str, Any], warn: Warn) -> None:
    """ComfyUI's tile overlap is in pixels; ours is a fraction of the tile."""
    tile, overlap = inputs.get("tile_size"), inputs.get("overlap")
    if isinstance(tile, int) and tile > 0 and isinstance(overlap, (int, float)):
        fraction = overlap / tile
        if fraction > MAX_OVERLAP:
            warn(f"an overlap of {overlap} px on {tile} px tiles became {MAX_OVERLAP} of a tile (the most we take)")
        inputs["overlap"] = min(fraction, MAX_OVERLAP)


def _overlap_to_pixels(inputs: dict[str, Any]) -> None:
    tile, overlap = inputs.get("tile_size"), inputs.get("overlap")
    if isinstance(tile, int) and isinstance(overlap, (int, float)):
        inputs["overlap"] = round(overlap * tile)


# Video-only inputs of ComfyUI's tiled VAE nodes: images ignore them.
TEMPORAL = (Widget("temporal_size", None), Widget("temporal_overlap", None))
TILED = {"widgets": (Widget("tile_size", "tile_size"), Widget("overlap", "overlap"), *TEMPORAL),
         "comfy_only": {"temporal_size": 64, "temporal_overlap": 8},
         "after_import": _overlap_to_fraction, "before_export": _overlap_to_pixels}

SAMPLER = Widget("sampler_name", "sampler", sampler_to_ours, sampler_to_comfy)
SCHEDULER = Widget("scheduler", "scheduler", scheduler_to_ours, scheduler_to_comfy)
SAMPLER_LINKS = {"model": "model", "positive": "positive", "negative": "negative", "latent_image": "latent"}

MAPPINGS: tuple[NodeMapping, ...] = (
    NodeMapping("CheckpointLoaderSimple", "CheckpointLoader", {}, (Widget("ckpt_name", "checkpoint"),),
                ("model", "clip", "vae"),
                file_input=("checkpoint", "models/checkpoints")),
    NodeMapping("VAELoader", "VAELoader", {}, (Widget("vae_name", "vae"),), ("vae",),
                file_input=("vae", "models/vae")),
    NodeMapping("LoraLoader", "LoraLoader", {"model": "model", "clip": "clip"},
                (Widget("lora_name", "lora"), Widget("strength_model", "strength_model"),
                 Widget("strength_clip", "strength_clip")), ("model", "clip"),
                file_input=("lora", "models/loras")),
    NodeMapping("LoraLoaderModelOnly", "LoraLoaderModelOnly", {"model": "model"},
                (Widget("lora_name", "lora"), Widget("strength_model", "strength_model")), ("model",),
                file_input=("lora", "models/loras")),
    NodeMapping("CLIPSetLastLayer", "ClipSkip", {"clip": "clip"},
                (Widget("stop_at_clip_layer", "clip_skip", _last_layer_to_clip_skip, _clip_skip_to_last_layer),),
                ("clip",)),
    NodeMapping("CLIPTextEncode", "TextEncode", {"clip": "clip"}, (Widget("text", "text"),), ("conditioning",)),
    NodeMapping("CLIPTextEncodeSDXL", "TextEncodeSDXL", {"clip": "clip"},
                (Widget("width", "original_width"), Widget("height", "original_height"),
                 Widget("crop_w", "crop_left"), Widget("crop_h", "crop_top"),
                 Widget("target_width", "target_width"), Widget("target_height", "target_height"),
                 Widget("text_g", "text_2"), Widget("text_l", "text")), ("conditioning",)),
    NodeMapping("ConditioningConcat", "ConditioningCombine",
                {"conditioning_to": "first", "conditioning_from": "second"}, (), ("conditioning",)),
    NodeMapping("ConditioningCombine", "ConditioningCombine",
                {"conditioning_1": "first", "conditioning_2": "second"}, (), ("conditioning",),
                note="ComfyUI's ConditioningCombine averages two separate predictions; ours joins both "
                "prompts' tokens into one conditioning (ComfyUI's ConditioningConcat): similar, not identical"),
    NodeMapping("ConditioningZeroOut", "ConditioningZero", {"conditioning": "conditioning"}, (), ("conditioning",)),
    NodeMapping("KSampler", "KSampler", SAMPLER_LINKS,
                (Widget("seed", "seed"), SEED_CONTROL, Widget("steps", "steps"), Widget("cfg", "cfg"),
                 SAMPLER, SCHEDULER, Widget("denoise", "denoise")), ("latent",)),
    NodeMapping("KSamplerAdvanced", "KSamplerAdvanced", SAMPLER_LINKS,
                (Widget("add_noise", "add_noise", _enabled, _enable), Widget("noise_seed", "seed"), SEED_CONTROL,
                 Widget("steps", "steps"), Widget("cfg", "cfg"), SAMPLER, SCHEDULER,
                 Widget("start_at_step", "start_step"), Widget("end_at_step", "end_step"),
                 Widget("return_with_leftover_noise", "return_leftover_noise", _enabled, _enable)), ("latent",)),
    NodeMapping("EmptyLatentImage", "EmptyLatent", {},
                (Widget("width", "width"), Widget("height", "height"), Widget("batch_size", "batch")), ("latent",),
                vae_from_graph=True),
    NodeMapping("LatentUpscale", "LatentScale", {"samples": "latent"},
                (Widget("upscale_method", "method", _resize_to_ours, _resize_to_comfy), Widget("width", "width"),
                 Widget("height", "height"), Widget("crop", "crop")), ("latent",), vae_from_graph=True),
    NodeMapping("LatentUpscaleBy", "LatentUpscale", {"samples": "latent"},
                (Widget("upscale_method", "method", _resize_to_ours, _resize_to_comfy),
                 Widget("scale_by", "scale_by")), ("latent",)),
    NodeMapping("SetLatentNoiseMask", "SetLatentNoiseMask", {"samples": "latent", "mask": "mask"}, (), ("latent",)),
    NodeMapping("LatentFromBatch", "LatentFromBatch", {"samples": "latent"},
                (Widget("batch_index", "index"), Widget("length", "length")), ("latent",)),
    NodeMapping("LatentBatch", "LatentBatch", {"samples1": "first", "samples2": "second"}, (), ("latent",)),
    NodeMapping("VAEDecode", "VAEDecode", {"samples": "latent", "vae": "vae"}, (), ("image",)),
    NodeMapping("VAEEncode", "VAEEncode", {"pixels": "image", "vae": "vae"}, (), ("latent",)),
    NodeMapping("VAEDecodeTiled", "VAEDecodeTiled", {"samples": "latent", "vae": "vae"}, outputs=("image",),
                **TILED),  # type: ignore[arg-type]
    NodeMapping("VAEEncodeTiled", "VAEEncodeTiled", {"pixels": "image", "vae": "vae"}, outputs=("latent",),
                **TILED),  # type: ignore[arg-type]
    NodeMapping("VAEEncodeForInpaint", "InpaintEncode", {"pixels": "image", "vae": "vae", "mask": "mask"},
                (Widget("grow_mask_by", "grow_mask_by"),), ("latent",)),
    NodeMapping("LoadImage", "LoadImage", {}, (Widget("image", "image"), UPLOAD_BUTTON), ("image", "mask"),
                file_input=("image", "input")),
    NodeMapping("LoadImageMask", "LoadMask", {}, (Widget("image", "image"), Widget("channel", "channel"),
                                                  UPLOAD_BUTTON), ("mask",),
                file_input=("image", "input")),
    NodeMapping("SaveImage", "SaveImage", {"images": "images"}, (Widget("filename_prefix", "filename_prefix"),)),
    NodeMapping("PreviewImage", "PreviewImage", {"images": "images"}),
    NodeMapping("ImageScale", "ImageScale", {"image": "image"},
                (Widget("upscale_method", "method", _resize_to_ours, _resize_to_comfy), Widget("width", "width"),
                 Widget("height", "height"), Widget("crop", "crop")), ("image",)),
    NodeMapping("ImageCrop", "ImageCrop", {"image": "image"},
                (Widget("width", "width"), Widget("height", "height"), Widget("x", "x"), Widget("y", "y")),
                ("image",)),
    NodeMapping("ImageBatch", "ImageBatch", {"image1": "first", "image2": "second"}, (), ("image",)),
    NodeMapping("PrimitiveInt", "Int", {}, (Widget("value", "value"), SEED_CONTROL), ("value",)),
    NodeMapping("PrimitiveFloat", "Float", {}, (Widget("value", "value"),), ("value",)),
    NodeMapping("PrimitiveString", "String", {}, (Widget("value", "value"),), ("value",)),
    NodeMapping("PrimitiveStringMultiline", "String", {}, (Widget("value", "value"),), ("value",)),
)

BY_COMFY_TYPE: dict[str, NodeMapping] = {mapping.comfy: mapping for mapping in MAPPINGS}
# Export: the first mapping of each of our types is its ComfyUI counterpart.
BY_OUR_TYPE: dict[str, NodeMapping] = {mapping.ours: mapping for mapping in reversed(MAPPINGS) if not mapping.note}


def mapping_table_markdown() -> str:
    """The table of mapped nodes for nodes/comfyui/README.md (a test keeps the README in step)."""
    rows = ["| ComfyUI node | ours | inputs (ComfyUI -> ours) |", "|---|---|---|"]
    for mapping in MAPPINGS:
        pairs = [*mapping.links.items(), *((w.comfy, w.ours) for w in mapping.widgets if w.ours is not None)]
        renamed = ", ".join(f"{comfy} -> {ours}" if comfy != ours else comfy for comfy, ours in pairs) or "-"
        if mapping.vae_from_graph:
            renamed += "; vae: taken from the graph"
        rows.append(f"| {mapping.comfy} | {mapping.ours} | {renamed} |")
    return "\n".join(rows) + "\n"
