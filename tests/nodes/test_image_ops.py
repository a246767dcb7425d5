"""Plain image, mask and latent helpers, and PNG files with text metadata."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from graph_engine.embedded import png_text
from nodes.image_ops import (
    batch_images,
    center_crop_to_aspect,
    crop_image,
    crop_to_multiple,
    grow_mask,
    image_grid,
    image_to_pixels,
    load_image_file,
    load_mask_file,
    mask_to_latent,
    pixels_to_image,
    resize_image,
    resolve_input_path,
    to_pil,
    upscale_latent,
    write_png,
)


def ramp(batch: int = 1, height: int = 4, width: int = 6) -> torch.Tensor:
    return torch.linspace(0, 1, batch * height * width * 3).reshape(batch, height, width, 3)


def test_pixels_round_trip_and_range() -> None:
    image = ramp(2)
    pixels = image_to_pixels(image)
    assert pixels.shape == (2, 3, 4, 6) and pixels.min() == -1 and pixels.max() == 1
    torch.testing.assert_close(pixels_to_image(pixels), image)
    assert pixels_to_image(torch.full((1, 3, 2, 2), 3.0)).max() == 1  # clamped
    grey = image_to_pixels(torch.full((1, 2, 2, 1), 0.5))
    assert grey.shape == (1, 3, 2, 2) and grey.abs().max() == 0


def test_bad_shapes_are_named() -> None:
    with pytest.raises(ValueError, match=r"image must be a tensor \[batch, height, width, channels"):
        image_to_pixels(torch.zeros(3, 4, 4))
    with pytest.raises(ValueError, match="floats in 0..1"):
        image_to_pixels(torch.zeros(1, 4, 4, 3, dtype=torch.uint8))
    with pytest.raises(ValueError, match=r"mask must be a float tensor \[batch, height, width\]"):
        grow_mask(torch.zeros(1, 1, 4, 4), 1)


def test_resize_crop_and_batch() -> None:
    image = ramp()
    assert resize_image(image, 12, 8, "nearest").shape == (1, 8, 12, 3)
    assert torch.equal(resize_image(image, 12, 8, "nearest")[:, ::2, ::2], image)
    assert resize_image(image, 3, 2, "bicubic").max() <= 1
    assert torch.equal(crop_image(image, 1, 2, 3, 2), image[:, 2:4, 1:4])
    with pytest.raises(ValueError, match="does not fit inside the 6x4 image"):
        crop_image(image, 4, 0, 3, 2)
    assert center_crop_to_aspect(image, 1, 1).shape == (1, 4, 4, 3)
    assert torch.equal(center_crop_to_aspect(image, 1, 1), image[:, :, 1:5])
    assert crop_to_multiple(image, 4).shape == (1, 4, 4, 3)
    with pytest.raises(ValueError, match="smaller than the VAE's 8-pixel grid"):
        crop_to_multiple(image, 8)
    both = batch_images(image, ramp(height=8, width=12))
    assert both.shape == (2, 4, 6, 3) and torch.equal(both[:1], image)
    with pytest.raises(ValueError, match="unknown resize method"):
        resize_image(image, 2, 2, "lanczos")  # type: ignore[arg-type]


def test_masks_grow_and_shrink_to_latents() -> None:
    mask = torch.zeros(1, 8, 8)
    mask[0, 4, 4] = 1
    grown = grow_mask(mask, 1)
    assert grown.sum() == 9 and grown[0, 3:6, 3:6].min() == 1
    assert torch.equal(grow_mask(mask, 0), mask)
    latent_mask = mask_to_latent(grown, 2, 2)
    assert latent_mask.shape == (1, 1, 2, 2)
    assert latent_mask[0, 0, 1, 1] == pytest.approx(4 / 16)  # area average of the 4x4 cell
    assert mask_to_latent(torch.ones(1, 2, 2), 4, 4).shape == (1, 1, 4, 4)


def test_upscale_latent() -> None:
    samples = torch.randn(2, 4, 3, 5)
    assert upscale_latent(samples, 2.0).shape == (2, 4, 6, 10)
    assert upscale_latent(samples, 0.5, "nearest").shape == (2, 4, 2, 2)
    with pytest.raises(ValueError, match="scale must be > 0"):
        upscale_latent(samples, 0)


def test_load_image_mask_from_alpha(tmp_path: Path) -> None:
    rgba = np.zeros((3, 5, 4), dtype=np.uint8)
    rgba[..., 0] = 255
    rgba[..., 3] = 255
    rgba[1, 2, 3] = 0  # one transparent pixel
    Image.fromarray(rgba).save(tmp_path / "a.png")
    image, mask = load_image_file(tmp_path / "a.png")
    assert image.shape == (1, 3, 5, 3) and image[..., 0].min() == 1 and image[..., 1].max() == 0
    assert mask.shape == (1, 3, 5) and mask.sum() == 1 and mask[0, 1, 2] == 1
    Image.fromarray(rgba[..., :3]).save(tmp_path / "b.jpg")
    _, no_alpha = load_image_file(tmp_path / "b.jpg")
    assert no_alpha.shape == (1, 3, 5) and no_alpha.sum() == 0


def test_load_mask_channels(tmp_path: Path) -> None:
    rgba = np.zeros((2, 2, 4), dtype=np.uint8)
    rgba[0, 0] = (255, 0, 0, 0)
    rgba[1, 1] = (0, 0, 255, 255)
    Image.fromarray(rgba).save(tmp_path / "m.png")
    assert load_mask_file(tmp_path / "m.png", "red").tolist() == [[[1, 0], [0, 0]]]
    assert load_mask_file(tmp_path / "m.png", "blue").tolist() == [[[0, 0], [0, 1]]]
    assert load_mask_file(tmp_path / "m.png", "alpha").tolist() == [[[1, 1], [1, 0]]]
    Image.fromarray(rgba[..., :3]).save(tmp_path / "rgb.png")
    with pytest.raises(ValueError, match="has no alpha channel"):
        load_mask_file(tmp_path / "rgb.png", "alpha")
    (tmp_path / "junk.png").write_text("not an image")
    with pytest.raises(ValueError, match="cannot read .*junk.png as an image"):
        load_mask_file(tmp_path / "junk.png")


def test_resolve_input_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "inputs").mkdir()
    (tmp_path / "inputs" / "x.png").write_bytes(b"")
    monkeypatch.chdir(tmp_path)
    assert resolve_input_path("inputs/x.png") == Path("inputs/x.png")
    assert resolve_input_path("x.png", [tmp_path / "inputs"]) == tmp_path / "inputs" / "x.png"
    with pytest.raises(FileNotFoundError, match="looked at: .*missing.png"):
        resolve_input_path("missing.png", [tmp_path / "inputs"])


def test_png_text_round_trip_atomic_and_deterministic(tmp_path: Path) -> None:
    picture = to_pil(ramp()[0])
    assert picture.size == (6, 4) and picture.mode == "RGB"
    write_png(tmp_path / "a.png", picture, {"workflow": '{"x": 1}', "params": "{}"})
    write_png(tmp_path / "b.png", picture, {"workflow": '{"x": 1}', "params": "{}"})
    assert png_text(tmp_path / "a.png") == {"workflow": '{"x": 1}', "params": "{}"}
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png", "b.png"]  # no temporary files left
    reread = np.asarray(Image.open(tmp_path / "a.png"))
    assert np.array_equal(reread, np.asarray(picture))


def test_image_grid() -> None:
    images = torch.stack([torch.full((2, 3, 3), value) for value in (0.1, 0.2, 0.3)])
    grid = image_grid(images, padding=1, fill=1.0)
    assert grid.shape == (1, 7, 9, 3)  # 2 columns, 2 rows of 2x3 tiles with 1 px around each
    assert grid[0, 1, 1, 0] == pytest.approx(0.1) and grid[0, 1, 5, 0] == pytest.approx(0.2)
    assert grid[0, 4, 1, 0] == pytest.approx(0.3) and grid[0, 4, 5, 0] == 1.0 and grid[0, 0, 0, 0] == 1.0
    assert image_grid(images, columns=3).shape == (1, 2, 9, 3)
    assert image_grid(images, columns=10).shape == (1, 2, 9, 3)
    with pytest.raises(ValueError, match=">= 0"):
        image_grid(images, padding=-1)
