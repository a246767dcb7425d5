"""Loading a standalone VAE: an original or diffusers-named single file, the VAE inside a full
single-file checkpoint, a diffusers VAE or pipeline folder, or a Hub repository of either."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from nodes.loading.build import build_on_meta, cast_floating
from nodes.loading.diffusers_folder import DIFFUSERS_WEIGHTS, MODEL_INDEX, read_model_folder
from nodes.loading.errors import CheckpointError
from nodes.loading.families import Family, shipped_configs
from nodes.loading.ldm_vae import VAE_PREFIXES, is_ldm_vae_layout, vae_tensor
from nodes.loading.sources import locate
from nodes.loading.tensor_files import TensorFile, open_tensor_file
from nodes.models import AutoencoderKL

# Top-level modules of an autoencoder; other entries (EMA, discriminator losses) are skipped.
_VAE_MODULES = ("encoder.", "decoder.", "quant_conv.", "post_quant_conv.")


def load_vae(
    source: str | Path,
    *,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str = "cpu",
    allow_pickle: bool = False,
    variant: str | None = None,
    family: Family = "sd1",
    config: Mapping[str, Any] | None = None,
) -> AutoencoderKL:
    """Load an AutoencoderKL.

    A single file uses `config`, or else the shipped VAE config of `family` (its
    scaling_factor: 0.18215 for "sd1"/"sd2", 0.13025 for "sdxl"); folders bring their own.
    """
    path = locate(source, components=("vae",), variant=variant)
    if path.is_file():
        vae_config = dict(config) if config is not None else shipped_configs(family)["vae"]
        file = open_tensor_file(path, device=device, allow_pickle=allow_pickle)
        try:
            state = vae_state_dict(file, len(vae_config["block_out_channels"]), dtype)
        except CheckpointError as error:
            raise CheckpointError(f"{path}: {error}") from error
        return build_on_meta(lambda: AutoencoderKL.from_config(vae_config), state, what=f"VAE of {path}")
    if config is not None:
        raise ValueError("config applies to single-file VAEs; a diffusers folder brings its own config.json")
    folder = path / "vae" if (path / MODEL_INDEX).is_file() else path
    folder_config, state = read_model_folder(
        folder, DIFFUSERS_WEIGHTS, variant=variant, device=device, dtype=dtype, allow_pickle=allow_pickle
    )
    return build_on_meta(lambda: AutoencoderKL.from_config(folder_config), state, what=f"VAE in {folder}")


def vae_state_dict(file: TensorFile, num_up_blocks: int, dtype: torch.dtype | None) -> dict[str, torch.Tensor]:
    """The diffusers-named VAE weights of a file, whichever naming and prefix it uses."""
    keys = file.keys()
    prefix = next((p for p in VAE_PREFIXES if any(key.startswith(p) for key in keys)), "")
    names = {key[len(prefix) :]: key for key in keys if key.startswith(prefix) and key[len(prefix) :].startswith(_VAE_MODULES)}
    if not names:
        raise CheckpointError("no VAE weights found (expected encoder.*, decoder.* names, optionally under first_stage_model.)")
    if not is_ldm_vae_layout(list(names)):
        return {name: cast_floating(file.tensor(key), dtype) for name, key in names.items()}
    return dict(vae_tensor(name, cast_floating(file.tensor(key), dtype), num_up_blocks) for name, key in names.items())
