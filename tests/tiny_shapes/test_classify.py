import numpy as np
import pytest

from nodes.tiny_shapes import data
from nodes.tiny_shapes.classify import read_image, shape_measures


def test_reads_rendered_scenes_exactly() -> None:
    misses = []
    for index in range(120):
        scene, image, _ = data.example(99, index)
        reading = read_image(image)
        if (reading.colour, set(reading.background), reading.shape) != (
            scene.colour,
            set(scene.background),
            scene.shape,
        ):
            misses.append((scene, reading))
    assert not misses


def test_measures_separate_the_shapes() -> None:
    def region(shape: str) -> np.ndarray:
        scene = data.Scene(shape, "white", "large", "center", ("black",), False, 20.0, (32.0, 32.0), 0.0)
        return data.render(scene)[..., 0] > 128

    convexity = {shape: shape_measures(region(shape))[0] for shape in data.SHAPES}
    roundness = {shape: shape_measures(region(shape))[1] for shape in data.SHAPES}
    assert convexity["star"] < 0.8 < min(convexity[s] for s in ("circle", "square", "triangle"))
    assert roundness["circle"] > roundness["square"] > roundness["triangle"]


def test_blank_image_has_no_foreground() -> None:
    reading = read_image(np.full((64, 64, 3), data.COLOURS["blue"], dtype=np.uint8))
    assert reading.background == ("blue",) and reading.shape is None and reading.colour is None


def test_rejects_non_rgb_uint8() -> None:
    with pytest.raises(ValueError, match="uint8 RGB"):
        read_image(np.zeros((64, 64), dtype=np.uint8))
    with pytest.raises(ValueError, match="uint8 RGB"):
        read_image(np.zeros((64, 64, 3), dtype=np.float32))
