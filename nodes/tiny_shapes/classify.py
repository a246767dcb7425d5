"""Read back what a tiny-shapes image shows, by plain geometry (no learned model).

background  palette colours that cover the image border
foreground  the largest connected region that differs from the background (holes filled)
colour      nearest palette colour to the median of the region's interior
shape       from two rotation-invariant measures of the region:
            convexity = area / area of its convex hull     (a star is far from convex)
            roundness = area / area of the circle around it (circle 1, square 2/pi, triangle 0.41)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from nodes.tiny_shapes.data import COLOURS

_PALETTE_NAMES = tuple(COLOURS)
_PALETTE = np.array([COLOURS[name] for name in _PALETTE_NAMES], dtype=np.float32)
# A pixel belongs to the foreground when it is at least this far (RGB distance) from the background.
FOREGROUND_DISTANCE = 60.0
# A palette colour is part of the background when it covers this share of the border.
BACKGROUND_SHARE = 0.25
STAR_MAX_CONVEXITY = 0.9
CIRCLE_MIN_ROUNDNESS = 0.8
SQUARE_MIN_ROUNDNESS = 0.55


@dataclass(frozen=True)
class Reading:
    """What an image shows; shape and colour are None when no foreground region was found."""

    colour: str | None
    background: tuple[str, ...]
    shape: str | None
    convexity: float
    roundness: float


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


def _convex_hull(points: list[tuple[float, float]]) -> np.ndarray:
    """Andrew's monotone chain over (x, y) points; returns the hull's vertices in order."""
    ordered = sorted(set(points))

    def half(sequence: list[tuple[float, float]]) -> list[tuple[float, float]]:
        hull: list[tuple[float, float]] = []
        for x, y in sequence:
            while len(hull) >= 2:
                (ax, ay), (bx, by) = hull[-2], hull[-1]
                if (bx - ax) * (y - ay) - (by - ay) * (x - ax) > 0:
                    break
                hull.pop()
            hull.append((x, y))
        return hull[:-1]

    return np.array(half(ordered) + half(ordered[::-1]), dtype=np.float64)


def _inside_hull_count(hull: np.ndarray, shape: tuple[int, int]) -> int:
    """Number of pixel centres inside (or on) a convex polygon."""
    ys, xs = np.mgrid[0 : shape[0], 0 : shape[1]]
    grid = np.stack([xs.ravel(), ys.ravel()], axis=1).astype(np.float64)
    inside = np.ones(len(grid), dtype=bool)
    for start, end in zip(hull, np.roll(hull, -1, axis=0)):
        edge = end - start
        inside &= edge[0] * (grid[:, 1] - start[1]) - edge[1] * (grid[:, 0] - start[0]) >= -1e-9
    return int(inside.sum())


def shape_measures(region: np.ndarray) -> tuple[float, float]:
    """(convexity, roundness) of a boolean region."""
    ys, xs = np.nonzero(region)
    area = len(xs)
    if area < 3:
        return 0.0, 0.0
    points = np.stack([xs, ys], axis=1).astype(np.float64)
    # Only outline pixels can be hull vertices.
    inner = region.copy()
    inner[1:-1, 1:-1] = region[1:-1, 1:-1] & region[:-2, 1:-1] & region[2:, 1:-1] & region[1:-1, :-2] & region[1:-1, 2:]
    outline_ys, outline_xs = np.nonzero(region & ~inner)
    hull = _convex_hull(list(zip(outline_xs.tolist(), outline_ys.tolist())))
    convexity = area / max(_inside_hull_count(hull, region.shape), area) if len(hull) >= 3 else 0.0
    centre = points.mean(axis=0)
    # Pixel centres stop half a pixel short of the true outline.
    radius = np.linalg.norm(points - centre, axis=1).max() + 0.5
    return convexity, area / (math.pi * radius**2)


def name_shape(convexity: float, roundness: float) -> str:
    if convexity < STAR_MAX_CONVEXITY:
        return "star"
    if roundness >= CIRCLE_MIN_ROUNDNESS:
        return "circle"
    if roundness >= SQUARE_MIN_ROUNDNESS:
        return "square"
    return "triangle"


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
        return Reading(colour=None, background=background, shape=None, convexity=0.0, roundness=0.0)
    # Fill holes: anything not reachable from the border without crossing the region.
    region |= ~_flood(border, ~region)
    interior = region.copy()
    interior[1:-1, 1:-1] &= region[:-2, 1:-1] & region[2:, 1:-1] & region[1:-1, :-2] & region[1:-1, 2:]
    core = interior if interior.sum() >= 4 else region
    colour = _PALETTE_NAMES[int(nearest_colour(np.median(image[core], axis=0)[None])[0])]
    convexity, roundness = shape_measures(region)
    return Reading(
        colour=colour,
        background=background,
        shape=name_shape(convexity, roundness),
        convexity=convexity,
        roundness=roundness,
    )
