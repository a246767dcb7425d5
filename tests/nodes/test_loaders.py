"""Loader nodes: handles over model-manager entries, reuse without reloading, reload when the files
change, weight dtypes, standalone VAE and unconditional models, clear errors."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import torch

from graph_engine import Executor
from nodes.definitions.loaders import resolve_dtype, resolve_source
from nodes.model_manager import ModelManager
from nodes.schedulers import NoiseSchedule
from nodes.types import ClipHandle, ModelHandle, UnconditionalModelHandle, VaeHandle


def load(run, checkpoint: Path | str, **inputs: object) -> dict:
    nodes = {"load": ("CheckpointLoader", {"checkpoint": str(checkpoint), **inputs})}
    return run(nodes, {"model": "load.model", "clip": "load.clip", "vae": "load.vae"}).outputs


def test_checkpoint_loader_outputs(run, checkpoint: Path) -> None:
    outputs = load(run, checkpoint)
    model, clip, vae = outputs["model"], outputs["clip"], outputs["vae"]
    assert isinstance(model, ModelHandle) and isinstance(clip, ClipHandle) and isinstance(vae, VaeHandle)
    assert model.family == "sd1" and model.patches == ()
    assert model.noise_schedule == NoiseSchedule(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                                                 steps_offset=1, set_alpha_to_one=False)  # fmt: skip
    assert model.unet.use("cpu").dtype == torch.float32
    assert not clip.is_dual and clip.tokenizer("a red circle").input_ids[0] == 49406
    assert (vae.scaling_factor, vae.shift_factor, vae.downscale, vae.latent_channels) == (0.5, 0.0, 4, 4)
    assert model.preview is not None and len(model.preview.factors) == 4


def test_rerun_without_the_result_cache_reuses_loaded_weights(run, executor: Executor, checkpoint: Path) -> None:
    first = load(run, checkpoint)
    manager = executor.resources.get(ModelManager)
    loads = manager.loads
    executor.cache.enabled = False
    try:
        again = load(run, checkpoint)
    finally:
        executor.cache.enabled = True
    assert manager.loads == loads
    assert again["model"].unet is first["model"].unet and again["vae"].vae is first["vae"].vae


def test_changed_files_load_again(run, executor: Executor, checkpoint: Path, tmp_path: Path) -> None:
    copy = shutil.copytree(checkpoint, tmp_path / "copy")
    before = load(run, copy)["model"]
    weights = copy / "unet" / "diffusion_pytorch_model.safetensors"
    stat = weights.stat()
    os.utime(weights, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    after = load(run, copy)
    assert after["model"].unet is not before.unet  # a new manager entry, read from disk
    assert torch.equal(after["model"].unet.use("cpu").conv_in.weight, before.unet.use("cpu").conv_in.weight)


@pytest.mark.parametrize("choice, dtype", [("float16", torch.float16), ("bfloat16", torch.bfloat16)])
def test_weight_dtype(run, checkpoint: Path, choice: str, dtype: torch.dtype) -> None:
    outputs = load(run, checkpoint, weight_dtype=choice)
    assert outputs["model"].unet.use("cpu").dtype == dtype
    assert next(outputs["clip"].text_encoder.use("cpu").parameters()).dtype == dtype
    assert outputs["vae"].vae.use("cpu").dtype == dtype


def test_auto_dtype_is_half_precision_on_cuda_only() -> None:
    assert resolve_dtype("auto", "cpu") == torch.float32
    assert resolve_dtype("auto", "cuda:0") == torch.float16
    with pytest.raises(ValueError, match="expected auto, float32, float16 or bfloat16"):
        resolve_dtype("float8", "cpu")  # type: ignore[arg-type]


def test_vae_loader_reads_a_pipeline_folder_or_a_vae_folder(run, checkpoint: Path) -> None:
    nodes = {
        "whole": ("VAELoader", {"vae": str(checkpoint)}),
        "folder": ("VAELoader", {"vae": str(checkpoint / "vae")}),
        "ckpt": ("CheckpointLoader", {"checkpoint": str(checkpoint)}),
    }
    outputs = run(nodes, {"whole": "whole.vae", "folder": "folder.vae", "ckpt": "ckpt.vae"}).outputs
    reference = outputs["ckpt"].vae.use("cpu").decoder.conv_out.weight
    for name in ("whole", "folder"):
        assert outputs[name].scaling_factor == 0.5 and outputs[name].downscale == 4
        assert torch.equal(outputs[name].vae.use("cpu").decoder.conv_out.weight, reference)


def test_unconditional_loader(run, ddpm_checkpoint: Path) -> None:
    nodes = {"load": ("UnconditionalLoader", {"checkpoint": str(ddpm_checkpoint)})}
    model = run(nodes, {"model": "load.model"}).outputs["model"]
    assert isinstance(model, UnconditionalModelHandle)
    assert (model.size, model.channels) == ((16, 16), 3)
    assert model.noise_schedule.beta_schedule == "linear" and model.noise_schedule.clip_sample


def test_missing_sources_fail_with_a_clear_message(run, tmp_path: Path) -> None:
    missing = tmp_path / "nothing.safetensors"
    nodes = {"load": ("CheckpointLoader", {"checkpoint": str(missing)})}
    result = run(nodes, {"model": "load.model"}, expect_ok=False)
    assert result.status == "failed"
    assert "not found" in result.failures["load"].message and str(missing) in result.failures["load"].message
    with pytest.raises(ValueError, match="no model given"):
        resolve_source("  ")
    (tmp_path / "single.safetensors").write_bytes(b"")
    result = run(
        {"vae": ("VAELoader", {"vae": str(tmp_path / "single.safetensors")})}, {"vae": "vae.vae"}, expect_ok=False
    )
    # Single-file VAEs go through nodes.loading.load_vae (tested there); a broken one is named clearly.
    assert "single.safetensors" in result.failures["vae"].message
