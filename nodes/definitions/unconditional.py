"""Unconditional generation: a pixel-space UNet2DModel sampled with DDPM, DDIM or PNDM."""

from __future__ import annotations

from typing import Annotated, Literal

from graph_engine import Context, Description, Range, node
from nodes.sampling import sample_unconditional
from nodes.types import Image, SchedulerName, UnconditionalModel


@node(category="sampling")
def UnconditionalSample(
    ctx: Context,
    model: UnconditionalModel,
    seed: Annotated[int, Range(0, 2**64 - 1)] = 0,
    steps: Annotated[int, Range(1, 1000)] = 50,
    sampler: Annotated[
        Literal["ddpm", "ddim", "pndm"], Description("DDPM (ancestral), DDIM (deterministic) or PNDM")
    ] = "ddim",
    scheduler: SchedulerName = "leading",
    batch: Annotated[int, Range(1, 4096)] = 1,
) -> Image:
    """Generate images from noise with an unconditional model (no prompt), as diffusers' DDPM,
    DDIM and PNDM pipelines do; "leading" spacing is their default."""
    return sample_unconditional(
        model, device=ctx.device, seed=seed, steps=steps, batch=batch, sampler=sampler, scheduler=scheduler,
        report=ctx.progress,
    )  # fmt: skip
