"""What a text encoder hands to the sampler: per-token embeddings, an optional pooled embedding,
and model-specific extras (SDXL's size and crop conditioning)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import torch

# Key of the SDXL micro-conditioning tensor [B, 6] in `Conditioning.extras`.
TIME_IDS = "time_ids"


@dataclass(frozen=True)
class Conditioning:
    """Text conditioning for a batch of B prompts.

    `embeddings` [B, L, D] is what the UNet cross-attends to (L = 77 per prompt chunk);
    `pooled` [B, P] is SDXL's pooled text embedding; `extras` holds further per-batch
    conditioning such as `TIME_IDS`. Values are shared, never mutated: derive new ones.
    """

    embeddings: torch.Tensor
    pooled: torch.Tensor | None = None
    extras: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.embeddings.ndim != 3:
            raise ValueError(f"Conditioning.embeddings must be [batch, tokens, dim], got shape {tuple(self.embeddings.shape)}")
        if self.pooled is not None and (self.pooled.ndim != 2 or self.pooled.shape[0] != self.batch_size):
            raise ValueError(
                f"Conditioning.pooled must be [batch={self.batch_size}, dim], got shape {tuple(self.pooled.shape)}"
            )

    @property
    def batch_size(self) -> int:
        return self.embeddings.shape[0]

    def to(self, device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> Conditioning:
        """A copy on `device`, floating-point tensors in `dtype` (integer extras keep theirs)."""

        def move(value: Any) -> Any:
            if not isinstance(value, torch.Tensor):
                return value
            return value.to(device=device, dtype=dtype if value.is_floating_point() else None)

        return Conditioning(
            embeddings=move(self.embeddings),
            pooled=move(self.pooled),
            extras={key: move(value) for key, value in self.extras.items()},
        )


@dataclass(frozen=True)
class SizeConditioning:
    """SDXL micro-conditioning (Podell et al. 2023, section 2.2): the size the training image
    had, the top-left corner of the crop taken from it, and the size of the generated image,
    each as (height, width) in pixels."""

    original_size: tuple[int, int] = (1024, 1024)
    crop_top_left: tuple[int, int] = (0, 0)
    target_size: tuple[int, int] = (1024, 1024)

    def time_ids(self, batch_size: int = 1, *, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """The [batch, 6] `time_ids` tensor SDXL's UNet embeds: original, crop, target."""
        values = [*self.original_size, *self.crop_top_left, *self.target_size]
        if len(values) != 6:
            raise ValueError(f"sizes must be (height, width) pairs, got {self}")
        return torch.tensor(values, dtype=dtype).repeat(batch_size, 1)
