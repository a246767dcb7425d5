"""UNet2DConditionModel: numerical parity with diffusers on tiny SD 1.x / 2.x / XL / LCM-shaped configs."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import diffusers
import pytest
import torch
from model_parity import assert_close, copy_weights, perturb_norms

from nodes.models import UNet2DConditionModel

SD1: dict[str, Any] = {
    "block_out_channels": (32, 64),
    "down_block_types": ("CrossAttnDownBlock2D", "DownBlock2D"),
    "up_block_types": ("UpBlock2D", "CrossAttnUpBlock2D"),
    "layers_per_block": 2,
    "cross_attention_dim": 24,
    "attention_head_dim": 8,  # SD 1.x: 8 heads per block (the key's name is diffusers' historical quirk)
    "norm_num_groups": 8,
    "sample_size": 16,
}
SD2 = {
    **SD1,
    "down_block_types": ("CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
    "up_block_types": ("CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
    "use_linear_projection": True,
    "attention_head_dim": (2, 4),
    "upcast_attention": True,
    "cross_attention_dim": 32,
}
SDXL = {
    "block_out_channels": (32, 48, 64),
    "down_block_types": ("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
    "up_block_types": ("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
    "layers_per_block": 2,
    "transformer_layers_per_block": (1, 1, 2),
    "attention_head_dim": (2, 3, 4),
    "use_linear_projection": True,
    "cross_attention_dim": 40,
    "addition_embed_type": "text_time",
    "addition_time_embed_dim": 8,
    "projection_class_embeddings_input_dim": 6 * 8 + 20,  # six time ids x 8 + a pooled text embedding of 20
    "norm_num_groups": 8,
    "sample_size": 16,
}
LCM = {**SD1, "time_cond_proj_dim": 12}
# SSD-1B-style distilled SDXL: transformer depth per resnet layer, asymmetric between the down and up paths.
NESTED = {
    **SDXL,
    "transformer_layers_per_block": (1, (1, 2), (2, 1)),
    "reverse_transformer_layers_per_block": ((1, 2, 1), (2, 1, 1), (1, 1, 1)),
}


def build_pair(config: dict[str, Any], seed: int = 0) -> tuple[torch.nn.Module, UNet2DConditionModel]:
    torch.manual_seed(seed)
    reference = diffusers.UNet2DConditionModel(**config).eval()
    perturb_norms(reference, seed)
    ours = UNet2DConditionModel(**config).eval()
    copy_weights(reference, ours)
    return reference, ours


def inputs(
    config: dict[str, Any], batch: int = 2, size: tuple[int, int] = (16, 16)
) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(1)
    sample = torch.randn(batch, 4, *size, generator=generator)
    context = torch.randn(batch, 7, config["cross_attention_dim"], generator=generator)
    return sample, context


@pytest.mark.parametrize(
    ("config", "timestep"),
    [(SD1, 10), (SD2, torch.tensor([999.0, 0.5])), (SD1, torch.tensor(321))],
    ids=["sd1-int-timestep", "sd2-float-timesteps", "sd1-0d-timestep"],
)
def test_matches_diffusers(config: dict[str, Any], timestep: Any) -> None:
    reference, ours = build_pair(config)
    sample, context = inputs(config)
    with torch.no_grad():
        expected = reference(sample, timestep, context).sample
        actual = ours(sample, timestep, context)
    assert_close(expected, actual)


@pytest.mark.parametrize("config", [SDXL, NESTED], ids=["sdxl", "nested-transformer-depths"])
def test_sdxl_text_time_matches_diffusers(config: dict[str, Any]) -> None:
    reference, ours = build_pair(config)
    sample, context = inputs(config)
    added = {
        "text_embeds": torch.randn(2, 20, generator=torch.Generator().manual_seed(2)),
        "time_ids": torch.tensor([[1024.0, 1024.0, 0.0, 0.0, 1024.0, 1024.0], [512.0, 768.0, 16.0, 8.0, 512.0, 768.0]]),
    }
    with torch.no_grad():
        expected = reference(sample, 500, context, added_cond_kwargs=added).sample
        actual = ours(sample, 500, context, added_cond_kwargs=added)
    assert_close(expected, actual)


def test_sdxl_without_added_cond_kwargs_is_a_clear_error() -> None:
    ours = UNet2DConditionModel(**SDXL)
    sample, context = inputs(SDXL)
    with pytest.raises(ValueError, match=r"text_embeds.*time_ids"):
        ours(sample, 1, context)
    with pytest.raises(ValueError, match="projection_class_embeddings_input_dim"):
        ours(sample, 1, context, added_cond_kwargs={"text_embeds": torch.zeros(2, 3), "time_ids": torch.zeros(2, 6)})


def test_lcm_timestep_cond_matches_diffusers() -> None:
    reference, ours = build_pair(LCM)
    sample, context = inputs(LCM)
    guidance = torch.randn(2, 12, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        expected = reference(sample, 250, context, timestep_cond=guidance).sample
        actual = ours(sample, 250, context, timestep_cond=guidance)
    assert_close(expected, actual)


def test_controlnet_residuals_match_diffusers() -> None:
    reference, ours = build_pair(SD1)
    sample, context = inputs(SD1)
    generator = torch.Generator().manual_seed(4)
    # One residual per skip: conv_in, two resnets + downsample at 16x16, two resnets at 8x8.
    shapes = [(2, 32, 16, 16)] * 3 + [(2, 32, 8, 8)] + [(2, 64, 8, 8)] * 2
    down = [torch.randn(shape, generator=generator) for shape in shapes]
    mid = torch.randn(2, 64, 8, 8, generator=generator)
    with torch.no_grad():
        expected = reference(
            sample, 40, context, down_block_additional_residuals=tuple(down), mid_block_additional_residual=mid
        ).sample
        actual = ours(sample, 40, context, down_block_additional_residuals=down, mid_block_additional_residual=mid)
        assert_close(expected, actual)
        with pytest.raises(ValueError, match="expected one per skip connection \\(6\\)"):
            ours(sample, 40, context, down_block_additional_residuals=down[:-1])


def test_latent_size_not_a_multiple_of_the_downsampling_matches_diffusers() -> None:
    reference, ours = build_pair(SDXL)
    sample, context = inputs(SDXL, batch=1, size=(18, 14))
    added = {"text_embeds": torch.randn(1, 20), "time_ids": torch.ones(1, 6)}
    with torch.no_grad():
        expected = reference(sample, 7, context, added_cond_kwargs=added).sample
        actual = ours(sample, 7, context, added_cond_kwargs=added)
    assert_close(expected, actual)


def test_bad_timestep_shape_is_a_clear_error() -> None:
    ours = UNet2DConditionModel(**SD1)
    sample, context = inputs(SD1)
    with pytest.raises(ValueError, match="timestep must be"):
        ours(sample, torch.tensor([1, 2, 3]), context)


def test_builds_on_meta_and_loads_with_assign() -> None:
    reference, ours = build_pair(SD2)
    with torch.device("meta"):
        empty = UNet2DConditionModel(**SD2)
    assert all(p.is_meta for p in empty.parameters())
    empty.load_state_dict(reference.state_dict(), strict=True, assign=True)
    assert not any(t.is_meta for t in [*empty.parameters(), *empty.buffers()])
    sample, context = inputs(SD2)
    with torch.no_grad():
        assert_close(ours(sample, 3, context), empty.eval()(sample, 3, context), atol=0.0)


def test_accepts_every_key_diffusers_writes_and_round_trips_through_json() -> None:
    reference, ours = build_pair(SDXL)
    written = json.loads(json.dumps({"_class_name": "UNet2DConditionModel", **dict(reference.config)}))
    assert set(ours.config) == {key for key in written if not key.startswith("_")}
    rebuilt = UNet2DConditionModel.from_config(written)
    assert rebuilt.config == ours.config
    again = UNet2DConditionModel.from_config(json.loads(json.dumps(ours.config.to_dict())))
    assert again.config == ours.config
    assert ours.config["attention_head_dim"] == ours.config.attention_head_dim == (2, 3, 4)
    with pytest.raises(dataclasses.FrozenInstanceError):
        ours.config.in_channels = 3  # type: ignore[misc]


def test_from_config_rejects_unknown_keys_and_unsupported_values() -> None:
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['not_a_key'\]"):
        UNet2DConditionModel.from_config({**SD1, "not_a_key": 1})
    with pytest.raises(ValueError, match="class_embed_type='timestep' is not supported"):
        UNet2DConditionModel(**SD1, class_embed_type="timestep")
    with pytest.raises(ValueError, match="down_block_types entry='SimpleCrossAttnDownBlock2D'"):
        UNet2DConditionModel(**{**SD1, "down_block_types": ("SimpleCrossAttnDownBlock2D", "DownBlock2D")})
    with pytest.raises(ValueError, match="num_attention_heads must be null"):
        UNet2DConditionModel(**SD1, num_attention_heads=4)
    with pytest.raises(ValueError, match="attention_head_dim has 3 entries, expected one per block \\(2\\)"):
        UNet2DConditionModel(**{**SD1, "attention_head_dim": (1, 2, 4)})


def test_is_trainable() -> None:
    _, ours = build_pair(SDXL)
    ours.train()
    sample, context = inputs(SDXL)
    added = {"text_embeds": torch.randn(2, 20), "time_ids": torch.ones(2, 6)}
    ours(sample, torch.tensor([3, 900]), context, added_cond_kwargs=added).square().mean().backward()
    missing = [name for name, p in ours.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert missing == []
