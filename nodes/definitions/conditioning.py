"""Conditioning nodes: prompts to embeddings, and combining or zeroing embeddings."""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import replace
from typing import Annotated

import torch

from graph_engine import Context, Description, Multiline, Out, Range, node
from nodes.sampling import patched
from nodes.text_encoding import Conditioning, SizeConditioning, encode_prompt
from nodes.types import Clip, ClipHandle, Cond

PromptInput = Annotated[
    str, Multiline(placeholder="a red circle on a blue background"), Description("(word:1.3) weights a word")
]
ClipSkipInput = Annotated[int, Range(0, 24), Description("how many final text encoder layers to skip (0: none)")]
Pixels = Annotated[int, Range(0, 16384, step=8)]


def encode(clip: ClipHandle, device: str, text: str, **options: object) -> Conditioning:
    """Encode a prompt with the CLIP's encoders on `device` (LoRA patches applied meanwhile); on the CPU."""
    encoders = clip.encoders(device)
    with ExitStack() as stack:
        stack.enter_context(patched(encoders.text_encoder, clip.patches.get("text_encoder", ())))
        if encoders.text_encoder_2 is not None:
            stack.enter_context(patched(encoders.text_encoder_2, clip.patches.get("text_encoder_2", ())))
        conditioning = encode_prompt(encoders, text, **options)  # type: ignore[arg-type]
    return conditioning.to("cpu", torch.float32)


@node(category="conditioning")
def TextEncode(ctx: Context, clip: Clip, text: PromptInput = "", clip_skip: ClipSkipInput = 0) -> Cond:
    """Encode a prompt. Long prompts are encoded in 75-token chunks; SDXL CLIPs get their default
    1024x1024 size conditioning (use TextEncodeSDXL to set it)."""
    return encode(clip, ctx.device, text, clip_skip=clip_skip or clip.clip_skip or None)


@node(category="conditioning")
def ClipSkip(clip: Clip, clip_skip: ClipSkipInput = 1) -> Annotated[Clip, Out("clip")]:
    """The CLIP with a default clip skip for the text encoders it reaches (their own clip_skip, if set,
    wins): ComfyUI's CLIPSetLastLayer, where stop_at_clip_layer -2 is clip_skip 1."""
    return replace(clip, clip_skip=clip_skip)


@node(category="conditioning")
def TextEncodeSDXL(
    ctx: Context,
    clip: Clip,
    text: PromptInput = "",
    text_2: Annotated[str, Multiline(), Description("prompt for the second encoder; empty: the same as text")] = "",
    clip_skip: ClipSkipInput = 0,
    original_width: Pixels = 1024,
    original_height: Pixels = 1024,
    crop_left: Pixels = 0,
    crop_top: Pixels = 0,
    target_width: Pixels = 1024,
    target_height: Pixels = 1024,
) -> Cond:
    """Encode a prompt for SDXL with its size and crop conditioning (the size the image claims to
    come from, the crop taken from it, and the size generated)."""
    if not clip.is_dual:
        raise ValueError("TextEncodeSDXL needs an SDXL CLIP (two text encoders); use TextEncode for SD 1.x/2.x")
    size = SizeConditioning(
        original_size=(original_height, original_width),
        crop_top_left=(crop_top, crop_left),
        target_size=(target_height, target_width),
    )
    skip = clip_skip or clip.clip_skip or None
    return encode(clip, ctx.device, text, prompt_2=text_2 or None, clip_skip=skip, size=size)


@node(category="conditioning")
def ConditioningCombine(first: Cond, second: Cond) -> Cond:
    """Join two conditionings along the token axis: the UNet attends to both prompts at once, like
    one long prompt. The pooled embedding and size conditioning (SDXL) come from the first."""
    if first.batch_size != second.batch_size:
        raise ValueError(f"cannot combine conditionings of {first.batch_size} and {second.batch_size} prompts")
    if first.embeddings.shape[-1] != second.embeddings.shape[-1]:
        raise ValueError(
            f"cannot combine {first.embeddings.shape[-1]}- and {second.embeddings.shape[-1]}-dimensional embeddings "
            "(prompts encoded by different models)"
        )
    return Conditioning(torch.cat([first.embeddings, second.embeddings], dim=1), first.pooled, first.extras)


@node(category="conditioning")
def ConditioningZero(conditioning: Cond) -> Cond:
    """All-zero embeddings (and pooled embedding) of the same shape: SDXL's usual empty negative prompt."""
    pooled = torch.zeros_like(conditioning.pooled) if conditioning.pooled is not None else None
    return Conditioning(torch.zeros_like(conditioning.embeddings), pooled, conditioning.extras)
