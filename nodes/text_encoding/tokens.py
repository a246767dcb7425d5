"""Prompts to CLIP token windows: weighted tokens split into 75-token chunks, each wrapped in
begin/end tokens and padded to the tokenizer's 77 positions (as A1111 and ComfyUI do)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from transformers import PreTrainedTokenizerBase

from nodes.text_encoding.prompt_weights import WeightedText, parse_prompt_weights


@dataclass(frozen=True)
class TokenWindows:
    """Token ids and per-token weights of one prompt, [chunks, window] each."""

    ids: torch.Tensor
    weights: torch.Tensor

    @property
    def chunks(self) -> int:
        return self.ids.shape[0]


def tokenize_prompt(tokenizer: PreTrainedTokenizerBase, prompt: str, *, parse_weights: bool = True) -> TokenWindows:
    """Token windows for `prompt`; with `parse_weights`, `(word:1.2)` syntax sets token weights."""
    runs = parse_prompt_weights(prompt) if parse_weights else [WeightedText(prompt, 1.0)]
    ids: list[int] = []
    weights: list[float] = []
    for run in runs:
        run_ids = tokenizer(run.text, add_special_tokens=False, verbose=False).input_ids if run.text else []
        ids += run_ids
        weights += [run.weight] * len(run_ids)
    return _windows(tokenizer, ids, weights)


def empty_window(tokenizer: PreTrainedTokenizerBase) -> TokenWindows:
    """The window of the empty prompt: begin, end, padding."""
    return _windows(tokenizer, [], [])


def pad_chunks(windows: TokenWindows, chunks: int, tokenizer: PreTrainedTokenizerBase) -> TokenWindows:
    """Append empty-prompt windows so that prompts of a batch have the same number of chunks."""
    missing = chunks - windows.chunks
    if missing <= 0:
        return windows
    empty = empty_window(tokenizer)
    return TokenWindows(
        ids=torch.cat([windows.ids, empty.ids.expand(missing, -1)]),
        weights=torch.cat([windows.weights, empty.weights.expand(missing, -1)]),
    )


def _windows(tokenizer: PreTrainedTokenizerBase, ids: Sequence[int], weights: Sequence[float]) -> TokenWindows:
    window = tokenizer.model_max_length
    body = window - 2
    bos, eos, pad = tokenizer.bos_token_id, tokenizer.eos_token_id, tokenizer.pad_token_id
    if None in (bos, eos, pad) or not 2 < window < 100_000:
        raise ValueError("the tokenizer needs bos, eos and pad tokens and a model_max_length (77 for CLIP)")
    all_ids, all_weights = [], []
    for start in range(0, max(len(ids), 1), body):
        chunk_ids = list(ids[start : start + body])
        padding = body - len(chunk_ids)
        all_ids.append([bos, *chunk_ids, eos] + [pad] * padding)
        all_weights.append([1.0, *weights[start : start + body], 1.0] + [1.0] * padding)
    return TokenWindows(ids=torch.tensor(all_ids, dtype=torch.long), weights=torch.tensor(all_weights))
