"""AutoencoderKL: parity with diffusers for encode/decode, tiling, slicing; float16 upcast; meta loading."""

from __future__ import annotations

import json
from typing import Any

import diffusers
import pytest
import torch
from model_parity import assert_close, copy_weights, perturb_norms

from nodes.models import AutoencoderKL, DiagonalGaussianDistribution

VAE: dict[str, Any] = {
    "block_out_channels": (16, 32),
    "down_block_types": ("DownEncoderBlock2D", "DownEncoderBlock2D"),
    "up_block_types": ("UpDecoderBlock2D", "UpDecoderBlock2D"),
    "layers_per_block": 1,
    "norm_num_groups": 8,
    "latent_channels": 4,
    "sample_size": 32,
    "scaling_factor": 0.13025,
}


def build_pair(config: dict[str, Any], seed: int = 0) -> tuple[Any, AutoencoderKL]:
    torch.manual_seed(seed)
    reference = diffusers.AutoencoderKL(**config).eval()
    perturb_norms(reference, seed)
    ours = AutoencoderKL(**config).eval()
    copy_weights(reference, ours)
    return reference, ours


def image(batch: int, height: int, width: int) -> torch.Tensor:
    return torch.rand(batch, 3, height, width, generator=torch.Generator().manual_seed(5)) * 2 - 1


def latent(batch: int, height: int, width: int) -> torch.Tensor:
    return torch.randn(batch, 4, height, width, generator=torch.Generator().manual_seed(6))


@pytest.mark.parametrize(
    "variant",
    [{}, {"use_quant_conv": False, "use_post_quant_conv": False}, {"mid_block_add_attention": False}],
    ids=["default", "no-quant-convs", "no-mid-attention"],
)
def test_encode_and_decode_match_diffusers(variant: dict[str, Any]) -> None:
    reference, ours = build_pair({**VAE, **variant})
    x, z = image(2, 32, 24), latent(2, 16, 12)
    with torch.no_grad():
        expected = reference.encode(x).latent_dist
        actual = ours.encode(x)
        for name in ("mean", "logvar", "std"):
            assert_close(getattr(expected, name), getattr(actual, name))
        assert_close(expected.mode(), actual.mode())
        sampled = expected.sample(generator=torch.Generator().manual_seed(7))
        assert_close(sampled, actual.sample(generator=torch.Generator().manual_seed(7)))
        assert_close(expected.kl(), actual.kl())
        assert_close(reference.decode(z).sample, ours.decode(z))


@pytest.mark.parametrize("sliced", [False, True], ids=["tiled", "tiled-and-sliced"])
def test_tiled_encode_and_decode_match_diffusers_enable_tiling(sliced: bool) -> None:
    reference, ours = build_pair(VAE)
    reference.enable_tiling()
    if sliced:
        reference.enable_slicing()
    tiling = ours.tiling()
    assert (tiling.sample_tile, tiling.latent_tile, tiling.overlap_factor) == (32, 16, 0.25)
    # Sizes that are not multiples of the tile stride leave narrow tiles at the right and bottom edges.
    x, z = image(2, 80, 56), latent(2, 37, 22)
    with torch.no_grad():
        assert_close(reference.encode(x).latent_dist.mean, ours.encode(x, tiling=tiling, sliced=sliced).mean)
        assert_close(reference.decode(z).sample, ours.decode(z, tiling=tiling, sliced=sliced))


def test_tiling_is_skipped_for_inputs_no_larger_than_a_tile() -> None:
    _, ours = build_pair(VAE)
    z = latent(1, 16, 16)
    with torch.no_grad():
        assert torch.equal(ours.decode(z), ours.decode(z, tiling=ours.tiling()))


def test_sliced_matches_diffusers_enable_slicing() -> None:
    reference, ours = build_pair(VAE)
    reference.enable_slicing()
    x, z = image(3, 16, 16), latent(3, 8, 8)
    with torch.no_grad():
        assert_close(reference.encode(x).latent_dist.mean, ours.encode(x, sliced=True).mean)
        assert_close(reference.decode(z).sample, ours.decode(z, sliced=True))


def test_tiling_options_are_checked() -> None:
    _, ours = build_pair(VAE)
    with pytest.raises(ValueError, match="multiple of 2 pixels"):
        ours.tiling(sample_tile=33)
    with pytest.raises(ValueError, match="overlap_factor must be in"):
        ours.tiling(overlap_factor=1.0)


def test_force_upcast_decodes_a_float16_model_in_float32_without_changing_it() -> None:
    _, ours = build_pair(VAE)
    half = AutoencoderKL(**VAE).half()
    half.load_state_dict(ours.state_dict())
    assert half.needs_upcast()
    z = latent(1, 8, 8)
    with torch.no_grad():
        upcast = half.decode(z.half())
        # Reference: the same float16 weights, computed in float32.
        widened = AutoencoderKL(**VAE)
        widened.load_state_dict({k: v.float() for k, v in half.state_dict().items()})
        expected = widened.decode(z.half().float())
    assert upcast.dtype == torch.float32
    assert_close(expected, upcast, atol=0.0)
    assert all(p.dtype == torch.float16 for p in half.parameters())
    no_upcast = AutoencoderKL(**{**VAE, "force_upcast": False}).half()
    assert not no_upcast.needs_upcast()


def test_builds_on_meta_and_loads_with_assign() -> None:
    reference, ours = build_pair(VAE)
    with torch.device("meta"):
        empty = AutoencoderKL(**VAE)
    empty.load_state_dict(reference.state_dict(), strict=True, assign=True)
    assert not any(t.is_meta for t in [*empty.parameters(), *empty.buffers()])
    z = latent(1, 8, 8)
    with torch.no_grad():
        assert_close(ours.decode(z), empty.eval().decode(z), atol=0.0)


def test_config_round_trip_and_unknown_keys() -> None:
    reference, ours = build_pair(VAE)
    written = json.loads(json.dumps({"_class_name": "AutoencoderKL", **dict(reference.config)}))
    assert set(ours.config) == {key for key in written if not key.startswith("_")}
    assert AutoencoderKL.from_config(written).config == ours.config
    assert ours.config.scaling_factor == 0.13025 and ours.config["force_upcast"] is True
    with pytest.raises(ValueError, match=r"AutoencoderKL config has unknown key\(s\) \['tile_size'\]"):
        AutoencoderKL.from_config({**VAE, "tile_size": 64})
    with pytest.raises(ValueError, match="up_block_types entry='AttnUpDecoderBlock2D' is not supported"):
        AutoencoderKL(**{**VAE, "up_block_types": ("AttnUpDecoderBlock2D", "UpDecoderBlock2D")})


def test_distribution_rejects_odd_channel_moments() -> None:
    with pytest.raises(ValueError, match="even channel count"):
        DiagonalGaussianDistribution(torch.zeros(1, 3, 2, 2))


def test_is_trainable_through_tiled_encode_and_decode() -> None:
    _, ours = build_pair(VAE)
    ours.train()
    x = image(1, 48, 48)
    tiling = ours.tiling()
    posterior = ours.encode(x, tiling=tiling)
    reconstruction = ours.decode(posterior.sample(), tiling=tiling)
    ((reconstruction - x).square().mean() + 1e-3 * posterior.kl().mean()).backward()
    missing = [name for name, p in ours.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert missing == []
