"""Plain helpers on the pack's runtime shapes: IMAGE [B, H, W, C] and MASK [B, H, W] in 0..1 on the
CPU, latent samples [B, C, h, w]; plus reading images and masks from files and writing PNGs with
text metadata. No engine, no models: usable from any script."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps, PngImagePlugin

ResizeMethod = Literal["nearest", "bilinear", "bicubic", "area"]
RESIZE_METHODS: tuple[ResizeMethod, ...] = ("nearest", "bilinear", "bicubic", "area")
MaskChannel = Literal["alpha", "red", "green", "blue", "luminance"]
# zlib level for written PNGs: fixed, so the same pixels and text always give the same bytes.
PNG_COMPRESS_LEVEL = 4


# ---- checks ------------------------------------------------------------------------------


def check_image(image: torch.Tensor, what: str = "image") -> None:
    if not isinstance(image, torch.Tensor) or image.ndim != 4 or image.shape[-1] not in (1, 3, 4):
        shape = tuple(image.shape) if isinstance(image, torch.Tensor) else type(image).__name__
        raise ValueError(f"{what} must be a tensor [batch, height, width, channels (1, 3 or 4)], got {shape}")
    if not image.is_floating_point():
        raise ValueError(f"{what} must hold floats in 0..1, got dtype {image.dtype}")


def check_mask(mask: torch.Tensor, what: str = "mask") -> None:
    if not isinstance(mask, torch.Tensor) or mask.ndim != 3 or not mask.is_floating_point():
        shape = tuple(mask.shape) if isinstance(mask, torch.Tensor) else type(mask).__name__
        raise ValueError(f"{what} must be a float tensor [batch, height, width] in 0..1, got {shape}")


# ---- images <-> model pixels ---------------------------------------------------------------


def image_to_pixels(image: torch.Tensor) -> torch.Tensor:
    """IMAGE [B, H, W, C] in 0..1 -> RGB pixels [B, 3, H, W] in -1..1, the VAE's range."""
    check_image(image)
    rgb = image[..., :3] if image.shape[-1] >= 3 else image.expand(-1, -1, -1, 3)
    return rgb.permute(0, 3, 1, 2).float() * 2 - 1


def pixels_to_image(pixels: torch.Tensor) -> torch.Tensor:
    """Model pixels [B, C, H, W] in about -1..1 -> IMAGE [B, H, W, C] in 0..1, float32 on the CPU."""
    if pixels.ndim != 4:
        raise ValueError(f"pixels must be [batch, channels, height, width], got shape {tuple(pixels.shape)}")
    return ((pixels.detach().float().cpu() + 1) / 2).clamp(0, 1).permute(0, 2, 3, 1).contiguous()


# ---- geometry --------------------------------------------------------------------------------


def _interpolate(x: torch.Tensor, height: int, width: int, method: ResizeMethod) -> torch.Tensor:
    """Resize [B, C, H, W]; antialiased when shrinking with bilinear/bicubic."""
    if method not in RESIZE_METHODS:
        raise ValueError(f"unknown resize method {method!r}; expected one of {', '.join(RESIZE_METHODS)}")
    if height < 1 or width < 1:
        raise ValueError(f"resize target must be at least 1x1, got {width}x{height}")
    if method == "nearest":
        return F.interpolate(x, size=(height, width), mode="nearest-exact")
    if method == "area":
        return F.interpolate(x, size=(height, width), mode="area")
    return F.interpolate(x, size=(height, width), mode=method, align_corners=False, antialias=True)


def resize_image(image: torch.Tensor, width: int, height: int, method: ResizeMethod = "bilinear") -> torch.Tensor:
    """IMAGE resized to width x height (aspect ratio not kept)."""
    check_image(image)
    resized = _interpolate(image.permute(0, 3, 1, 2), height, width, method)
    return resized.clamp(0, 1).permute(0, 2, 3, 1).contiguous()


def crop_image(image: torch.Tensor, x: int, y: int, width: int, height: int) -> torch.Tensor:
    """The width x height region whose top-left corner is (x, y); it must lie inside the image."""
    check_image(image)
    _, image_height, image_width, _ = image.shape
    if x < 0 or y < 0 or width < 1 or height < 1 or x + width > image_width or y + height > image_height:
        raise ValueError(
            f"crop ({x}, {y}, {width}x{height}) does not fit inside the {image_width}x{image_height} image"
        )
    return image[:, y : y + height, x : x + width].contiguous()


def _aspect_box(image_height: int, image_width: int, width: int, height: int) -> tuple[int, int, int, int]:
    """(x, y, width, height) of the largest centred box with the aspect ratio width:height."""
    if image_width * height > image_height * width:  # too wide
        crop_width = max(1, round(image_height * width / height))
        return (image_width - crop_width) // 2, 0, crop_width, image_height
    crop_height = max(1, round(image_width * height / width))
    return 0, (image_height - crop_height) // 2, image_width, crop_height


def center_crop_to_aspect(image: torch.Tensor, width: int, height: int) -> torch.Tensor:
    """The largest centred crop with the aspect ratio width:height."""
    check_image(image)
    return crop_image(image, *_aspect_box(image.shape[1], image.shape[2], width, height))


def center_crop_latent(samples: torch.Tensor, width: int, height: int) -> torch.Tensor:
    """The largest centred crop of [B, C, h, w] (latents or a noise mask) with the aspect ratio width:height."""
    x, y, crop_width, crop_height = _aspect_box(samples.shape[2], samples.shape[3], width, height)
    return samples[:, :, y : y + crop_height, x : x + crop_width].contiguous()


def crop_to_multiple(image: torch.Tensor, multiple: int) -> torch.Tensor:
    """Centred crop to the largest size whose sides are multiples of `multiple` (VAE encoding needs it)."""
    check_image(image)
    _, height, width, _ = image.shape
    new_height, new_width = height // multiple * multiple, width // multiple * multiple
    if new_height == 0 or new_width == 0:
        raise ValueError(f"a {width}x{height} image is smaller than the VAE's {multiple}-pixel grid")
    if (new_height, new_width) == (height, width):
        return image
    return crop_image(image, (width - new_width) // 2, (height - new_height) // 2, new_width, new_height)


def batch_images(first: torch.Tensor, second: torch.Tensor, method: ResizeMethod = "bilinear") -> torch.Tensor:
    """Both batches as one; `second` is resized to `first`'s size (and channel count) when they differ."""
    check_image(first, "first image")
    check_image(second, "second image")
    if second.shape[-1] != first.shape[-1]:
        raise ValueError(f"cannot batch images with {first.shape[-1]} and {second.shape[-1]} channels")
    if second.shape[1:3] != first.shape[1:3]:
        second = resize_image(second, first.shape[2], first.shape[1], method)
    return torch.cat([first, second])


def image_grid(images: torch.Tensor, columns: int = 0, padding: int = 0, fill: float = 1.0) -> torch.Tensor:
    """A batch tiled into one image, row by row; `columns` 0 picks a near-square grid. Tiles are
    separated (and framed) by `padding` pixels of value `fill`."""
    check_image(images, "images")
    count, height, width, channels = images.shape
    if columns < 0 or padding < 0:
        raise ValueError(f"columns and padding must be >= 0, got {columns} and {padding}")
    columns = min(columns or math.ceil(math.sqrt(count)), count)
    rows = math.ceil(count / columns)
    step_y, step_x = height + padding, width + padding
    grid = torch.full((1, rows * step_y + padding, columns * step_x + padding, channels), fill, dtype=images.dtype)
    for index in range(count):
        top, left = padding + index // columns * step_y, padding + index % columns * step_x
        grid[0, top : top + height, left : left + width] = images[index]
    return grid


# ---- masks and latents -----------------------------------------------------------------------


def mask_to_latent(mask: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """MASK [B, H, W] -> [B, 1, height, width] by area averaging (soft edges stay soft)."""
    check_mask(mask)
    shrinking = mask.shape[1] >= height and mask.shape[2] >= width
    return _interpolate(mask[:, None].float(), height, width, "area" if shrinking else "bilinear").clamp(0, 1)


def grow_mask(mask: torch.Tensor, pixels: int) -> torch.Tensor:
    """Dilate a mask by `pixels` (a square neighbourhood), so inpainting blends past the edge."""
    check_mask(mask)
    if pixels < 0:
        raise ValueError(f"grow_mask: pixels must be >= 0, got {pixels}")
    if pixels == 0:
        return mask
    return F.max_pool2d(mask[:, None], kernel_size=2 * pixels + 1, stride=1, padding=pixels)[:, 0]


def upscale_latent(samples: torch.Tensor, scale: float, method: ResizeMethod = "bilinear") -> torch.Tensor:
    """Latent samples [B, C, h, w] resized by `scale` (sides rounded, at least 1)."""
    if samples.ndim != 4:
        raise ValueError(f"latent samples must be [batch, channels, height, width], got {tuple(samples.shape)}")
    if not scale > 0:
        raise ValueError(f"latent scale must be > 0, got {scale}")
    height, width = (max(1, round(side * scale)) for side in samples.shape[2:])
    return resize_latent(samples, height, width, method)


def resize_latent(samples: torch.Tensor, height: int, width: int, method: ResizeMethod = "bilinear") -> torch.Tensor:
    """Latent samples (or a latent noise mask) [B, C, h, w] resized to height x width."""
    # No antialiasing in latent space: it would smear the channels' statistics.
    if method in ("bilinear", "bicubic"):
        return F.interpolate(samples, size=(height, width), mode=method, align_corners=False)
    return _interpolate(samples, height, width, method)


# ---- files -----------------------------------------------------------------------------------


def resolve_input_path(path: str | Path, search: Sequence[Path] = ()) -> Path:
    """An existing file: an absolute `path` itself; a relative one under each folder of `search` in
    turn (a server's uploads: a name there wins over a file of that name wherever the process runs),
    then from the current directory. The error lists every place looked at."""
    candidate = Path(path).expanduser()
    if not str(path):
        raise FileNotFoundError("no file given: expected the path of an image file")
    tried = [candidate] if candidate.is_absolute() else [*(Path(root) / candidate for root in search), candidate]
    for place in tried:
        if place.is_file():
            return place
    raise FileNotFoundError(
        f"image file {str(path)!r} not found; looked at: {', '.join(str(p.absolute()) for p in tried)}"
    )


def _open_picture(path: Path) -> Image.Image:
    try:
        with Image.open(path) as opened:
            picture = ImageOps.exif_transpose(opened)  # phone photos store their rotation in EXIF
            picture.load()
            return picture
    except (OSError, SyntaxError) as error:  # PIL raises these for unreadable or non-image files
        raise ValueError(f"cannot read {path} as an image: {error}") from error


def _to_float(array: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.asarray(array, dtype=np.float32) / 255.0)


def load_image_file(path: Path) -> tuple[torch.Tensor, torch.Tensor]:
    """IMAGE [1, H, W, 3] and MASK [1, H, W] from an image file; mask = 1 - alpha (0 without alpha),
    so transparent pixels are the ones to regenerate, as in ComfyUI."""
    picture = _open_picture(path)
    has_alpha = "A" in picture.getbands() or "transparency" in picture.info
    rgba = picture.convert("RGBA")
    values = _to_float(np.asarray(rgba))
    image = values[None, ..., :3].contiguous()
    mask = (1 - values[..., 3])[None].contiguous() if has_alpha else torch.zeros(1, *values.shape[:2])
    return image, mask


def load_mask_file(path: Path, channel: MaskChannel = "alpha") -> torch.Tensor:
    """MASK [1, H, W] from one channel of an image file: 1 - alpha for "alpha", else the channel itself."""
    picture = _open_picture(path)
    if channel == "alpha":
        if "A" not in picture.getbands() and "transparency" not in picture.info:
            raise ValueError(f"{path} has no alpha channel; pick channel red, green, blue or luminance")
        return 1 - _to_float(np.asarray(picture.convert("RGBA"))[..., 3])[None]
    if channel == "luminance":
        return _to_float(np.asarray(picture.convert("L")))[None]
    index = {"red": 0, "green": 1, "blue": 2}.get(channel)
    if index is None:
        raise ValueError(f"unknown mask channel {channel!r}; expected alpha, red, green, blue or luminance")
    return _to_float(np.asarray(picture.convert("RGB"))[..., index])[None]


def to_pil(image: torch.Tensor) -> Image.Image:
    """One image [H, W, C] in 0..1 as an 8-bit PIL image (values rounded, as diffusers does)."""
    if image.ndim != 3:
        raise ValueError(f"to_pil takes one image [height, width, channels], got shape {tuple(image.shape)}")
    array = (image.detach().float().cpu().clamp(0, 1) * 255).round().to(torch.uint8).numpy()
    return Image.fromarray(array[..., 0] if array.shape[-1] == 1 else array)


def write_png(path: Path, picture: Image.Image, text: Mapping[str, str]) -> None:
    """Write `picture` as a PNG with `text` in tEXt chunks, atomically (temp file, then rename):
    a reader never sees a half-written file. Same pixels and text give the same bytes."""
    info = PngImagePlugin.PngInfo()
    for key, value in text.items():
        info.add_text(key, value)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        picture.save(temporary, format="PNG", pnginfo=info, compress_level=PNG_COMPRESS_LEVEL)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
