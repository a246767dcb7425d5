"""SDXL LoRAs in kohya's SGM naming: parity with diffusers on a tiny SDXL, and the name mapping at full size."""

import copy
from types import SimpleNamespace

import pytest
import torch
from diffusers.loaders.lora_conversion_utils import _convert_unet_lora_key, _maybe_map_sgm_blocks_to_diffusers
from lora_helpers import (
    SDXL_UNET,
    TEXT_TARGETS,
    UNET_TARGETS,
    DiffusersSDXL,
    diffusers_unet,
    kohya_state_dict,
    lora_config,
    max_difference,
    our_unet,
    random_lora,
    save,
    text_encoder,
    tiny_sdxl_sgm_name,
)

from nodes.lora import compute_lora_patches, load_lora, weight_patches
from nodes.lora.sgm import sgm_names
from nodes.models import UNet2DConditionModel

TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def models() -> SimpleNamespace:
    reference = diffusers_unet(SDXL_UNET, seed=0)
    torch.manual_seed(1)
    return SimpleNamespace(
        reference=SimpleNamespace(unet=reference, text=text_encoder(24, 2), text_2=text_encoder(16, 3, projection=True)),
        unet=our_unet(reference, SDXL_UNET),
        text=text_encoder(24, 2),
        text_2=text_encoder(16, 3, projection=True),
        sample=torch.randn(2, 4, 8, 8),
        context=torch.randn(2, 5, 40),
        added={"text_embeds": torch.randn(2, 16), "time_ids": torch.tensor([[8.0, 8, 0, 0, 8, 8]] * 2)},
        tokens=torch.tensor([[0, 17, 33, 2, 1], [0, 5, 2, 1, 1]]),
    )


def outputs(models: SimpleNamespace, unet: torch.nn.Module, text: torch.nn.Module, text_2: torch.nn.Module) -> list[torch.Tensor]:
    with torch.no_grad():
        noise = unet(models.sample, 10, models.context, added_cond_kwargs=models.added)
        return [
            getattr(noise, "sample", noise),
            text(models.tokens).last_hidden_state,
            text_2(models.tokens).text_embeds,
        ]


def test_sgm_kohya_lora_matches_diffusers(models, tmp_path):
    reference = models.reference
    weights = kohya_state_dict(
        {
            "lora_unet_": random_lora(reference.unet, lora_config(4, 2, UNET_TARGETS, rank_pattern={"conv2": 2}), 10),
            "lora_te1_": random_lora(reference.text, lora_config(2, 2, TEXT_TARGETS), 11),
            "lora_te2_": random_lora(reference.text_2, lora_config(2, 2, TEXT_TARGETS + ["text_projection"]), 12),
        },
        alpha=3.0,
        rename=tiny_sdxl_sgm_name,
    )
    assert any(key.startswith("lora_unet_output_blocks_1_2_conv") for key in weights)  # an upsampler conv LoRA
    path = save(tmp_path / "sdxl_kohya.safetensors", weights)
    strength_model, strength_clip = 0.8, 1.2

    oracle = DiffusersSDXL(copy.deepcopy(reference.unet), copy.deepcopy(reference.text), copy.deepcopy(reference.text_2))
    oracle.load_lora_weights(str(path))
    oracle.fuse_lora(components=["unet"], lora_scale=strength_model)
    oracle.fuse_lora(components=["text_encoder", "text_encoder_2"], lora_scale=strength_clip)
    expected = outputs(models, oracle.unet, oracle.text_encoder, oracle.text_encoder_2)

    components = {"unet": models.unet, "text_encoder": models.text, "text_encoder_2": models.text_2}
    strengths = {"unet": strength_model, "text_encoder": strength_clip, "text_encoder_2": strength_clip}
    result = compute_lora_patches(load_lora(path), components, strengths)
    assert result.report() is None
    assert sum(len(result.for_component(c)) for c in components) == len(weights) // 3
    plain = outputs(models, models.unet, models.text, models.text_2)
    with (
        weight_patches(models.unet, result.for_component("unet")),
        weight_patches(models.text, result.for_component("text_encoder")),
        weight_patches(models.text_2, result.for_component("text_encoder_2")),
    ):
        patched = outputs(models, models.unet, models.text, models.text_2)

    for ours, theirs, unpatched in zip(patched, expected, plain, strict=True):
        assert max_difference(ours, theirs) < TOLERANCE
        assert max_difference(ours, unpatched) > 100 * TOLERANCE


def full_sdxl_module_names() -> list[str]:
    """Module names of the real SDXL base UNet, built without memory on the meta device."""
    config = dict(
        SDXL_UNET,
        block_out_channels=(320, 640, 1280),
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
        layers_per_block=2,
        transformer_layers_per_block=(1, 2, 10),
        attention_head_dim=(5, 10, 20),
        cross_attention_dim=2048,
        addition_time_embed_dim=256,
        projection_class_embeddings_input_dim=2816,
        norm_num_groups=32,
    )
    with torch.device("meta"):
        unet = UNet2DConditionModel(**config)
    return [name.removesuffix(".weight") for name, p in unet.named_parameters() if name.endswith(".weight") and p.ndim >= 2]


def test_full_size_sdxl_sgm_names_agree_with_diffusers_conversion():
    """Every adaptable SDXL module's SGM name, run through diffusers' kohya converter, comes back as itself."""
    names = full_sdxl_module_names()
    sgm = sgm_names(names)
    assert set(sgm) == set(names)
    layout = SimpleNamespace(layers_per_block=2)
    for name, path in sgm.items():
        # diffusers' kohya path: block renumbering, then renaming, one key at a time.
        (remapped,) = _maybe_map_sgm_blocks_to_diffusers({f"lora_unet_{path.replace('.', '_')}.lora_down.weight": None}, layout)
        converted = _convert_unet_lora_key(remapped).removesuffix(".down.weight")
        # It spells attention projections the processor way: attn1.processor.to_out_lora.
        module = converted.removesuffix(".lora").removesuffix("_lora").replace(".processor.", ".")
        assert (module + ".0" if module.endswith("to_out") else module) == name
