"""Tiled application of the VAE encoder/decoder, with linear blending across tile overlaps.

Bounds activation memory for large images: each tile is processed alone, neighbouring tiles
overlap, and each tile's leading edge is cross-faded with the (already blended) tile above and
to the left before the overlap is cropped away, so seams don't show. Same scheme as diffusers'
`enable_tiling()`, written without in-place writes so it also works under autograd.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass(frozen=True)
class VAETiling:
    """Tile sizes in pixels and latent pixels, and the fraction of a tile that overlaps its neighbour."""

    sample_tile: int
    latent_tile: int
    overlap_factor: float = 0.25

    def __post_init__(self) -> None:
        if self.sample_tile <= 0 or self.latent_tile <= 0:
            raise ValueError(f"VAE tile sizes must be positive, got {self.sample_tile} px / {self.latent_tile} latent")
        if not 0.0 <= self.overlap_factor < 1.0:
            raise ValueError(f"VAE tile overlap_factor must be in [0, 1), got {self.overlap_factor}")
        if int(min(self.sample_tile, self.latent_tile) * (1 - self.overlap_factor)) < 1:
            raise ValueError(
                f"VAE tiles of {self.latent_tile} latent px with overlap {self.overlap_factor} leave no stride"
            )


def _cross_fade(previous: Tensor, tile: Tensor, extent: int, dim: int) -> Tensor:
    """Blend the first `extent` rows (dim=2) or columns (dim=3) of `tile` with the last ones of `previous`."""
    extent = min(previous.shape[dim], tile.shape[dim], extent)
    if extent == 0:
        return tile
    shape = [1, 1, 1, 1]
    shape[dim] = extent
    weight = (torch.arange(extent, device=tile.device, dtype=torch.float32) / extent).to(tile.dtype).view(shape)
    head = (
        previous.narrow(dim, previous.shape[dim] - extent, extent) * (1 - weight) + tile.narrow(dim, 0, extent) * weight
    )
    return torch.cat([head, tile.narrow(dim, extent, tile.shape[dim] - extent)], dim=dim)


def apply_tiled(x: Tensor, fn: Callable[[Tensor], Tensor], *, tile: int, stride: int, blend: int, keep: int) -> Tensor:
    """Run `fn` on `tile`-sized windows of `x` every `stride` pixels and stitch the outputs.

    `blend` and `keep` are in output pixels: the overlap cross-faded, and the part of each output
    tile kept after blending (the rest is covered by the next tile).
    """
    rows: list[Tensor] = []
    above: list[Tensor] = []
    for top in range(0, x.shape[2], stride):
        row: list[Tensor] = []
        for column, left in enumerate(range(0, x.shape[3], stride)):
            out = fn(x[:, :, top : top + tile, left : left + tile])
            if above:
                out = _cross_fade(above[column], out, blend, dim=2)
            if row:
                out = _cross_fade(row[-1], out, blend, dim=3)
            row.append(out)
        rows.append(torch.cat([out[:, :, :keep, :keep] for out in row], dim=3))
        above = row
    return torch.cat(rows, dim=2)


def tiled_encode(x: Tensor, encode_tile: Callable[[Tensor], Tensor], tiling: VAETiling) -> Tensor:
    """Encoder moments of image `x` computed tile by tile."""
    blend = int(tiling.latent_tile * tiling.overlap_factor)
    return apply_tiled(
        x,
        encode_tile,
        tile=tiling.sample_tile,
        stride=int(tiling.sample_tile * (1 - tiling.overlap_factor)),
        blend=blend,
        keep=tiling.latent_tile - blend,
    )


def tiled_decode(z: Tensor, decode_tile: Callable[[Tensor], Tensor], tiling: VAETiling) -> Tensor:
    """Image decoded from latent `z` tile by tile."""
    blend = int(tiling.sample_tile * tiling.overlap_factor)
    return apply_tiled(
        z,
        decode_tile,
        tile=tiling.latent_tile,
        stride=int(tiling.latent_tile * (1 - tiling.overlap_factor)),
        blend=blend,
        keep=tiling.sample_tile - blend,
    )
