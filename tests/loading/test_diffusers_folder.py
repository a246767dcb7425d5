"""diffusers folders saved by diffusers itself (variants, shards, pickles) load into identical
tensors and give the same outputs; missing pieces are named."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path
from typing import Any

import pytest
import torch
from sd_checkpoint_fixtures import TinyModels, diffusers_pipeline, tiny_models

from nodes.loading import CheckpointError, StableDiffusionComponents, load_checkpoint


@pytest.fixture(scope="module")
def sd1(tmp_path_factory: pytest.TempPathFactory) -> tuple[TinyModels, Any, Path]:
    """A tiny SD 1.x pipeline saved as fp32 weights plus an fp16 variant."""
    models = tiny_models("sd1", vocab_size=49408)
    pipeline = diffusers_pipeline(models)
    folder = tmp_path_factory.mktemp("sd1_folder")
    pipeline.save_pretrained(folder)
    copy.deepcopy(pipeline).to(torch.float16).save_pretrained(folder, variant="fp16")
    return models, pipeline, folder


def assert_same_tensors(ours: torch.nn.Module, reference: torch.nn.Module, dtype: torch.dtype | None = None) -> None:
    ours_state, reference_state = ours.state_dict(), reference.state_dict()
    assert sorted(ours_state) == sorted(reference_state)
    for key, expected in reference_state.items():
        expected = expected.to(dtype) if dtype is not None and expected.is_floating_point() else expected
        assert torch.equal(ours_state[key], expected), key


def assert_same_components(loaded: StableDiffusionComponents, models: TinyModels, dtype: torch.dtype | None = None) -> None:
    assert_same_tensors(loaded.unet, models.unet, dtype)
    assert_same_tensors(loaded.vae, models.vae, dtype)
    for ours, reference in zip([loaded.text_encoder, loaded.text_encoder_2], models.text_encoders):
        assert ours is not None
        assert_same_tensors(ours, reference, dtype)


def test_folder_loads_identical_tensors_and_outputs(sd1: tuple[TinyModels, Any, Path]) -> None:
    models, pipeline, folder = sd1
    loaded = load_checkpoint(folder)
    assert (loaded.family, loaded.prediction_type) == ("sd1", "epsilon")
    assert_same_components(loaded, models)
    assert loaded.scheduler_config["_class_name"] == "PNDMScheduler"
    assert loaded.tokenizer.pad_token == "<|endoftext|>"

    prompt = "a photo of a cat"
    ids = loaded.tokenizer(prompt, padding="max_length", max_length=77, return_tensors="pt").input_ids
    assert torch.equal(ids, pipeline.tokenizer(prompt, padding="max_length", max_length=77, return_tensors="pt").input_ids)
    torch.manual_seed(0)
    latents, timestep = torch.randn(2, 4, 16, 16), 300
    with torch.no_grad():
        context = loaded.text_encoder(ids)[0].expand(2, -1, -1)
        torch.testing.assert_close(context[:1], pipeline.text_encoder(ids)[0], atol=0, rtol=0)
        torch.testing.assert_close(
            loaded.unet(latents, timestep, context), pipeline.unet(latents, timestep, context).sample, atol=1e-5, rtol=1e-5
        )
        torch.testing.assert_close(loaded.vae.decode(latents), pipeline.vae.decode(latents).sample, atol=1e-5, rtol=1e-5)


def test_fp16_variant(sd1: tuple[TinyModels, Any, Path]) -> None:
    models, _, folder = sd1
    loaded = load_checkpoint(folder, variant="fp16", dtype=torch.float16)
    assert_same_components(loaded, models, torch.float16)
    # The fp16 files converted once to fp32 at load: exactly the fp16 values, widened.
    widened = load_checkpoint(folder, variant="fp16", dtype=torch.float32)
    assert torch.equal(widened.unet.conv_in.weight, models.unet.conv_in.weight.half().float())


def test_sharded_weights(tmp_path: Path) -> None:
    models = tiny_models("sd2", vocab_size=49408)
    diffusers_pipeline(models, prediction_type="v_prediction").save_pretrained(tmp_path, max_shard_size="200KB")
    for index in ("unet/diffusion_pytorch_model.safetensors.index.json", "vae/diffusion_pytorch_model.safetensors.index.json",
                  "text_encoder/model.safetensors.index.json"):
        assert (tmp_path / index).is_file()
    loaded = load_checkpoint(tmp_path)
    assert (loaded.family, loaded.prediction_type) == ("sd2", "v_prediction")
    assert loaded.tokenizer.pad_token == "!"
    assert_same_components(loaded, models)


def test_sdxl_folder(tmp_path: Path) -> None:
    models = tiny_models("sdxl", vocab_size=49408)
    diffusers_pipeline(models).save_pretrained(tmp_path)
    loaded = load_checkpoint(tmp_path)
    assert loaded.family == "sdxl"
    assert type(loaded.text_encoder_2).__name__ == "CLIPTextModelWithProjection"
    assert loaded.tokenizer_2 is not None and loaded.tokenizer_2.pad_token == "!"
    assert_same_components(loaded, models)


def test_pickled_weights_are_refused_unless_allowed(tmp_path: Path) -> None:
    models = tiny_models("sd1", vocab_size=49408)
    diffusers_pipeline(models).save_pretrained(tmp_path, safe_serialization=False)
    assert (tmp_path / "unet" / "diffusion_pytorch_model.bin").is_file()
    with pytest.raises(CheckpointError, match=r"(?s)refusing to load .*diffusion_pytorch_model\.bin.*allow_pickle=True"):
        load_checkpoint(tmp_path)
    assert_same_components(load_checkpoint(tmp_path, allow_pickle=True), models)


@pytest.fixture
def sd1_copy(sd1: tuple[TinyModels, Any, Path], tmp_path: Path) -> Path:
    return Path(shutil.copytree(sd1[2], tmp_path / "copy"))


def test_missing_weights_are_named(sd1_copy: Path) -> None:
    (sd1_copy / "unet" / "diffusion_pytorch_model.safetensors").unlink()
    with pytest.raises(CheckpointError, match=r"no weights in .*unet: expected diffusion_pytorch_model\.safetensors"):
        load_checkpoint(sd1_copy)


def test_missing_variant_says_so(sd1_copy: Path) -> None:
    (sd1_copy / "vae" / "diffusion_pytorch_model.fp16.safetensors").unlink()
    with pytest.raises(CheckpointError, match=r"vae.*there is no 'fp16' variant"):
        load_checkpoint(sd1_copy, variant="fp16")


def test_missing_tokenizer_and_index_are_named(sd1_copy: Path) -> None:
    shutil.rmtree(sd1_copy / "tokenizer")
    with pytest.raises(CheckpointError, match=r"missing tokenizer files in .*tokenizer"):
        load_checkpoint(sd1_copy)
    (sd1_copy / "model_index.json").unlink()
    with pytest.raises(CheckpointError, match=r"missing file: .*model_index\.json"):
        load_checkpoint(sd1_copy)


def test_configs_are_for_single_files_only(sd1: tuple[TinyModels, Any, Path]) -> None:
    with pytest.raises(ValueError, match="single-file"):
        load_checkpoint(sd1[2], configs={"unet": {}})


def test_unknown_source_is_explained(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="not found: expected an existing .safetensors file, a diffusers folder"):
        load_checkpoint(tmp_path / "nothing-here.safetensors")
