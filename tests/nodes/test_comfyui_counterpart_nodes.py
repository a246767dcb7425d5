"""The nodes added as counterparts of ComfyUI's: ClipSkip (CLIPSetLastLayer) and LatentScale (LatentUpscale)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from pack_graphs import base_nodes

from nodes.definitions.latents import LatentScale
from nodes.types import Latent


def test_clip_skip_sets_the_default_of_the_encoders_it_reaches(run, checkpoint: Path) -> None:
    nodes = {
        **base_nodes(checkpoint),
        "skip": ("ClipSkip", {"clip": "@load.clip", "clip_skip": 1}),
        "skipped": ("TextEncode", {"clip": "@skip.clip", "text": "a red circle"}),
        "explicit": ("TextEncode", {"clip": "@load.clip", "text": "a red circle", "clip_skip": 1}),
        "own": ("TextEncode", {"clip": "@skip.clip", "text": "a red circle", "clip_skip": 2}),
        "explicit2": ("TextEncode", {"clip": "@load.clip", "text": "a red circle", "clip_skip": 2}),
    }
    names = ("positive", "skipped", "explicit", "own", "explicit2")
    out = run(nodes, {name: f"{name}.conditioning" for name in names}).outputs
    assert torch.equal(out["skipped"].embeddings, out["explicit"].embeddings)
    assert not torch.equal(out["skipped"].embeddings, out["positive"].embeddings)
    assert torch.equal(out["own"].embeddings, out["explicit2"].embeddings)  # the encoder's own value wins


def test_latent_scale_resizes_to_a_pixel_size_with_the_vaes_factor() -> None:
    vae = SimpleNamespace(downscale=4)
    latent = Latent(torch.randn(2, 4, 16, 16), torch.ones(1, 1, 64, 64), (3, 5))
    out = LatentScale(latent, vae, width=96, height=32)
    assert out.samples.shape == (2, 4, 8, 24)
    assert out.noise_mask is latent.noise_mask and out.batch_index == (3, 5)
    with pytest.raises(ValueError, match="multiples of the VAE's downscale factor 4"):
        LatentScale(latent, vae, width=90, height=32)


def test_latent_scale_center_crop_keeps_the_middle() -> None:
    vae = SimpleNamespace(downscale=4)
    samples = torch.arange(16.0).repeat(1, 1, 16, 1)  # column index as value
    mask = torch.zeros(1, 1, 32, 32)
    mask[..., 8:24] = 1
    out = LatentScale(Latent(samples, mask), vae, width=32, height=64, method="nearest", crop="center")
    assert out.samples.shape == (1, 1, 16, 8)
    assert out.samples[0, 0, 0].tolist() == [4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0]  # columns 4..11 of 16
    assert out.noise_mask is not None and out.noise_mask.shape == (1, 1, 32, 16) and bool(out.noise_mask.all())
