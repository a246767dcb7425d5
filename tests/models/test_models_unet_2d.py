"""UNet2DModel: numerical parity with diffusers on tiny DDPM-shaped configs."""

from __future__ import annotations

import json
from typing import Any

import diffusers
import pytest
import torch
from model_parity import assert_close, copy_weights, perturb_norms

from nodes.models import UNet2DModel

# google/ddpm-cifar10-32 shaped: one-head attention, asymmetric downsample padding, [sin, cos] order, shift 1.
DDPM: dict[str, Any] = {
    "block_out_channels": (32, 64),
    "down_block_types": ("DownBlock2D", "AttnDownBlock2D"),
    "up_block_types": ("AttnUpBlock2D", "UpBlock2D"),
    "layers_per_block": 2,
    "attention_head_dim": None,
    "downsample_padding": 0,
    "flip_sin_to_cos": False,
    "freq_shift": 1,
    "norm_eps": 1e-6,
    "norm_num_groups": 8,
    "sample_size": 16,
}
# Multi-head attention, scale-shift resnets (so the mid attention has no norm) and a mid output scale.
SCALE_SHIFT = {
    **DDPM,
    "down_block_types": ("AttnDownBlock2D", "AttnDownBlock2D"),
    "up_block_types": ("AttnUpBlock2D", "AttnUpBlock2D"),
    "attention_head_dim": 8,
    "resnet_time_scale_shift": "scale_shift",
    "mid_block_scale_factor": 2**0.5,
    "downsample_padding": 1,
    "center_input_sample": True,
}
NO_MID_ATTENTION = {**DDPM, "add_attention": False}


def build_pair(config: dict[str, Any], seed: int = 0) -> tuple[Any, UNet2DModel]:
    torch.manual_seed(seed)
    reference = diffusers.UNet2DModel(**config).eval()
    perturb_norms(reference, seed)
    ours = UNet2DModel(**config).eval()
    copy_weights(reference, ours)
    return reference, ours


@pytest.mark.parametrize(
    ("config", "timestep"),
    [(DDPM, 999), (SCALE_SHIFT, torch.tensor([10, 600])), (NO_MID_ATTENTION, torch.tensor(1))],
    ids=["ddpm-cifar", "scale-shift", "no-mid-attention"],
)
def test_matches_diffusers(config: dict[str, Any], timestep: Any) -> None:
    reference, ours = build_pair(config)
    sample = torch.randn(2, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = reference(sample, timestep).sample
        actual = ours(sample, timestep)
    assert_close(expected, actual)


def test_without_mid_block_matches_diffusers() -> None:
    reference, ours = build_pair({**DDPM, "mid_block_type": None})
    assert ours.mid_block is None
    sample = torch.randn(1, 3, 16, 16, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        assert_close(reference(sample, 5).sample, ours(sample, 5))


def test_builds_on_meta_and_config_round_trips() -> None:
    reference, ours = build_pair(DDPM)
    with torch.device("meta"):
        empty = UNet2DModel.from_config(json.loads(json.dumps(dict(reference.config))))
    empty.load_state_dict(reference.state_dict(), strict=True, assign=True)
    assert not any(t.is_meta for t in [*empty.parameters(), *empty.buffers()])
    assert empty.config == ours.config
    assert set(ours.config) == {key for key in reference.config if not key.startswith("_")}


def test_rejects_unknown_keys_and_unsupported_values() -> None:
    with pytest.raises(ValueError, match=r"UNet2DModel config has unknown key\(s\) \['resnet_num_groups'\]"):
        UNet2DModel.from_config({**DDPM, "resnet_num_groups": 8})
    with pytest.raises(ValueError, match="time_embedding_type='fourier' is not supported"):
        UNet2DModel(**DDPM, time_embedding_type="fourier")
    with pytest.raises(ValueError, match="must have the same length"):
        UNet2DModel(**{**DDPM, "up_block_types": ("UpBlock2D",)})
