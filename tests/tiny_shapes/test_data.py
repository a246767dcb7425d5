import random

import numpy as np
import pytest

from nodes.tiny_shapes import data


def test_examples_are_a_pure_function_of_seed_and_index() -> None:
    first = data.example(7, 123)
    again = data.example(7, 123)
    assert first[0] == again[0] and first[2] == again[2]
    assert np.array_equal(first[1], again[1])
    assert not np.array_equal(data.example(8, 123)[1], first[1])


def test_resumed_stream_continues_the_same_batches() -> None:
    stream = data.batches(seed=3, batch_size=4)
    next(stream)
    second_images, second_captions = next(stream)
    resumed_images, resumed_captions = next(data.batches(seed=3, batch_size=4, first_batch=1))
    assert second_captions == resumed_captions
    assert (second_images == resumed_images).all()


def test_batch_layout_and_range() -> None:
    images, captions = data.batch(seed=0, start=0, count=5)
    assert images.shape == (5, 3, data.IMAGE_SIZE, data.IMAGE_SIZE)
    assert images.min() >= -1 and images.max() <= 1
    assert len(captions) == 5


def test_captions_describe_the_scene() -> None:
    for index in range(200):
        scene, _, caption = data.example(1, index)
        assert f"{scene.colour} {scene.shape}" in caption
        assert scene.colour not in scene.background
        if "background" in caption:
            assert f"{' and '.join(scene.background)} background" in caption
        # Every word comes from the published vocabulary (what the tokenizer is trained on).
        assert set(caption.replace(",", " ,").split()) <= set(data.vocabulary())


def test_rendered_colours_match_the_scene() -> None:
    scene, image, _ = data.example(2, 5)
    corner = tuple(int(v) for v in image[0, 0])
    assert corner == data.COLOURS[scene.background[0]]
    ys, xs = np.nonzero((np.abs(image.astype(int) - data.COLOURS[scene.colour]).sum(-1)) < 10)
    assert len(xs) > 20, "the shape's colour should cover a visible area"
    assert abs(xs.mean() - scene.center[0]) < scene.radius and abs(ys.mean() - scene.center[1]) < scene.radius


def test_two_tone_backgrounds_occur() -> None:
    scenes = [data.sample_scene(random.Random(i)) for i in range(300)]
    share = sum(len(s.background) == 2 for s in scenes) / len(scenes)
    assert 0.1 < share < 0.3


def test_unknown_polygon_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="hexagon"):
        data.shape_outline("hexagon", (0.0, 0.0), 1.0, 0.0)


def test_scene_with_keeps_the_asked_attributes_and_varies_the_rest() -> None:
    scenes = [data.scene_with(random.Random(i), "star", "red", ("blue",)) for i in range(40)]
    assert all((s.shape, s.colour, s.background) == ("star", "red", ("blue",)) for s in scenes)
    assert {s.size for s in scenes} == set(data.SIZES) and len({s.position for s in scenes}) > 5
    scene = scenes[0]
    low, high = data.SIZES[scene.size]
    assert low <= scene.radius <= high


def test_collages_put_more_shapes_on_the_example_background() -> None:
    def foreground_share(image: np.ndarray, background: tuple[str, ...]) -> float:
        distance = np.min([np.abs(image.astype(int) - data.COLOURS[name]).sum(-1) for name in background], axis=0)
        return float((distance > 30).mean())

    single, many = [], []
    for index in range(30):
        scene, image, _ = data.example(4, index)
        assert np.array_equal(data.collage(4, index, 1), image)
        single.append(foreground_share(image, scene.background))
        many.append(foreground_share(data.collage(4, index, 4), scene.background))
    # 1 to 4 shapes, 2.5 on average, partly overlapping.
    assert np.mean(many) > 1.6 * np.mean(single)
    assert data.collages(4, 0, 3, 4).shape == (3, 3, data.IMAGE_SIZE, data.IMAGE_SIZE)
