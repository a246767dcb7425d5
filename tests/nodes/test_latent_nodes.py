"""Latent nodes: EmptyLatent in the VAE's latent space, upscaling, noise masks, batching with each
sample keeping the initial noise of its batch position."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from pack_graphs import base_nodes, sampler_node

from nodes.definitions.latents import (
    LatentBatch,
    LatentFromBatch,
    LatentUpscale,
    SetLatentNoiseMask,
)
from nodes.types import Latent


def test_empty_latent_follows_the_vae(run, checkpoint: Path) -> None:
    out = run(base_nodes(checkpoint, width=48, batch=3), {"latent": "empty.latent"}).outputs["latent"]
    assert out.samples.shape == (3, 4, 12, 12) and out.samples.abs().sum() == 0
    bad = {**base_nodes(checkpoint), "empty": ("EmptyLatent", {"vae": "@load.vae", "width": 30, "height": 32})}
    result = run(bad, {"latent": "empty.latent"}, expect_ok=False)
    assert "multiples of the VAE's downscale factor 4" in result.failures["empty"].message


def test_upscale_keeps_mask_and_positions() -> None:
    latent = Latent(torch.randn(2, 4, 4, 4), torch.ones(1, 1, 16, 16), (3, 5))
    up = LatentUpscale(latent, 1.5, "nearest")
    assert up.samples.shape == (2, 4, 6, 6) and up.noise_mask is latent.noise_mask and up.batch_index == (3, 5)


def test_noise_mask_checks_the_batch() -> None:
    latent = Latent(torch.zeros(2, 4, 4, 4))
    masked = SetLatentNoiseMask(latent, torch.ones(1, 16, 16))
    assert masked.noise_mask.shape == (1, 1, 16, 16) and masked.samples is latent.samples
    with pytest.raises(ValueError, match="expected 1 or the latent's 2"):
        SetLatentNoiseMask(latent, torch.ones(3, 16, 16))


def test_batch_and_from_batch() -> None:
    a, b = Latent(torch.zeros(2, 4, 2, 2)), Latent(torch.ones(1, 4, 2, 2), torch.zeros(1, 1, 2, 2))
    both = LatentBatch(a, b)
    assert both.samples.shape == (3, 4, 2, 2) and both.positions == (0, 1, 2)
    assert both.noise_mask.shape == (3, 1, 2, 2) and both.noise_mask[:2].min() == 1 and both.noise_mask[2].max() == 0
    picked = LatentFromBatch(both, 1, 2)
    assert picked.positions == (1, 2) and torch.equal(picked.samples, both.samples[1:])
    assert LatentBatch(picked, a).positions == (1, 2, 3, 4)
    with pytest.raises(ValueError, match="the batch has 3"):
        LatentFromBatch(both, 2, 2)
    with pytest.raises(ValueError, match="cannot batch latents of shapes"):
        LatentBatch(a, Latent(torch.zeros(1, 4, 3, 3)))


def test_sample_taken_from_a_batch_is_the_one_sampled_in_the_batch(run, checkpoint: Path) -> None:
    nodes = {
        **base_nodes(checkpoint, batch=3),
        "third": ("LatentFromBatch", {"latent": "@empty.latent", "index": 2}),
        "batch": sampler_node(seed=9),
        "alone": sampler_node("@third.latent", seed=9),
    }
    out = run(nodes, {"batch": "batch.latent", "alone": "alone.latent"}).outputs
    assert out["alone"].samples.shape == (1, 4, 8, 8) and out["alone"].batch_index == (2,)
    torch.testing.assert_close(out["alone"].samples, out["batch"].samples[2:], atol=1e-4, rtol=1e-4)
    assert not torch.allclose(out["batch"].samples[0], out["batch"].samples[2], atol=1e-2)
