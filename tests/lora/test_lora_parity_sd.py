"""Our LoRA patches against diffusers' load_lora_weights + fuse_lora on a tiny SD 1.x UNet and CLIP."""

import copy
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from lora_helpers import (
    SD_UNET,
    TEXT_TARGETS,
    UNET_TARGETS,
    DiffusersSD,
    diffusers_unet,
    kohya_state_dict,
    lora_config,
    max_difference,
    old_diffusers_state_dict,
    our_unet,
    random_lora,
    save,
    save_diffusers_format,
    text_encoder,
)

from nodes.lora import compute_lora_patches, load_lora, weight_patches

TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def models() -> SimpleNamespace:
    reference = diffusers_unet(SD_UNET, seed=0)
    torch.manual_seed(1)
    return SimpleNamespace(
        reference_unet=reference,
        reference_text=text_encoder(24, seed=2),
        unet=our_unet(reference, SD_UNET),
        text=text_encoder(24, seed=2),  # the text encoding nodes run transformers' CLIPTextModel itself
        sample=torch.randn(2, 4, 8, 8),
        context=torch.randn(2, 5, 24),
        tokens=torch.tensor([[0, 17, 33, 2, 1], [0, 5, 2, 1, 1]]),
    )


@pytest.fixture(scope="module")
def adapters(models: SimpleNamespace) -> SimpleNamespace:
    """Two random LoRAs with different targets, ranks and alphas (incl. per-module rank/alpha patterns)."""
    unet_a = lora_config(4, 8, UNET_TARGETS, rank_pattern={"conv1": 2}, alpha_pattern={"to_k": 3})
    text_a = lora_config(2, 5, TEXT_TARGETS)
    unet_b = lora_config(2, 1, ["to_q", "to_v", "conv2", "proj_out"])
    # With out_proj: diffusers only converts kohya's text-encoder attention keys when out_proj is among them.
    text_b = lora_config(3, 3, ["q_proj", "out_proj", "fc2"])
    return SimpleNamespace(
        unet_a=random_lora(models.reference_unet, unet_a, seed=10),
        text_a=random_lora(models.reference_text, text_a, seed=11),
        unet_b=random_lora(models.reference_unet, unet_b, seed=12),
        text_b=random_lora(models.reference_text, text_b, seed=13),
        configs=(unet_a, text_a, unet_b, text_b),
    )


def write(fmt: str, unet: dict, text: dict, unet_config, text_config, directory: Path) -> Path:
    path = directory / f"{fmt}.safetensors"
    if fmt == "peft":
        return save_diffusers_format(path, unet, text, unet_config, text_config)
    if fmt == "peft_without_metadata":
        return save_diffusers_format(path, unet, text, None, None)
    if fmt == "kohya":
        return save(path, kohya_state_dict({"lora_unet_": unet, "lora_te_": text}, alpha=3.0))
    if fmt == "diffusers_old":
        return save(path, old_diffusers_state_dict(unet, text))
    raise AssertionError(fmt)


def outputs(models: SimpleNamespace, unet: torch.nn.Module, text: torch.nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
    with torch.no_grad():
        noise = unet(models.sample, 10, models.context)
        hidden = text(models.tokens).last_hidden_state
    return getattr(noise, "sample", noise), hidden


@pytest.mark.parametrize("fmt", ["peft", "peft_without_metadata", "kohya", "diffusers_old"])
def test_patched_outputs_match_diffusers_fused_lora(models, adapters, fmt, tmp_path):
    unet_config, text_config = adapters.configs[:2]
    path = write(fmt, adapters.unet_a, adapters.text_a, unet_config, text_config, tmp_path)
    strength_model, strength_clip = 0.7, 1.3

    oracle = DiffusersSD(copy.deepcopy(models.reference_unet), copy.deepcopy(models.reference_text))
    oracle.load_lora_weights(str(path))
    oracle.fuse_lora(components=["unet"], lora_scale=strength_model)
    oracle.fuse_lora(components=["text_encoder"], lora_scale=strength_clip)
    expected_noise, expected_hidden = outputs(models, oracle.unet, oracle.text_encoder)

    result = compute_lora_patches(
        load_lora(path),
        {"unet": models.unet, "text_encoder": models.text},
        {"unet": strength_model, "text_encoder": strength_clip},
    )
    assert result.report() is None
    assert len(result.for_component("unet")) == len(adapters.unet_a) // 2
    assert len(result.for_component("text_encoder")) == len(adapters.text_a) // 2
    plain_noise, plain_hidden = outputs(models, models.unet, models.text)
    with weight_patches(models.unet, result.for_component("unet")), weight_patches(models.text, result.for_component("text_encoder")):
        noise, hidden = outputs(models, models.unet, models.text)

    assert max_difference(noise, expected_noise) < TOLERANCE
    assert max_difference(hidden, expected_hidden) < TOLERANCE
    # The LoRA really changes both models, so the comparison above is not between two unpatched runs.
    assert max_difference(noise, plain_noise) > 100 * TOLERANCE
    assert max_difference(hidden, plain_hidden) > 100 * TOLERANCE


def test_stacked_loras_match_diffusers_adapter_weights(models, adapters, tmp_path):
    unet_a, text_a, _, _ = adapters.configs
    first = write("peft", adapters.unet_a, adapters.text_a, unet_a, text_a, tmp_path)
    second = write("kohya", adapters.unet_b, adapters.text_b, None, None, tmp_path)
    strengths = [{"unet": 0.6, "text_encoder": 1.0}, {"unet": -0.4, "text_encoder": 0.5}]

    oracle = DiffusersSD(copy.deepcopy(models.reference_unet), copy.deepcopy(models.reference_text))
    oracle.load_lora_weights(str(first), adapter_name="first")
    oracle.load_lora_weights(str(second), adapter_name="second")
    oracle.set_adapters(["first", "second"], adapter_weights=strengths)
    oracle.fuse_lora(components=["unet", "text_encoder"])
    expected_noise, expected_hidden = outputs(models, oracle.unet, oracle.text_encoder)

    components = {"unet": models.unet, "text_encoder": models.text}
    results = [compute_lora_patches(load_lora(p), components, s) for p, s in zip((first, second), strengths, strict=True)]
    unet_patches = results[0].for_component("unet") + results[1].for_component("unet")
    text_patches = results[0].for_component("text_encoder") + results[1].for_component("text_encoder")
    with weight_patches(models.unet, unet_patches), weight_patches(models.text, text_patches):
        noise, hidden = outputs(models, models.unet, models.text)

    assert max_difference(noise, expected_noise) < TOLERANCE
    assert max_difference(hidden, expected_hidden) < TOLERANCE
