"""Checking uploaded images before they are stored: decoded fully by Pillow, never trusted by name."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

# Pillow format name -> file extension of the stored upload.
ACCEPTED_FORMATS = {"PNG": ".png", "JPEG": ".jpg", "WEBP": ".webp"}
_UNSAFE_NAME_CHARS = re.compile(r"[^A-Za-z0-9_\-]+")


class InvalidUploadError(ValueError):
    """The uploaded bytes are not an acceptable image."""


@dataclass(frozen=True)
class CheckedImage:
    format: str
    extension: str
    width: int
    height: int


def check_image(data: bytes, max_pixels: int) -> CheckedImage:
    """Decode `data` completely and return what it is, or raise InvalidUploadError saying why not."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            # open() reads only the header, so the size check happens before any pixel is decoded.
            kind, (width, height) = image.format, image.size
            if kind not in ACCEPTED_FORMATS:
                raise InvalidUploadError(f"image format {kind} is not accepted; expected one of {sorted(ACCEPTED_FORMATS)}")
            if width * height > max_pixels:
                raise InvalidUploadError(f"image is {width}x{height}, more than the {max_pixels} pixels allowed")
            image.load()
    except InvalidUploadError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        raise InvalidUploadError(f"not a readable image ({type(error).__name__}: {error}); "
                                 f"expected {', '.join(sorted(ACCEPTED_FORMATS))}") from None
    return CheckedImage(format=kind, extension=ACCEPTED_FORMATS[kind], width=width, height=height)


def stored_name(client_name: str | None, checked: CheckedImage) -> str:
    """A safe file name for an upload: the client's stem, reduced to safe characters, plus the real extension."""
    stem = (client_name or "").rsplit("/", 1)[-1].rsplit(".", 1)[0]
    stem = _UNSAFE_NAME_CHARS.sub("_", stem).strip("_-")[:64]
    return (stem or "upload") + checked.extension
