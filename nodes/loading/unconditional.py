"""Loading an unconditional diffusion pipeline (DDPM-style: `model_index.json` listing a
UNet2DModel and a scheduler) from a diffusers folder or a Hub repository."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from nodes.loading.build import build_on_meta
from nodes.loading.diffusers_folder import (
    DIFFUSERS_WEIGHTS,
    SCHEDULER_CONFIG,
    component_class,
    read_json,
    read_model_folder,
    read_model_index,
)
from nodes.loading.errors import CheckpointError
from nodes.loading.sources import locate
from nodes.models import UNet2DModel


@dataclass
class UnconditionalComponents:
    unet: UNet2DModel
    scheduler_config: dict[str, Any]
    prediction_type: str


def load_unconditional_pipeline(
    source: str | Path,
    *,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str = "cpu",
    allow_pickle: bool = False,
    variant: str | None = None,
) -> UnconditionalComponents:
    """Load the UNet2DModel and scheduler config of an unconditional pipeline folder."""
    folder = locate(source, components=("unet", "scheduler"), variant=variant)
    if folder.is_file():
        raise CheckpointError(
            f"{folder}: an unconditional pipeline loads from a diffusers folder (model_index.json, unet/, scheduler/)"
        )
    index = read_model_index(folder)
    found = component_class(index, "unet", folder=folder)
    if found != "UNet2DModel":
        raise CheckpointError(f"{folder}: model_index.json must list unet as UNet2DModel, found {found}")
    config, state = read_model_folder(
        folder / "unet", DIFFUSERS_WEIGHTS, variant=variant, device=device, dtype=dtype, allow_pickle=allow_pickle
    )
    unet = build_on_meta(lambda: UNet2DModel.from_config(config), state, what=f"unet of {folder}")
    scheduler_config = read_json(folder / "scheduler" / SCHEDULER_CONFIG)
    return UnconditionalComponents(
        unet=unet,
        scheduler_config=scheduler_config,
        prediction_type=scheduler_config.get("prediction_type", "epsilon"),
    )
