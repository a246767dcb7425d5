"""POST /import (server/routes/importing.py): our workflow JSON, or a PNG with one embedded."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

from PIL import Image
from PIL.PngImagePlugin import PngInfo

AppFactory = Callable[..., Any]
SUM = {"schema_version": 1, "name": "sum", "nodes": {"a": {"type": "Const", "inputs": {"value": 2}}}}


def _png(text: dict[str, str]) -> bytes:
    info = PngInfo()
    for key, value in text.items():
        info.add_text(key, value)
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()


def test_import_reads_our_json_and_pngs(make_client: AppFactory) -> None:
    with make_client() as client:
        from_json = client.post("/import", files={"file": ("sum.json", json.dumps(SUM).encode(), "application/json")})
        assert from_json.status_code == 200, from_json.text
        assert from_json.json()["workflow"]["nodes"] == SUM["nodes"]
        assert from_json.json()["format"] == "graph-engine" and from_json.json()["warnings"] == []
        png = _png({"workflow": json.dumps(SUM)})
        from_png = client.post("/import", files={"file": ("image.png", png, "image/png")})
        assert from_png.status_code == 200, from_png.text
        assert from_png.json()["workflow"]["nodes"] == SUM["nodes"]


def test_import_refuses_files_without_a_workflow_saying_why(make_client: AppFactory) -> None:
    cases = {
        ("plain.png", _png({"comment": "hi"})): "a PNG without an embedded workflow",
        ("notes.json", b'{"hello": 1}'): "a JSON object with 'nodes'",
        ("broken.json", b"{nope"): "not valid JSON",
        ("binary.bin", b"\xff\xfe\x00\x81"): "expected a workflow JSON file or a PNG",
        ("bad.json", json.dumps({"schema_version": 1, "nodes": {"bad id!": {"type": "X"}}}).encode()):
            "not a valid workflow",
        ("bad.png", _png({"workflow": "{nope"})): "not valid JSON",
    }
    with make_client() as client:
        for (name, data), reason in cases.items():
            response = client.post("/import", files={"file": (name, data, "application/octet-stream")})
            assert response.status_code == 422, (name, response.text)
            assert reason in response.json()["detail"] and name in response.json()["detail"], response.json()


def test_import_respects_the_upload_limit(make_client: AppFactory) -> None:
    with make_client(max_upload_bytes=1000) as client:
        response = client.post("/import", files={"file": ("big.json", b" " * 2000, "application/json")})
        assert response.status_code == 413
