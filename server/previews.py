"""Progress previews as small images for binary websocket frames."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from PIL import Image


@dataclass(frozen=True)
class EncodedPreview:
    format: str  # "png" or "jpeg"
    data: bytes
    width: int
    height: int


def encode_preview(preview: Any, max_size: int) -> EncodedPreview | None:
    """Encode what a node passed to ctx.progress(preview=...): a PIL image, or PNG/JPEG bytes.

    Images larger than `max_size` on their longest side are scaled down; anything
    else (unknown objects, undecodable bytes) gives None and no frame is sent.
    """
    if isinstance(preview, (bytes, bytearray)):
        try:
            with Image.open(io.BytesIO(bytes(preview))) as decoded:
                image_format, size = decoded.format, decoded.size
                if image_format in ("PNG", "JPEG") and max(size) <= max_size:
                    return EncodedPreview(image_format.lower(), bytes(preview), *size)
                decoded.load()
                preview = decoded.copy()
        except (OSError, ValueError, Image.DecompressionBombError):
            return None
    if not isinstance(preview, Image.Image):
        return None
    small: Image.Image = preview.copy()
    small.thumbnail((max_size, max_size))
    if small.mode not in ("RGB", "RGBA", "L"):
        small = small.convert("RGB")
    buffer = io.BytesIO()
    small.save(buffer, format="PNG")
    return EncodedPreview("png", buffer.getvalue(), small.width, small.height)
