"""Workflows embedded in other files: a PNG written by a save node carries its workflow in a
`workflow` text chunk, so the image itself can be run again (`graph-engine run image.png`)."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
WORKFLOW_KEY = "workflow"


def png_text_chunks(data: bytes) -> dict[str, str]:
    """The tEXt, zTXt and iTXt entries of a PNG (uncompressed iTXt only: what PIL writes)."""
    texts: dict[str, str] = {}
    offset = len(PNG_SIGNATURE)
    while offset + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[offset : offset + 8])
        body = data[offset + 8 : offset + 8 + length]
        offset += 12 + length  # length, type, body, CRC
        if kind == b"tEXt":
            key, _, value = body.partition(b"\0")
            texts[key.decode("latin-1")] = value.decode("latin-1")
        elif kind == b"zTXt":
            key, _, rest = body.partition(b"\0")
            texts[key.decode("latin-1")] = zlib.decompress(rest[1:]).decode("latin-1")
        elif kind == b"iTXt":
            key, _, rest = body.partition(b"\0")
            compressed, rest = rest[0], rest[2:]
            _language, _, rest = rest.partition(b"\0")
            _translated, _, value = rest.partition(b"\0")
            texts[key.decode("latin-1")] = (zlib.decompress(value) if compressed else value).decode("utf-8")
        elif kind == b"IEND":
            break
    return texts


def embedded_workflow_text(path: Path) -> str | None:
    """The workflow JSON embedded in `path` if it is a PNG, else None (not an embedding format)."""
    with open(path, "rb") as handle:
        if handle.read(len(PNG_SIGNATURE)) != PNG_SIGNATURE:
            return None
        data = PNG_SIGNATURE + handle.read()
    text = png_text_chunks(data).get(WORKFLOW_KEY)
    if text is None:
        raise ValueError(f"{path} is a PNG without an embedded workflow (no '{WORKFLOW_KEY}' text chunk)")
    return text
