"""Loader nodes: checkpoints, VAEs and unconditional models, kept loaded by the ModelManager.

A model is named by a bundled name ("tiny-shapes"), a local file or folder, or a Hub id. Weights
are kept in the model manager under a key naming the source, its files' sizes and times and the
dtype, so a changed file is a new model, and a loader that runs again (cache cleared or disabled)
reuses what the manager still holds instead of reading the disk.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, NamedTuple

import torch
from torch import nn

from graph_engine import Context, Description, FileHasher, Out, node
from nodes.loading import load_checkpoint, load_vae
from nodes.loading.build import build_on_meta
from nodes.loading.diffusers_folder import (
    DIFFUSERS_WEIGHTS,
    SCHEDULER_CONFIG,
    read_json,
    read_model_folder,
)
from nodes.loading.errors import CheckpointError
from nodes.loading.hub import is_repo_id
from nodes.loading.sources import locate
from nodes.model_manager import ManagedModel, ModelManager
from nodes.models import AutoencoderKL, UNet2DModel
from nodes.previews import fit_latent_preview
from nodes.schedulers import NoiseSchedule
from nodes.tiny_shapes import BUNDLED_NAMES, bundled_checkpoint
from nodes.types import (
    Clip,
    ClipHandle,
    Model,
    ModelHandle,
    UnconditionalModel,
    UnconditionalModelHandle,
    Vae,
    VaeHandle,
)

WeightDtype = Literal["auto", "float32", "float16", "bfloat16"]
_DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
_TEXT_ENCODERS = ("text_encoder", "text_encoder_2")

SourceInput = Annotated[
    str,
    Description("a bundled model name (tiny-shapes), a .safetensors file, a diffusers folder, or a Hub id owner/name"),
]
DtypeInput = Annotated[WeightDtype, Description("weight precision; auto: float16 on CUDA, float32 elsewhere")]


# ---- sources -----------------------------------------------------------------------------------


def resolve_source(name: str) -> str | Path:
    """The local path (or Hub id) a model name stands for."""
    if not name.strip():
        raise ValueError("no model given: expected a bundled name, a file, a folder or a Hub id")
    path = Path(name).expanduser()
    if path.exists():
        return path
    if name in BUNDLED_NAMES:
        return bundled_checkpoint(name)
    if is_repo_id(name):
        return name
    raise CheckpointError(
        f"model {name!r} not found: expected a bundled model ({', '.join(BUNDLED_NAMES)}), an existing file "
        "or folder, or a Hub repo id such as 'owner/name'"
    )


def source_signature(name: str) -> str:
    """Names the exact files behind a source: path plus each file's size and modification time.

    Cheap (no hashing of multi-gigabyte weights), and it changes whenever a file is replaced.
    """
    source = resolve_source(name)
    if isinstance(source, str):
        return f"hub:{source}"
    root = source.resolve()
    files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
    stats = [(str(p.relative_to(root)) if p != root else "", p.stat().st_size, p.stat().st_mtime_ns) for p in files]
    digest = hashlib.blake2b(json.dumps(stats).encode(), digest_size=12).hexdigest()
    return f"{root}:{digest}"


def source_fingerprint(input_name: str) -> Callable[[Mapping[str, Any], FileHasher], str | None]:
    """A node fingerprint: the loader re-runs when the files behind its source change."""

    def fingerprint(constants: Mapping[str, Any], files: FileHasher) -> str | None:
        name = constants.get(input_name)
        if not isinstance(name, str):
            return None
        try:
            return source_signature(name)
        except (CheckpointError, ValueError, OSError):
            return None  # the node itself reports the problem when it runs

    return fingerprint


def resolve_dtype(choice: WeightDtype, device: str) -> torch.dtype:
    if choice == "auto":
        return torch.float16 if torch.device(device).type == "cuda" else torch.float32
    if choice not in _DTYPES:
        raise ValueError(f"unknown weight_dtype {choice!r}; expected auto, float32, float16 or bfloat16")
    return _DTYPES[choice]


# ---- checkpoints -------------------------------------------------------------------------------


class CheckpointOutputs(NamedTuple):
    model: Annotated[Model, Description("the denoising UNet")]
    clip: Annotated[Clip, Description("the text encoder(s)")]
    vae: Annotated[Vae, Description("the autoencoder")]


def load_checkpoint_handles(manager: ModelManager, name: str, *, dtype: torch.dtype, device: str) -> CheckpointOutputs:
    """MODEL, CLIP and VAE handles of a checkpoint, loading it only if the manager lacks a part."""
    prefix = f"checkpoint:{source_signature(name)}:{str(dtype).removeprefix('torch.')}"
    entries = {part: manager.get(f"{prefix}:{part}") for part in ("unet", "vae", *_TEXT_ENCODERS)}
    needed = ("unet", "vae", "text_encoder")
    second_expected = entries["unet"] is not None and entries["unet"].info.get("dual", False)
    if any(entries[part] is None for part in needed) or (second_expected and entries["text_encoder_2"] is None):
        entries = _load_checkpoint_into(manager, prefix, resolve_source(name), dtype, device)
    return _handles(entries)


def _load_checkpoint_into(
    manager: ModelManager, prefix: str, source: str | Path, dtype: torch.dtype, device: str
) -> dict[str, ManagedModel | None]:
    components = load_checkpoint(source, dtype=dtype, device=device)

    def reload(part: str) -> Callable[[], nn.Module]:
        return lambda: getattr(load_checkpoint(source, dtype=dtype, device="cpu"), part)

    vae_config = components.vae.config
    downscale = vae_config.downscale
    scaling, shift = float(vae_config.scaling_factor), float(vae_config.shift_factor or 0.0)
    preview = fit_latent_preview(components.vae, scaling_factor=scaling, shift_factor=shift, downscale=downscale)
    unet_info = {
        "noise_schedule": NoiseSchedule.from_config(components.scheduler_config),
        "family": components.family,
        "preview": preview,
        "dual": components.text_encoder_2 is not None,
    }
    vae_info = {"scaling": scaling, "shift": shift, "downscale": downscale, "channels": vae_config.latent_channels}
    entries: dict[str, ManagedModel | None] = {
        "unet": manager.add(f"{prefix}:unet", components.unet, reload("unet"), unet_info),
        "vae": manager.add(f"{prefix}:vae", components.vae, reload("vae"), vae_info),
        "text_encoder": manager.add(
            f"{prefix}:text_encoder",
            components.text_encoder,
            reload("text_encoder"),
            {"tokenizer": components.tokenizer},
        ),
        "text_encoder_2": None,
    }
    if components.text_encoder_2 is not None:
        entries["text_encoder_2"] = manager.add(
            f"{prefix}:text_encoder_2",
            components.text_encoder_2,
            reload("text_encoder_2"),
            {"tokenizer": components.tokenizer_2},
        )
    return entries


def _handles(entries: Mapping[str, ManagedModel | None]) -> CheckpointOutputs:
    unet, vae, first, second = (entries[part] for part in ("unet", "vae", *_TEXT_ENCODERS))
    assert unet is not None and vae is not None and first is not None
    model = ModelHandle(
        unet=unet,
        noise_schedule=unet.info["noise_schedule"],
        family=unet.info["family"],
        preview=unet.info["preview"],
    )
    clip = ClipHandle(
        tokenizer=first.info["tokenizer"],
        text_encoder=first,
        tokenizer_2=second.info["tokenizer"] if second is not None else None,
        text_encoder_2=second,
    )
    return CheckpointOutputs(model, clip, _vae_handle(vae))


def _vae_handle(entry: ManagedModel) -> VaeHandle:
    info = entry.info
    return VaeHandle(
        vae=entry,
        scaling_factor=info["scaling"],
        shift_factor=info["shift"],
        downscale=info["downscale"],
        latent_channels=info["channels"],
    )


@node(category="loaders", fingerprint=source_fingerprint("checkpoint"))
def CheckpointLoader(
    ctx: Context, checkpoint: SourceInput = "tiny-shapes", weight_dtype: DtypeInput = "auto"
) -> CheckpointOutputs:
    """Load a Stable Diffusion checkpoint (1.x, 2.x or XL): its UNet, text encoder(s) and VAE."""
    return load_checkpoint_handles(
        ctx.resource(ModelManager), checkpoint, dtype=resolve_dtype(weight_dtype, ctx.device), device=ctx.device
    )


# ---- standalone VAEs and unconditional models ---------------------------------------------------


def _model_folder(source: str | Path, component: str) -> Path:
    """The folder holding one model's config.json: the source itself or its `component` sub-folder."""
    path = locate(source, components=(component,))
    if path.is_file():
        raise CheckpointError(
            f"{path} is a single file; this loader reads diffusers folders (config.json + weights), "
            f"or a pipeline folder with a {component}/ sub-folder"
        )
    return path if (path / "config.json").is_file() else path / component


def _load_vae(source: str | Path, dtype: torch.dtype, device: str) -> AutoencoderKL:
    # Single files get SD's VAE config; diffusers folders (or a pipeline's vae/) bring their own.
    return load_vae(source, dtype=dtype, device=device)


@node(category="loaders", fingerprint=source_fingerprint("vae"))
def VAELoader(ctx: Context, vae: SourceInput = "tiny-shapes", weight_dtype: DtypeInput = "auto") -> Vae:
    """Load a VAE on its own (an original single .safetensors file, a VAE folder, or the vae/ of a
    pipeline folder), e.g. to swap a checkpoint's."""
    dtype = resolve_dtype(weight_dtype, ctx.device)
    source = resolve_source(vae)
    key = f"vae:{source_signature(vae)}:{str(dtype).removeprefix('torch.')}"

    def load() -> nn.Module:
        return _load_vae(source, dtype, "cpu")

    entry = ctx.resource(ModelManager).get(key)
    if entry is None:
        module = _load_vae(source, dtype, ctx.device)
        config = module.config
        info = {
            "scaling": float(config.scaling_factor),
            "shift": float(config.shift_factor or 0.0),
            "downscale": config.downscale,
            "channels": config.latent_channels,
        }
        entry = ctx.resource(ModelManager).add(key, module, load, info)
    return _vae_handle(entry)


def _load_unconditional(source: str | Path, dtype: torch.dtype, device: str) -> tuple[UNet2DModel, dict[str, Any]]:
    root = locate(source, components=("unet", "scheduler"))
    folder = _model_folder(root, "unet")
    config, state = read_model_folder(folder, DIFFUSERS_WEIGHTS, device=device, dtype=dtype)
    unet = build_on_meta(lambda: UNet2DModel.from_config(config), state, what=f"UNet2DModel in {folder}")
    return unet, read_json(root / "scheduler" / SCHEDULER_CONFIG)


def _sample_size(unet: UNet2DModel) -> tuple[int, int]:
    size = unet.config.sample_size
    if size is None:
        raise CheckpointError("the UNet2DModel config has no sample_size, so the image size is unknown")
    return (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))


@node(category="loaders", fingerprint=source_fingerprint("checkpoint"))
def UnconditionalLoader(
    ctx: Context, checkpoint: SourceInput = "tiny-shapes-ddpm", weight_dtype: DtypeInput = "auto"
) -> Annotated[UnconditionalModel, Out("model")]:
    """Load an unconditional pixel-space model (a DDPM pipeline folder: unet/ with a UNet2DModel, scheduler/)."""
    dtype = resolve_dtype(weight_dtype, ctx.device)
    source = resolve_source(checkpoint)
    key = f"unconditional:{source_signature(checkpoint)}:{str(dtype).removeprefix('torch.')}"
    manager = ctx.resource(ModelManager)
    entry = manager.get(key)
    if entry is None:
        unet, scheduler_config = _load_unconditional(source, dtype, ctx.device)
        info = {
            "noise_schedule": NoiseSchedule.from_config(scheduler_config),
            "size": _sample_size(unet),
            "channels": unet.config.in_channels,
        }
        entry = manager.add(key, unet, lambda: _load_unconditional(source, dtype, "cpu")[0], info)
    return UnconditionalModelHandle(
        unet=entry,
        noise_schedule=entry.info["noise_schedule"],
        size=entry.info["size"],
        channels=entry.info["channels"],
    )
