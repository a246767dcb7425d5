"""KSampler and KSamplerAdvanced through the executor: results, reproducibility, progress with
previews, interrupts, and splitting a run across two advanced samplers."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import torch
from pack_graphs import base_nodes, sampler_node

from graph_engine import Event


def test_ksampler_denoises_reproducibly_and_seed_matters(run, checkpoint: Path) -> None:
    nodes = {**base_nodes(checkpoint), "sample": sampler_node()}
    first = run(nodes, {"latent": "sample.latent"}).outputs["latent"]
    assert first.samples.shape == (1, 4, 8, 8)
    assert first.samples.abs().sum() > 0 and torch.isfinite(first.samples).all()
    again = run(nodes, {"latent": "sample.latent"}, params={}).outputs["latent"]
    assert torch.equal(first.samples, again.samples)
    nodes["sample"] = sampler_node(seed=2)
    other = run(nodes, {"latent": "sample.latent"}).outputs["latent"]
    assert not torch.allclose(first.samples, other.samples)


def test_progress_every_step_with_previews(run, checkpoint: Path) -> None:
    events: list[Event] = []
    nodes = {**base_nodes(checkpoint), "sample": sampler_node(steps=10, seed=11)}
    run(nodes, {"latent": "sample.latent"}, on_event=events.append)
    progress = [e for e in events if e.type == "node_progress" and e.node_id == "sample"]
    assert [(e.value, e.total) for e in progress] == [(step, 10) for step in range(1, 11)]
    with_preview = [e.value for e in progress if e.preview is not None]
    assert with_preview == [2, 4, 6, 8, 10]
    image = progress[-1].preview
    assert image.size == (32, 32)  # 8x8 latent shown at the VAE's 4x scale


def test_interrupt_stops_the_sampler_at_a_step(run, executor, checkpoint: Path) -> None:
    interrupt = threading.Event()
    seen: list[float] = []

    def on_event(event: Event) -> None:
        if event.type == "node_progress" and event.node_id == "sample":
            seen.append(event.value)
            if event.value == 3:
                interrupt.set()

    nodes = {**base_nodes(checkpoint), "sample": sampler_node(steps=20, seed=12)}
    result = run(nodes, {"latent": "sample.latent"}, expect_ok=False, interrupt=interrupt, on_event=on_event)
    assert result.status == "interrupted"
    assert seen == [1, 2, 3]  # the step after the interrupt never reports


@pytest.mark.parametrize("sampler", ["euler", "heun"])
def test_advanced_split_matches_one_run(run, checkpoint: Path, sampler: str) -> None:
    common = {"seed": 5, "steps": 6, "cfg": 4.0, "sampler": sampler, "scheduler": "karras"}
    links = {"model": "@load.model", "positive": "@positive.conditioning", "negative": "@negative.conditioning"}
    nodes = {
        **base_nodes(checkpoint),
        "whole": sampler_node(**common),
        "first": (
            "KSamplerAdvanced",
            {**links, **common, "latent": "@empty.latent", "end_step": 3, "return_leftover_noise": True},
        ),
        "second": (
            "KSamplerAdvanced",
            {**links, **common, "latent": "@first.latent", "start_step": 3, "add_noise": False},
        ),
    }
    outputs = run(nodes, {"whole": "whole.latent", "split": "second.latent"}).outputs
    # One-step samplers carry no history across steps, so the split run is the same computation.
    torch.testing.assert_close(outputs["split"].samples, outputs["whole"].samples, atol=1e-5, rtol=1e-5)
