"""PNG files with text chunks, as image tools write them to carry workflows (shared by the import tests)."""

from __future__ import annotations

import io

from PIL import Image, PngImagePlugin


def png_with_text(chunks: dict[str, str], size: tuple[int, int] = (4, 4)) -> bytes:
    """A small PNG whose tEXt chunks are `chunks` (ComfyUI's SaveImage writes "prompt" and "workflow")."""
    info = PngImagePlugin.PngInfo()
    for key, text in chunks.items():
        info.add_text(key, text)
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, "PNG", pnginfo=info)
    return buffer.getvalue()
