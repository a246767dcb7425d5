import numpy as np
import pytest

from nodes.tiny_shapes import data
from nodes.tiny_shapes.classify import MIN_FIT, read_image, shape_fits


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


@pytest.mark.parametrize("radius", [8.0, 20.0])
def test_each_rendering_fits_its_own_outline_best(radius: float) -> None:
    for shape in data.SHAPES:
        region = data.shape_mask(shape, (30.3, 33.1), radius, 7.0, (64, 64))
        fits = shape_fits(region)
        assert max(fits, key=fits.__getitem__) == shape, (shape, fits)
        assert fits[shape] >= MIN_FIT[shape] + 0.05, (shape, fits)


def test_a_lumpy_blob_is_no_shape() -> None:
    # Two overlapping circles: a peanut is neither of the round shapes, however close to both.
    def circle(x: float) -> data.Scene:
        return data.Scene("circle", "white", "medium", "center", ("blue",), False, 10.0, (x, 32.0), 0.0)

    reading = read_image(data.render(circle(26.0), circle(38.0)))
    assert reading.colour == "white" and reading.background == ("blue",)
    assert reading.shape is None and max(reading.fits.values()) < min(MIN_FIT.values()), reading


def test_blank_image_has_no_foreground() -> None:
    reading = read_image(np.full((64, 64, 3), data.COLOURS["blue"], dtype=np.uint8))
    assert reading.background == ("blue",) and reading.shape is None and reading.colour is None


def test_rejects_non_rgb_uint8() -> None:
    with pytest.raises(ValueError, match="uint8 RGB"):
        read_image(np.zeros((64, 64), dtype=np.uint8))
    with pytest.raises(ValueError, match="uint8 RGB"):
        read_image(np.zeros((64, 64, 3), dtype=np.float32))
