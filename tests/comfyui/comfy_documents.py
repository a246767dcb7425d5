"""The hand-written ComfyUI documents under documents/ and helpers to read them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

DOCUMENTS = Path(__file__).resolve().parent / "documents"
INPUTS = Path(__file__).resolve().parents[2] / "workflows" / "inputs"


def document(name: str) -> dict[str, Any]:
    return json.loads((DOCUMENTS / name).read_text())


def document_text(name: str) -> str:
    return (DOCUMENTS / name).read_text()


