"""Procedural captioned images: one coloured shape on a plain or two-tone background.

Every example is a pure function of (seed, index), so the data set needs no files and a
training run can be resumed or reproduced exactly. Captions are written the way a person
would describe the picture and mention size, position and background only some of the time.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image, ImageDraw

IMAGE_SIZE = 64
# Shapes are drawn this many times larger and box-filtered down, which anti-aliases the edges.
_SUPERSAMPLE = 4

COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (215, 40, 40),
    "orange": (245, 140, 30),
    "yellow": (240, 220, 40),
    "green": (40, 160, 70),
    "blue": (40, 80, 210),
    "purple": (135, 60, 180),
    "white": (245, 245, 245),
    "black": (25, 25, 25),
}
SHAPES: tuple[str, ...] = ("circle", "square", "triangle", "star")
# Circumradius range in pixels per size word.
SIZES: dict[str, tuple[float, float]] = {"small": (8.0, 10.0), "medium": (12.0, 15.0), "large": (18.0, 21.0)}
# Position name -> (column, row) on a 3x3 grid.
POSITIONS: dict[str, tuple[int, int]] = {
    "top left": (0, 0),
    "top": (1, 0),
    "top right": (2, 0),
    "left": (0, 1),
    "center": (1, 1),
    "right": (2, 1),
    "bottom left": (0, 2),
    "bottom": (1, 2),
    "bottom right": (2, 2),
}
_POSITION_PHRASES: dict[str, tuple[str, ...]] = {
    "top left": ("in the top left",),
    "top right": ("in the top right",),
    "bottom left": ("in the bottom left",),
    "bottom right": ("in the bottom right",),
    "top": ("at the top",),
    "bottom": ("at the bottom",),
    "left": ("on the left",),
    "right": ("on the right",),
    "center": ("in the center", "in the middle"),
}
STAR_INNER_RATIO = 0.42
TWO_TONE_PROBABILITY = 0.2
# Rotation jitter of polygons, in degrees either way.
_MAX_ROTATION = 10.0


@dataclass(frozen=True)
class Scene:
    """Everything needed to draw one image (and to check a generated one against it)."""

    shape: str
    colour: str
    size: str
    position: str
    background: tuple[str, ...]  # one colour, or two for a two-tone background
    vertical_split: bool  # two-tone only: left/right halves instead of top/bottom
    radius: float
    center: tuple[float, float]
    rotation: float


def sample_scene(rng: random.Random) -> Scene:
    """Draw a random scene; the foreground colour always differs from the background."""
    shape = rng.choice(SHAPES)
    size = rng.choice(tuple(SIZES))
    position = rng.choice(tuple(POSITIONS))
    n_background = 2 if rng.random() < TWO_TONE_PROBABILITY else 1
    picked = rng.sample(list(COLOURS), n_background + 1)
    return place(rng, shape, picked[0], size, position, tuple(picked[1:]))


def scene_with(rng: random.Random, shape: str, colour: str, background: tuple[str, ...]) -> Scene:
    """A scene of this shape and colour on this background, at a random size and position."""
    size = rng.choice(tuple(SIZES))
    position = rng.choice(tuple(POSITIONS))
    return place(rng, shape, colour, size, position, background)


def place(rng: random.Random, shape: str, colour: str, size: str, position: str, background: tuple[str, ...]) -> Scene:
    """Draw the exact radius, centre (jittered around the position's cell) and rotation of a scene."""
    low, high = SIZES[size]
    radius = rng.uniform(low, high)
    column, row = POSITIONS[position]
    margin = radius + 3.0
    step = (IMAGE_SIZE - 2 * margin) / 2
    center = tuple(
        min(max(margin + cell * step + rng.uniform(-2.0, 2.0), margin), IMAGE_SIZE - margin) for cell in (column, row)
    )
    return Scene(
        shape=shape,
        colour=colour,
        size=size,
        position=position,
        background=background,
        vertical_split=rng.random() < 0.5,
        radius=radius,
        center=(center[0], center[1]),
        rotation=rng.uniform(-_MAX_ROTATION, _MAX_ROTATION),
    )


def shape_outline(shape: str, center: tuple[float, float], radius: float, rotation: float) -> list[tuple[float, float]]:
    """Polygon vertices of a shape (not used for circles), pointing up before rotation."""
    corners = {"square": 4, "triangle": 3, "star": 10}
    if shape not in corners:
        raise ValueError(f"shape_outline: no polygon for shape {shape!r}; expected one of {sorted(corners)}")
    count = corners[shape]
    # A square's first corner sits at 45 degrees so that it is axis-aligned at rotation 0.
    start = -90.0 + (45.0 if shape == "square" else 0.0) + rotation
    points = []
    for k in range(count):
        r = radius * (STAR_INNER_RATIO if shape == "star" and k % 2 else 1.0)
        angle = math.radians(start + 360.0 * k / count)
        points.append((center[0] + r * math.cos(angle), center[1] + r * math.sin(angle)))
    return points


def render(scene: Scene, *more: Scene) -> np.ndarray:
    """Draw a scene as uint8 RGB [64, 64, 3]; the shapes of `more` scenes are drawn over it, in order."""
    big = IMAGE_SIZE * _SUPERSAMPLE
    canvas = Image.new("RGB", (big, big), COLOURS[scene.background[0]])
    draw = ImageDraw.Draw(canvas)
    if len(scene.background) == 2:
        half = big // 2
        box = (half, 0, big, big) if scene.vertical_split else (0, half, big, big)
        draw.rectangle(box, fill=COLOURS[scene.background[1]])
    for shape in (scene, *more):
        _draw(draw, shape.shape, shape.center, shape.radius, shape.rotation, COLOURS[shape.colour])
    return np.asarray(canvas.reduce(_SUPERSAMPLE))


def shape_mask(
    shape: str, center: tuple[float, float], radius: float, rotation: float, size: tuple[int, int]
) -> np.ndarray:
    """Boolean mask of `size` (height, width): the pixels that a shape drawn as `render` draws it covers
    at least half of."""
    height, width = size
    canvas = Image.new("L", (width * _SUPERSAMPLE, height * _SUPERSAMPLE), 0)
    _draw(ImageDraw.Draw(canvas), shape, center, radius, rotation, 255)
    return np.asarray(canvas.reduce(_SUPERSAMPLE)) >= 128


def shape_area(shape: str, radius: float) -> float:
    """Area of a shape with this circumradius (pixels squared)."""
    if shape == "circle":
        return math.pi * radius**2
    xs, ys = zip(*shape_outline(shape, (0.0, 0.0), radius, 0.0))
    return 0.5 * abs(sum(xs[k] * ys[k - 1] - xs[k - 1] * ys[k] for k in range(len(xs))))


def _draw(
    draw: ImageDraw.ImageDraw,
    shape: str,
    center: tuple[float, float],
    radius: float,
    rotation: float,
    fill: tuple[int, int, int] | int,
) -> None:
    """Draw one shape on a canvas `_SUPERSAMPLE` times the image size (centre and radius in image pixels)."""
    cx, cy, r = center[0] * _SUPERSAMPLE, center[1] * _SUPERSAMPLE, radius * _SUPERSAMPLE
    if shape == "circle":
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=fill)
    else:
        draw.polygon(shape_outline(shape, (cx, cy), r, rotation), fill=fill)


def _with_article(phrase: str) -> str:
    return ("an " if phrase[0] in "aeiou" else "a ") + phrase


def caption(scene: Scene, rng: random.Random) -> str:
    """A caption a person might write; size, position and background are sometimes left out."""
    noun = f"{scene.colour} {scene.shape}"
    if rng.random() < 0.6:
        noun = f"{scene.size} {noun}"
    if rng.random() < 0.5:
        noun = f"{noun} {rng.choice(_POSITION_PHRASES[scene.position])}"
    if rng.random() < 0.1:
        return _with_article(noun)
    background = " and ".join(scene.background)
    template = rng.random()
    if template < 0.2:
        return f"{_with_article(background)} background with {_with_article(noun)}"
    if template < 0.35:
        return f"{_with_article(noun)}, {background} background"
    return f"{_with_article(noun)} on {_with_article(background)} background"


def example(seed: int, index: int) -> tuple[Scene, np.ndarray, str]:
    """Example number `index` of the data set with this seed: (scene, uint8 image, caption)."""
    rng = random.Random(seed * 1_000_003 + index)
    scene = sample_scene(rng)
    return scene, render(scene), caption(scene, rng)


def to_tensor(images: list[np.ndarray]) -> torch.Tensor:
    """uint8 HWC images -> float tensor [N, 3, H, W] in [-1, 1], the range the VAE works in."""
    stacked = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2)
    return stacked.float() / 127.5 - 1.0


def batch(seed: int, start: int, count: int) -> tuple[torch.Tensor, list[str]]:
    """Examples start..start+count-1 as (images [count, 3, 64, 64] in [-1, 1], captions)."""
    examples = [example(seed, index) for index in range(start, start + count)]
    return to_tensor([image for _, image, _ in examples]), [text for _, _, text in examples]


def collage(seed: int, index: int, max_shapes: int) -> np.ndarray:
    """Autoencoder training image: example `index`'s scene plus up to `max_shapes - 1` more shapes on
    its background (the count is drawn per image; with `max_shapes` 1 it is the example's image).

    An image with one shape is mostly flat background, and corners are what an autoencoder learns
    last (small stars and triangles come back rounded), so more shapes per image buy more of them
    for the same compute. The VAE needs no captions, so it can train on scenes no caption describes.
    """
    rng = random.Random(seed * 1_000_003 + index)
    scene = sample_scene(rng)
    if max_shapes <= 1:
        return render(scene)
    others = [_other_colour(rng, scene.background) for _ in range(rng.randint(0, max_shapes - 1))]
    return render(scene, *(scene_with(rng, rng.choice(SHAPES), colour, scene.background) for colour in others))


def _other_colour(rng: random.Random, background: tuple[str, ...]) -> str:
    return rng.choice([name for name in COLOURS if name not in background])


def collages(seed: int, start: int, count: int, max_shapes: int) -> torch.Tensor:
    """Collages start..start+count-1 as images [count, 3, 64, 64] in [-1, 1]."""
    return to_tensor([collage(seed, index, max_shapes) for index in range(start, start + count)])


def batches(seed: int, batch_size: int, first_batch: int = 0) -> Iterator[tuple[torch.Tensor, list[str]]]:
    """Endless stream of batches; resuming at `first_batch` continues the same stream."""
    number = first_batch
    while True:
        yield batch(seed, number * batch_size, batch_size)
        number += 1


def vocabulary() -> list[str]:
    """Every word a caption can contain (the tokenizer is trained on these)."""
    words = {"a", "an", "background", "with", "and", "on", "in", "at", "the", ","}
    words |= set(COLOURS) | set(SHAPES) | set(SIZES)
    for phrases in _POSITION_PHRASES.values():
        for phrase in phrases:
            words |= set(phrase.split())
    return sorted(words)
