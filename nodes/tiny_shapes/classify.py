"""Read back what a tiny-shapes image shows, by plain geometry (no learned model).

background  palette colours that cover the image border
foreground  the largest connected region that differs from the background (holes filled)
colour      nearest palette colour to the median of the region's interior
shape       the shape whose outline fits the region best: each shape is drawn with the region's
            area at its centroid, at every rotation (3 degree steps), and scored by intersection over
            union; the best fit names the shape only if it reaches that shape's MIN_FIT, so a lumpy
            blob is no shape at all rather than whichever shape it is least unlike
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from nodes.tiny_shapes.data import COLOURS, SHAPES, shape_area, shape_mask

_PALETTE_NAMES = tuple(COLOURS)
_PALETTE = np.array([COLOURS[name] for name in _PALETTE_NAMES], dtype=np.float32)
# A pixel belongs to the foreground when it is at least this far (RGB distance) from the background.
FOREGROUND_DISTANCE = 60.0
# A palette colour is part of the background when it covers this share of the border.
BACKGROUND_SHARE = 0.25
# Least intersection over union with its best-fitting outline for a region to count as that shape:
# half-way between how well a shape's own rendering fits its outline (0.92-0.98) and how well the
# most similar other shape's does (a square on a circle 0.83, a circle on a square 0.85, either on a
# triangle 0.72, any on a star 0.67). A lumpy blob between a circle and a square is neither.
MIN_FIT = {"circle": 0.9, "square": 0.9, "triangle": 0.82, "star": 0.8}
# Rotations after which each polygon outline repeats itself (a circle looks the same at every rotation).
_SYMMETRY_DEGREES = {"square": 90, "triangle": 120, "star": 72}
_ROTATION_STEP_DEGREES = 3


@dataclass(frozen=True)
class Reading:
    """What an image shows: colour and shape are None when no foreground region was found, shape also
    when the region fits no outline well enough. `fits`: each shape's intersection over union with the
    region (empty without a region)."""

    colour: str | None
    background: tuple[str, ...]
    shape: str | None
    fits: dict[str, float]

    def fit_to(self, shape: str) -> float:
        """Intersection over union of the foreground with this shape's outline (0 without a foreground)."""
        return self.fits.get(shape, 0.0)


def nearest_colour(rgb: np.ndarray) -> np.ndarray:
    """Palette index of the nearest colour for each RGB row of [N, 3]."""
    distances = np.linalg.norm(rgb[:, None, :].astype(np.float32) - _PALETTE[None], axis=-1)
    return distances.argmin(axis=1)


def _border(image: np.ndarray, width: int = 2) -> np.ndarray:
    mask = np.zeros(image.shape[:2], dtype=bool)
    mask[:width], mask[-width:], mask[:, :width], mask[:, -width:] = True, True, True, True
    return mask


def _flood(seeds: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """Pixels of `allowed` 4-connected to `seeds` (iterated dilation; images are tiny)."""
    reached = seeds & allowed
    while True:
        grown = reached.copy()
        grown[1:] |= reached[:-1]
        grown[:-1] |= reached[1:]
        grown[:, 1:] |= reached[:, :-1]
        grown[:, :-1] |= reached[:, 1:]
        grown &= allowed
        if (grown == reached).all():
            return reached
        reached = grown


def _largest_region(mask: np.ndarray) -> np.ndarray:
    remaining = mask.copy()
    best = np.zeros_like(mask)
    while remaining.any():
        seed = np.zeros_like(mask)
        seed[np.unravel_index(remaining.argmax(), mask.shape)] = True
        region = _flood(seed, remaining)
        if region.sum() > best.sum():
            best = region
        remaining &= ~region
    return best


def shape_fits(region: np.ndarray) -> dict[str, float]:
    """How well each shape explains a boolean region: the intersection over union of the region and
    that shape drawn with the region's area, centred on its centroid, at the best rotation."""
    ys, xs = np.nonzero(region)
    center = (float(xs.mean()) + 0.5, float(ys.mean()) + 0.5)  # pixel centres sit half a pixel in
    fits = {}
    for shape in SHAPES:
        radius = math.sqrt(len(xs) / shape_area(shape, 1.0))
        rotations = range(0, _SYMMETRY_DEGREES[shape], _ROTATION_STEP_DEGREES) if shape != "circle" else (0,)
        best = 0.0
        for rotation in rotations:
            template = shape_mask(shape, center, radius, rotation, region.shape)
            best = max(best, (template & region).sum() / (template | region).sum())
        fits[shape] = float(best)
    return fits


def read_image(image: np.ndarray) -> Reading:
    """Classify a uint8 RGB image [H, W, 3]."""
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"read_image: expected a uint8 RGB array [H, W, 3], got {image.dtype} {image.shape}")
    border = _border(image)
    border_names = nearest_colour(image[border])
    counts = np.bincount(border_names, minlength=len(_PALETTE_NAMES)) / len(border_names)
    background_ids = [int(i) for i in np.argsort(-counts) if counts[i] >= BACKGROUND_SHARE] or [int(counts.argmax())]
    # Distances to the background as it actually looks in this image, not to the ideal palette colour.
    references = [np.median(image[border][border_names == i], axis=0) for i in background_ids]
    distance = np.min([np.linalg.norm(image.astype(np.float32) - ref, axis=-1) for ref in references], axis=0)
    region = _largest_region(distance > FOREGROUND_DISTANCE)
    background = tuple(_PALETTE_NAMES[i] for i in background_ids)
    if region.sum() < 6:
        return Reading(colour=None, background=background, shape=None, fits={})
    # Fill holes: anything not reachable from the border without crossing the region.
    region |= ~_flood(border, ~region)
    interior = region.copy()
    interior[1:-1, 1:-1] &= region[:-2, 1:-1] & region[2:, 1:-1] & region[1:-1, :-2] & region[1:-1, 2:]
    core = interior if interior.sum() >= 4 else region
    colour = _PALETTE_NAMES[int(nearest_colour(np.median(image[core], axis=0)[None])[0])]
    fits = shape_fits(region)
    best = max(fits, key=fits.__getitem__)
    return Reading(colour=colour, background=background, shape=best if fits[best] >= MIN_FIT[best] else None, fits=fits)
