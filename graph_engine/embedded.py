"""Workflows embedded in other files: a PNG written by a save node carries its workflow in a
`workflow` text chunk, so the image itself can be run again (`graph-engine run image.png`)."""

from __future__ import annotations

from pathlib import Path
from typing import IO

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
WORKFLOW_KEY = "workflow"


def png_text(source: Path | IO[bytes]) -> dict[str, str]:
    """The text entries (tEXt, zTXt, iTXt) of a PNG file (a path or an open binary file)."""
    from PIL import Image  # imported here: only PNG inputs pay for it

    with Image.open(source) as picture:
        if picture.format != "PNG":
            raise ValueError(f"{source} is not a PNG file")
        return dict(picture.text)  # type: ignore[attr-defined]


def embedded_workflow_text(path: Path) -> str | None:
    """The workflow JSON embedded in `path` if it is a PNG, else None (not an embedding format)."""
    with open(path, "rb") as handle:
        if handle.read(len(PNG_SIGNATURE)) != PNG_SIGNATURE:
            return None
    text = png_text(path).get(WORKFLOW_KEY)
    if text is None:
        raise ValueError(f"{path} is a PNG without an embedded workflow (no '{WORKFLOW_KEY}' text chunk)")
    return text
