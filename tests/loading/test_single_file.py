"""Original single-file checkpoints (SD 1.x, SD 2.x, SDXL) load into tensors identical to diffusers'."""

from __future__ import annotations

from pathlib import Path

import pytest
import safetensors.torch
import torch
from sd_checkpoint_fixtures import TinyModels, tiny_models, to_original_checkpoint, unet_to_ldm, vae_to_ldm

from nodes.loading import CheckpointError, StableDiffusionComponents, load_checkpoint
from nodes.loading.families import shipped_configs
from nodes.loading.ldm_unet import UNET_PREFIX, unet_key
from nodes.loading.ldm_vae import vae_tensor

FAMILIES = ("sd1", "sd2", "sdxl")


@pytest.fixture(scope="module", params=FAMILIES)
def exported(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[TinyModels, Path]:
    models = tiny_models(request.param)
    path = tmp_path_factory.mktemp(request.param) / "model.safetensors"
    safetensors.torch.save_file(to_original_checkpoint(models), path)
    return models, path


@pytest.fixture(scope="module")
def loaded(exported: tuple[TinyModels, Path]) -> StableDiffusionComponents:
    models, path = exported
    return load_checkpoint(path, configs=models.configs)


def assert_same_tensors(ours: torch.nn.Module, reference: torch.nn.Module) -> None:
    ours_state, reference_state = ours.state_dict(), reference.state_dict()
    assert sorted(ours_state) == sorted(reference_state)
    different = [key for key in reference_state if not torch.equal(ours_state[key], reference_state[key])]
    assert different == []


def test_single_file_loads_identical_tensors(
    exported: tuple[TinyModels, Path], loaded: StableDiffusionComponents
) -> None:
    models, _ = exported
    assert loaded.family == models.family
    assert_same_tensors(loaded.unet, models.unet)
    assert_same_tensors(loaded.vae, models.vae)
    encoders = [loaded.text_encoder, loaded.text_encoder_2][: len(models.text_encoders)]
    for ours, reference in zip(encoders, models.text_encoders):
        assert type(ours) is type(reference)
        assert_same_tensors(ours, reference)
    assert (loaded.text_encoder_2 is None) == (models.family != "sdxl")
    expected_prediction = "v_prediction" if models.family == "sd2" else "epsilon"
    assert loaded.prediction_type == expected_prediction == loaded.scheduler_config["prediction_type"]


def test_single_file_unet_output_matches_diffusers(
    exported: tuple[TinyModels, Path], loaded: StableDiffusionComponents
) -> None:
    models, _ = exported
    torch.manual_seed(1)
    sample = torch.randn(2, 4, 16, 16)
    context = torch.randn(2, 77, models.unet.config.cross_attention_dim)
    extra = {}
    if models.family == "sdxl":
        extra = {"added_cond_kwargs": {"text_embeds": torch.randn(2, 32), "time_ids": torch.randn(2, 6)}}
    with torch.no_grad():
        expected = models.unet(sample, 500, context, **extra).sample
        actual = loaded.unet(sample, 500, context, **extra)
    torch.testing.assert_close(actual, expected, atol=1e-5, rtol=1e-5)


def test_shipped_tokenizers_pad_like_the_originals(
    exported: tuple[TinyModels, Path], loaded: StableDiffusionComponents
) -> None:
    models, _ = exported
    # SD 1.x's OpenAI tokenizer pads with <|endoftext|>; OpenCLIP (SD 2.x, SDXL's second) with "!".
    assert loaded.tokenizer.pad_token == ("!" if models.family == "sd2" else "<|endoftext|>")
    if models.family == "sdxl":
        assert loaded.tokenizer_2 is not None and loaded.tokenizer_2.pad_token == "!"
    assert loaded.tokenizer("a photo of a cat").input_ids == [49406, 320, 1125, 539, 320, 2368, 49407]


@pytest.fixture(scope="module")
def sd2_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[TinyModels, Path]:
    models = tiny_models("sd2")
    path = tmp_path_factory.mktemp("sd2_single") / "model.safetensors"
    safetensors.torch.save_file(to_original_checkpoint(models), path)
    return models, path


def test_prediction_type_can_be_overridden(sd2_file: tuple[TinyModels, Path]) -> None:
    models, path = sd2_file
    overridden = load_checkpoint(path, configs=models.configs, prediction_type="epsilon")
    assert overridden.prediction_type == "epsilon" == overridden.scheduler_config["prediction_type"]
    with pytest.raises(ValueError, match="prediction_type 'eps'"):
        load_checkpoint(path, configs=models.configs, prediction_type="eps")  # type: ignore[arg-type]


def test_dtype_is_applied_at_load(sd2_file: tuple[TinyModels, Path]) -> None:
    models, path = sd2_file
    loaded = load_checkpoint(path, configs=models.configs, dtype=torch.bfloat16)
    for module in (loaded.unet, loaded.vae, loaded.text_encoder):
        assert {p.dtype for p in module.parameters()} == {torch.bfloat16}
    reference = models.unet.state_dict()["conv_in.weight"].to(torch.bfloat16)
    assert torch.equal(loaded.unet.state_dict()["conv_in.weight"], reference)


@pytest.mark.parametrize("family", FAMILIES)
def test_shipped_configs_describe_the_full_size_models(family: str) -> None:
    """Parameter counts of the released models, built on the meta device from the shipped configs."""
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    from nodes.models import AutoencoderKL, UNet2DConditionModel

    configs = shipped_configs(family)  # type: ignore[arg-type]
    expected = {
        "sd1": (859_520_964, 83_653_863, 123_060_480),
        "sd2": (865_910_724, 83_653_863, 340_387_840),
        "sdxl": (2_567_463_684, 83_653_863, 123_060_480, 694_659_840),
    }[family]
    with torch.device("meta"):
        modules = [
            UNet2DConditionModel.from_config(configs["unet"]),
            AutoencoderKL.from_config(configs["vae"]),
            CLIPTextModel(CLIPTextConfig.from_dict(configs["text_encoder"])),
        ]
        if "text_encoder_2" in configs:
            modules.append(CLIPTextModelWithProjection(CLIPTextConfig.from_dict(configs["text_encoder_2"])))
    assert tuple(sum(p.numel() for p in module.parameters()) for module in modules) == expected


@pytest.mark.parametrize("family", FAMILIES)
def test_full_size_names_round_trip(family: str) -> None:
    """Every parameter name of the full-size UNet and VAE maps back from its LDM name."""
    from diffusers import AutoencoderKL as DiffusersVAE
    from diffusers import UNet2DConditionModel as DiffusersUNet

    configs = shipped_configs(family)  # type: ignore[arg-type]
    with torch.device("meta"):
        unet = DiffusersUNet.from_config(configs["unet"])
        vae = DiffusersVAE.from_config(configs["vae"])
    ldm_unet = unet_to_ldm(unet.state_dict(), configs["unet"])
    back = {unet_key(key.removeprefix(UNET_PREFIX), configs["unet"]["layers_per_block"]) for key in ldm_unet}
    assert back == set(unet.state_dict())
    ldm_vae = vae_to_ldm(vae.state_dict(), configs["vae"])
    levels = len(configs["vae"]["block_out_channels"])
    converted = dict(vae_tensor(key.removeprefix("first_stage_model."), value, levels) for key, value in ldm_vae.items())
    assert set(converted) == set(vae.state_dict())
    assert all(converted[key].shape == value.shape for key, value in vae.state_dict().items())


def test_family_is_detected_from_unet_width_when_there_is_no_text_encoder(tmp_path: Path) -> None:
    models = tiny_models("sd1")
    checkpoint = {k: v for k, v in to_original_checkpoint(models).items() if not k.startswith("cond_stage_model.")}
    probe = UNET_PREFIX + "input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight"
    checkpoint[probe] = torch.zeros(checkpoint[probe].shape[0], 1024)  # SD 2.x's OpenCLIP width
    path = tmp_path / "unet_only.safetensors"
    safetensors.torch.save_file(checkpoint, path)
    with pytest.raises(CheckpointError, match="no text encoder weights"):
        load_checkpoint(path, configs=models.configs)
    from nodes.loading.families import detect_family

    assert detect_family(list(checkpoint), lambda key: tuple(checkpoint[key].shape)) == "sd2"


def test_inpainting_input_channels_come_from_the_weights(tmp_path: Path) -> None:
    models = tiny_models("sd1")
    checkpoint = to_original_checkpoint(models)
    conv_in = UNET_PREFIX + "input_blocks.0.0.weight"
    checkpoint[conv_in] = torch.randn(checkpoint[conv_in].shape[0], 9, 3, 3)
    path = tmp_path / "inpaint.safetensors"
    safetensors.torch.save_file(checkpoint, path)
    loaded = load_checkpoint(path, configs=models.configs)
    assert loaded.unet.config.in_channels == 9
    assert torch.equal(loaded.unet.conv_in.weight, checkpoint[conv_in])


def test_mismatched_config_names_the_problem(sd2_file: tuple[TinyModels, Path]) -> None:
    models, path = sd2_file
    configs = models.configs
    configs["vae"] = {**configs["vae"], "layers_per_block": 2}
    with pytest.raises(CheckpointError, match=r"VAE of .*model\.safetensors.*missing: .*resnets\.2"):
        load_checkpoint(path, configs=configs)


def test_not_a_stable_diffusion_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "vae.safetensors"
    safetensors.torch.save_file({"encoder.conv_in.weight": torch.zeros(1)}, path)
    with pytest.raises(CheckpointError, match="load_vae"):
        load_checkpoint(path)
