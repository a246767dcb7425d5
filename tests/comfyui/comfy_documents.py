"""The hand-written ComfyUI documents under documents/ and helpers to read them."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from PIL import Image, PngImagePlugin

DOCUMENTS = Path(__file__).resolve().parent / "documents"
INPUTS = Path(__file__).resolve().parents[2] / "workflows" / "inputs"


def document(name: str) -> dict[str, Any]:
    return json.loads((DOCUMENTS / name).read_text())


def document_text(name: str) -> str:
    return (DOCUMENTS / name).read_text()


def comfyui_png(chunks: dict[str, str]) -> bytes:
    """A PNG as ComfyUI's SaveImage writes it: tEXt chunks "prompt" (API format) and "workflow" (editor)."""
    info = PngImagePlugin.PngInfo()
    for key, text in chunks.items():
        info.add_text(key, text)
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(buffer, "PNG", pnginfo=info)
    return buffer.getvalue()
