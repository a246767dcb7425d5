"""Prompt encoding with transformers' CLIP text models, following diffusers' `encode_prompt`.

SD 1.x / 2.x (one encoder): the last hidden state after the final layer norm; with
`clip_skip = k`, the output of the k-th layer from the end, then the final layer norm
(diffusers' convention: clip_skip=1 is the penultimate layer). SD 2.x files already drop
OpenCLIP's last block, so its "last" layer is OpenCLIP's penultimate one.

SDXL (two encoders): both take the penultimate hidden state without the final norm (moved
further back by `clip_skip`), concatenated along the feature axis; the pooled embedding is
the projected output of the second encoder.

Prompts longer than one window are encoded in 75-token chunks and concatenated along the
token axis; the pooled embedding comes from the first chunk.

Prompt weights follow ComfyUI's convention: a token of weight w becomes
`empty + w * (token - empty)`, where `empty` is the same position in the encoding of the
empty prompt, so weights scale a token's difference from "no prompt" rather than its norm.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn
from transformers import PreTrainedTokenizerBase

from nodes.text_encoding.conditioning import TIME_IDS, Conditioning, SizeConditioning
from nodes.text_encoding.tokens import TokenWindows, empty_window, pad_chunks, tokenize_prompt


@dataclass(frozen=True)
class TextEncoders:
    """A model's tokenizer/text-encoder pair, or SDXL's two pairs."""

    tokenizer: PreTrainedTokenizerBase
    text_encoder: nn.Module
    tokenizer_2: PreTrainedTokenizerBase | None = None
    text_encoder_2: nn.Module | None = None

    def __post_init__(self) -> None:
        if (self.tokenizer_2 is None) != (self.text_encoder_2 is None):
            raise ValueError("tokenizer_2 and text_encoder_2 come together: give both or neither")

    @property
    def is_dual(self) -> bool:
        """Two encoders: SDXL-style conditioning (penultimate layers, pooled output, size ids)."""
        return self.text_encoder_2 is not None


def encode_prompt(
    encoders: TextEncoders,
    prompt: str | Sequence[str],
    *,
    prompt_2: str | Sequence[str] | None = None,
    clip_skip: int | None = None,
    parse_weights: bool = True,
    size: SizeConditioning | None = None,
) -> Conditioning:
    """Encode a prompt (or a batch of prompts) into the conditioning the UNet consumes.

    `prompt_2` feeds SDXL's second encoder (default: `prompt`); `size` sets SDXL's
    micro-conditioning (default: 1024 x 1024, no crop). With `parse_weights`, `(word:1.2)`
    syntax weights tokens (see `prompt_weights`).
    """
    prompts = _as_list(prompt, "prompt")
    if clip_skip is not None and clip_skip < 0:
        raise ValueError(f"clip_skip must be >= 0 or None, got {clip_skip}")
    if not encoders.is_dual:
        if prompt_2 is not None or size is not None:
            raise ValueError("prompt_2 and size apply to SDXL-style models (two text encoders) only")
        windows = [tokenize_prompt(encoders.tokenizer, text, parse_weights=parse_weights) for text in prompts]
        hidden, _ = _encode_windows(encoders.tokenizer, encoders.text_encoder, windows, clip_skip=clip_skip, penultimate=False)
        return Conditioning(embeddings=hidden)

    assert encoders.tokenizer_2 is not None and encoders.text_encoder_2 is not None
    prompts_2 = prompts if prompt_2 is None else _as_list(prompt_2, "prompt_2")
    if len(prompts_2) != len(prompts):
        raise ValueError(f"prompt_2 has {len(prompts_2)} entries but prompt has {len(prompts)}")
    windows_1 = [tokenize_prompt(encoders.tokenizer, text, parse_weights=parse_weights) for text in prompts]
    windows_2 = [tokenize_prompt(encoders.tokenizer_2, text, parse_weights=parse_weights) for text in prompts_2]
    chunks = max(window.chunks for window in windows_1 + windows_2)
    hidden_1, _ = _encode_windows(
        encoders.tokenizer, encoders.text_encoder, windows_1, clip_skip=clip_skip, penultimate=True, chunks=chunks
    )
    hidden_2, pooled = _encode_windows(
        encoders.tokenizer_2, encoders.text_encoder_2, windows_2, clip_skip=clip_skip, penultimate=True, chunks=chunks
    )
    if pooled is None:
        raise ValueError("SDXL's second text encoder must have a projection (CLIPTextModelWithProjection)")
    time_ids = (size or SizeConditioning()).time_ids(len(prompts), dtype=pooled.dtype).to(pooled.device)
    return Conditioning(embeddings=torch.cat([hidden_1, hidden_2], dim=-1), pooled=pooled, extras={TIME_IDS: time_ids})


def _as_list(prompt: str | Sequence[str], name: str) -> list[str]:
    prompts = [prompt] if isinstance(prompt, str) else list(prompt)
    if not prompts or not all(isinstance(text, str) for text in prompts):
        raise ValueError(f"{name} must be a string or a non-empty list of strings")
    return prompts


def _encode_windows(
    tokenizer: PreTrainedTokenizerBase,
    model: nn.Module,
    windows: list[TokenWindows],
    *,
    clip_skip: int | None,
    penultimate: bool,
    chunks: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Hidden states [B, chunks * window, D] and pooled output [B, P] (None without projection)."""
    chunks = chunks or max(window.chunks for window in windows)
    padded = [pad_chunks(window, chunks, tokenizer) for window in windows]
    ids = torch.cat([window.ids for window in padded])
    weights = torch.cat([window.weights for window in padded])
    weighted = bool((weights != 1.0).any())
    if weighted:  # the empty prompt rides along in the same batch, as the reference point
        ids = torch.cat([ids, empty_window(tokenizer).ids])
    layers = model.config.num_hidden_layers
    skip = clip_skip or 0
    if skip + (2 if penultimate else 1) > layers + 1:
        raise ValueError(f"clip_skip={clip_skip} reaches past the {layers} layers of the text encoder")
    device = next(model.parameters()).device
    with torch.no_grad():
        outputs = model(ids.to(device), output_hidden_states=True)
        if penultimate:
            hidden = outputs.hidden_states[-2 - skip]
        elif skip == 0:
            hidden = outputs.last_hidden_state
        else:
            hidden = _final_layer_norm(model)(outputs.hidden_states[-1 - skip])
    pooled = getattr(outputs, "text_embeds", None)
    if weighted:
        empty, hidden = hidden[-1:], hidden[:-1]
        pooled = pooled[:-1] if pooled is not None else None
        token_weights = weights.to(device=hidden.device, dtype=hidden.dtype)[..., None]
        hidden = torch.where(token_weights != 1.0, empty + (hidden - empty) * token_weights, hidden)
    batch = len(windows)
    hidden = hidden.reshape(batch, -1, hidden.shape[-1])
    if pooled is not None:
        pooled = pooled.reshape(batch, chunks, -1)[:, 0]
    return hidden, pooled


def _final_layer_norm(model: nn.Module) -> nn.Module:
    # transformers 5 puts the norm on CLIPTextModel itself; the projection model wraps a text_model.
    return getattr(model, "text_model", model).final_layer_norm
