"""`graph-engine run image.png`: a PNG written by a save node carries its workflow and runs again."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image, PngImagePlugin

from graph_engine import WorkflowValidationError, load_workflow

WORKFLOW = '{"schema_version": 1, "name": "sum", "nodes": {"a": {"type": "Const", "inputs": {"value": 2}}}}'


def write_png(path: Path, text: dict[str, str], *, compressed: bool = False) -> Path:
    info = PngImagePlugin.PngInfo()
    for key, value in text.items():
        if compressed:
            info.add_itxt(key, value, zip=True)
        else:
            info.add_text(key, value)
    Image.new("RGB", (2, 2)).save(path, pnginfo=info)
    return path


@pytest.mark.parametrize("compressed", [False, True])
def test_png_with_embedded_workflow_loads(tmp_path: Path, compressed: bool) -> None:
    png = write_png(tmp_path / "a.png", {"workflow": WORKFLOW, "params": "{}"}, compressed=compressed)
    workflow = load_workflow(png)
    assert workflow.name == "sum"
    assert workflow.nodes["a"].inputs["value"] == 2


def test_png_without_workflow_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(WorkflowValidationError, match="without an embedded workflow"):
        load_workflow(write_png(tmp_path / "b.png", {"params": "{}"}))
