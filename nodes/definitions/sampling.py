"""Sampler nodes: KSampler and KSamplerAdvanced over `nodes.sampling.sample_model`."""

from __future__ import annotations

from typing import Annotated

from graph_engine import Context, Description, Range, node
from nodes.sampling import sample_model
from nodes.types import Cond, LatentValue, Model, SamplerName, SchedulerName

Seed = Annotated[int, Range(0, 2**64 - 1), Description("initial noise; the same seed gives the same image")]
Steps = Annotated[int, Range(1, 1000)]
Cfg = Annotated[float, Range(0.0, 100.0, step=0.1), Description("classifier-free guidance scale (1: no guidance)")]


@node(category="sampling")
def KSampler(
    ctx: Context,
    model: Model,
    positive: Cond,
    negative: Cond,
    latent: LatentValue,
    seed: Seed = 0,
    steps: Steps = 20,
    cfg: Cfg = 7.0,
    sampler: SamplerName = "euler",
    scheduler: SchedulerName = "normal",
    denoise: Annotated[
        float, Range(0.0, 1.0, step=0.01), Description("1: from pure noise; less keeps more of the latent")
    ] = 1.0,
) -> LatentValue:
    """Denoise a latent with classifier-free guidance. With denoise < 1 the latent is noised part of
    the way and denoised from there (img2img strength); a latent with a noise mask is inpainted."""
    return sample_model(
        model, positive, negative, latent,
        device=ctx.device, report=ctx.progress,
        seed=seed, steps=steps, cfg=cfg, sampler=sampler, scheduler=scheduler, denoise=denoise,
    )  # fmt: skip


@node(category="sampling")
def KSamplerAdvanced(
    ctx: Context,
    model: Model,
    positive: Cond,
    negative: Cond,
    latent: LatentValue,
    add_noise: Annotated[bool, Description("noise the latent first; off for a latent with leftover noise")] = True,
    seed: Seed = 0,
    steps: Steps = 20,
    cfg: Cfg = 7.0,
    sampler: SamplerName = "euler",
    scheduler: SchedulerName = "normal",
    start_step: Annotated[int, Range(0, 10000)] = 0,
    end_step: Annotated[int, Range(0, 10000), Description("past the last step means the end")] = 10000,
    return_leftover_noise: Annotated[
        bool, Description("stop at end_step's noise level instead of finishing clean")
    ] = False,
) -> LatentValue:
    """Run steps start_step..end_step-1 of a `steps`-step schedule, for splitting one generation
    across samplers or models (pass the leftover noise on with add_noise off downstream)."""
    return sample_model(
        model, positive, negative, latent,
        device=ctx.device, report=ctx.progress,
        seed=seed, steps=steps, cfg=cfg, sampler=sampler, scheduler=scheduler,
        start_step=start_step, end_step=end_step, add_noise=add_noise, return_leftover_noise=return_leftover_noise,
    )  # fmt: skip
