"""UnconditionalSample: a pixel-space UNet2DModel sampled with DDPM, DDIM or PNDM, reproducibly,
matching diffusers' DDIM pipeline on the same weights."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from diffusers import DDIMPipeline, DDIMScheduler

from graph_engine import Event


def generate(run, checkpoint: Path, **inputs: object):
    nodes = {
        "load": ("UnconditionalLoader", {"checkpoint": str(checkpoint)}),
        "sample": ("UnconditionalSample", {"model": "@load.model", "seed": 3, "steps": 5, **inputs}),
    }
    return run(nodes, {"image": "sample.image"})


@pytest.mark.parametrize("sampler", ["ddpm", "ddim", "pndm"])
def test_samplers_give_images(run, ddpm_checkpoint: Path, sampler: str) -> None:
    image = generate(run, ddpm_checkpoint, sampler=sampler, batch=2).outputs["image"]
    assert image.shape == (2, 16, 16, 3) and 0 <= image.min() and image.max() <= 1
    assert image.std() > 0.01 and not torch.allclose(image[0], image[1])


def test_reproducible_with_progress_previews(run, ddpm_checkpoint: Path) -> None:
    events: list[Event] = []
    nodes = {
        "load": ("UnconditionalLoader", {"checkpoint": str(ddpm_checkpoint)}),
        "sample": ("UnconditionalSample", {"model": "@load.model", "seed": 4, "steps": 5, "sampler": "ddim"}),
    }
    first = run(nodes, {"image": "sample.image"}, on_event=events.append).outputs["image"]
    progress = [e for e in events if e.type == "node_progress"]
    assert [e.value for e in progress] == [1, 2, 3, 4, 5] and progress[-1].preview.size == (16, 16)
    again = generate(run, ddpm_checkpoint, seed=4, sampler="ddim").outputs["image"]
    assert torch.equal(first, again)


def test_ddim_matches_diffusers(run, ddpm_checkpoint: Path) -> None:
    ours = generate(run, ddpm_checkpoint, sampler="ddim", steps=10, seed=7).outputs["image"]
    pipeline = DDIMPipeline.from_pretrained(ddpm_checkpoint)
    pipeline.scheduler = DDIMScheduler.from_config(pipeline.scheduler.config)
    pipeline.set_progress_bar_config(disable=True)
    # The denoiser clips x0 (clip_sample) and the DDIM step derives ε from the clipped x0: diffusers'
    # use_clipped_model_output=True.
    expected = pipeline(
        generator=torch.Generator().manual_seed(7), num_inference_steps=10, eta=0.0, use_clipped_model_output=True,
        output_type="np",
    ).images  # fmt: skip
    torch.testing.assert_close(ours, torch.from_numpy(expected), atol=1e-4, rtol=0)
