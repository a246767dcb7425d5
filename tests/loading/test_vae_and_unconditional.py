"""Standalone VAEs (original or diffusers names, single file or folder) and unconditional
UNet2DModel pipelines load into tensors identical to diffusers'."""

from __future__ import annotations

from pathlib import Path

import pytest
import safetensors.torch
import torch
from diffusers import AutoencoderKL as DiffusersVAE
from diffusers import DDPMPipeline, DDPMScheduler
from diffusers import UNet2DModel as DiffusersUNet2D
from sd_checkpoint_fixtures import VAE_CONFIG, diffusers_pipeline, tiny_models, to_original_checkpoint, vae_to_ldm

from nodes.loading import CheckpointError, load_checkpoint, load_unconditional_pipeline, load_vae


@pytest.fixture(scope="module")
def vae() -> DiffusersVAE:
    torch.manual_seed(0)
    return DiffusersVAE(**VAE_CONFIG).eval()


def assert_same_tensors(ours: torch.nn.Module, reference: torch.nn.Module) -> None:
    ours_state, reference_state = ours.state_dict(), reference.state_dict()
    assert sorted(ours_state) == sorted(reference_state)
    assert [key for key in reference_state if not torch.equal(ours_state[key], reference_state[key])] == []


def test_original_vae_file_without_prefix(vae: DiffusersVAE, tmp_path: Path) -> None:
    # Standalone releases such as vae-ft-mse-840000-ema-pruned.safetensors: LDM names, no prefix.
    original = {k.removeprefix("first_stage_model."): v for k, v in vae_to_ldm(vae.state_dict(), VAE_CONFIG).items()}
    path = tmp_path / "vae-ft.safetensors"
    safetensors.torch.save_file(original, path)
    loaded = load_vae(path, config=VAE_CONFIG)
    assert_same_tensors(loaded, vae)
    latents = torch.randn(1, 4, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(loaded.decode(latents), vae.decode(latents).sample, atol=1e-5, rtol=1e-5)


def test_diffusers_named_vae_file(vae: DiffusersVAE, tmp_path: Path) -> None:
    path = tmp_path / "diffusion_pytorch_model.safetensors"
    safetensors.torch.save_file(vae.state_dict(), path)
    assert_same_tensors(load_vae(path, config=VAE_CONFIG), vae)


def test_vae_of_a_full_single_file_checkpoint(tmp_path: Path) -> None:
    models = tiny_models("sdxl")
    path = tmp_path / "sdxl.safetensors"
    safetensors.torch.save_file(to_original_checkpoint(models), path)
    assert_same_tensors(load_vae(path, config=VAE_CONFIG), models.vae)


def test_vae_folder_and_pipeline_folder(vae: DiffusersVAE, tmp_path: Path) -> None:
    vae.save_pretrained(tmp_path / "vae_only")
    assert_same_tensors(load_vae(tmp_path / "vae_only"), vae)
    models = tiny_models("sd1", vocab_size=49408)
    diffusers_pipeline(models).save_pretrained(tmp_path / "pipeline")
    assert_same_tensors(load_vae(tmp_path / "pipeline"), models.vae)


def test_single_file_vae_defaults_to_the_shipped_full_size_config(vae: DiffusersVAE, tmp_path: Path) -> None:
    path = tmp_path / "tiny_vae.safetensors"
    safetensors.torch.save_file(vae.state_dict(), path)
    with pytest.raises(CheckpointError, match=r"VAE of .*tiny_vae\.safetensors: the weights do not match the model config"):
        load_vae(path)


def test_file_without_vae_weights(tmp_path: Path) -> None:
    path = tmp_path / "other.safetensors"
    safetensors.torch.save_file({"model.diffusion_model.out.2.weight": torch.zeros(1)}, path)
    with pytest.raises(CheckpointError, match="no VAE weights found"):
        load_vae(path, config=VAE_CONFIG)


@pytest.fixture(scope="module")
def ddpm_folder(tmp_path_factory: pytest.TempPathFactory) -> tuple[DiffusersUNet2D, Path]:
    torch.manual_seed(0)
    unet = DiffusersUNet2D(
        sample_size=16,
        block_out_channels=(16, 32),
        layers_per_block=1,
        norm_num_groups=8,
        down_block_types=("DownBlock2D", "AttnDownBlock2D"),
        up_block_types=("AttnUpBlock2D", "UpBlock2D"),
    ).eval()
    folder = tmp_path_factory.mktemp("ddpm")
    DDPMPipeline(unet=unet, scheduler=DDPMScheduler(num_train_timesteps=1000, prediction_type="sample")).save_pretrained(folder)
    return unet, folder


def test_unconditional_pipeline(ddpm_folder: tuple[DiffusersUNet2D, Path]) -> None:
    unet, folder = ddpm_folder
    loaded = load_unconditional_pipeline(folder)
    assert_same_tensors(loaded.unet, unet)
    assert loaded.scheduler_config["_class_name"] == "DDPMScheduler"
    assert loaded.prediction_type == "sample"
    sample = torch.randn(2, 3, 16, 16)
    with torch.no_grad():
        torch.testing.assert_close(loaded.unet(sample, 10), unet(sample, 10).sample, atol=1e-5, rtol=1e-5)


def test_wrong_pipeline_kind_is_named(ddpm_folder: tuple[DiffusersUNet2D, Path]) -> None:
    with pytest.raises(CheckpointError, match="model_index.json must list unet as UNet2DConditionModel, found UNet2DModel"):
        load_checkpoint(ddpm_folder[1])
