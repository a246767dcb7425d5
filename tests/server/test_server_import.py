"""POST /import (a multipart upload, field `file`: JSON or PNG) and POST /export."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from png_files import png_with_text

from graph_engine import Registry
from nodes.pack import PACK

ROOT = Path(__file__).resolve().parents[2]

API_DOCUMENT: dict[str, Any] = {
    "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "v1-5-pruned-emaonly.safetensors"}},
    "5": {"class_type": "EmptyLatentImage", "inputs": {"width": 512, "height": 512, "batch_size": 1}},
    "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "a red circle", "clip": ["4", 1]}},
    "3": {"class_type": "KSampler", "inputs": {
        "seed": 1, "steps": 20, "cfg": 8, "sampler_name": "euler", "scheduler": "normal", "denoise": 1,
        "model": ["4", 0], "positive": ["6", 0], "negative": ["6", 0], "latent_image": ["5", 0]}},
    "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}},
    "9": {"class_type": "SaveImage", "inputs": {"filename_prefix": "ComfyUI", "images": ["8", 0]}},
}


@pytest.fixture()
def diffusion_client(make_client: Any) -> Any:
    with make_client(registry=Registry([PACK])) as client:
        yield client


def upload(client: TestClient, name: str, data: bytes) -> Any:
    return client.post("/import", files={"file": (name, data)})


def test_import_comfyui_api_json(diffusion_client: TestClient) -> None:
    response = upload(diffusion_client, "api.json", json.dumps(API_DOCUMENT).encode())
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["format"] == "comfyui-api"
    assert body["workflow"]["name"] == "api"  # ComfyUI files carry no name: the file's stands in
    nodes = body["workflow"]["nodes"]
    assert nodes["3"]["type"] == "KSampler"
    assert nodes["3"]["inputs"]["latent"] == {"from": "5", "output": "latent"}
    assert nodes["5"]["inputs"]["vae"] == {"from": "4", "output": "vae"}  # ours needs the VAE ComfyUI infers
    assert any("v1-5-pruned-emaonly.safetensors" in warning for warning in body["warnings"])


def test_import_our_own_workflow_and_png(diffusion_client: TestClient) -> None:
    text = (ROOT / "workflows" / "txt2img.json").read_text()
    response = upload(diffusion_client, "txt2img.json", text.encode())
    assert response.status_code == 200
    assert response.json()["format"] == "graph-engine"
    assert response.json()["workflow"] == json.loads(text)
    from_png = upload(diffusion_client, "out.png", png_with_text({"workflow": text, "params": "{}"}))
    assert from_png.json()["format"] == "graph-engine"
    assert from_png.json()["workflow"] == json.loads(text)


def test_import_comfyui_png_prefers_the_editor_chunk_and_falls_back_to_the_prompt(
    diffusion_client: TestClient,
) -> None:
    response = upload(diffusion_client, "ComfyUI_00001_.png", png_with_text({"prompt": json.dumps(API_DOCUMENT)}))
    assert response.status_code == 200, response.text
    assert response.json()["format"] == "comfyui-api"


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("notes.txt", b"hello", "neither JSON nor a PNG"),
        ("list.json", b"[1, 2]", "no workflow format we can read"),
        ("plain.png", None, "carries no workflow"),
        ("broken.png", b"\x89PNG\r\n\x1a\nnot really", "not a readable PNG"),
    ],
)
def test_import_refuses_anything_else_with_a_clear_422(
    diffusion_client: TestClient, name: str, data: bytes | None, expected: str
) -> None:
    response = upload(diffusion_client, name, data if data is not None else png_with_text({}))
    assert response.status_code == 422
    assert expected in response.json()["detail"]
    assert name in response.json()["detail"]


def test_import_of_a_malformed_document_in_our_format_lists_the_issues(diffusion_client: TestClient) -> None:
    response = upload(diffusion_client, "bad.json", json.dumps({"schema_version": 1, "nodes": {"a": {}}}).encode())
    assert response.status_code == 422
    assert response.json()["errors"][0]["node_id"] == "a"


def test_import_needs_a_file_field(diffusion_client: TestClient) -> None:
    assert diffusion_client.post("/import", files={"other": ("x.json", b"{}")}).status_code == 422


def test_export_to_comfyui_api_and_back(diffusion_client: TestClient) -> None:
    workflow = json.loads((ROOT / "workflows" / "txt2img.json").read_text())
    assert diffusion_client.get("/export/formats").json() == ["comfyui-api"]
    response = diffusion_client.post("/export", json={"workflow": workflow})
    assert response.status_code == 200, response.text
    document = response.json()["document"]
    assert document["sampler"]["class_type"] == "KSampler"
    assert document["sampler"]["inputs"]["latent_image"] == ["latent", 0]
    back = upload(diffusion_client, "api.json", json.dumps(document).encode()).json()["workflow"]
    assert back["nodes"]["sampler"] == workflow["nodes"]["sampler"]


def test_export_names_the_nodes_that_do_not_map(diffusion_client: TestClient) -> None:
    workflow = json.loads((ROOT / "workflows" / "seed_grid.json").read_text())
    response = diffusion_client.post("/export", json={"workflow": workflow})
    assert response.status_code == 422
    assert {error["node_type"] for error in response.json()["errors"]} >= {"ImageGrid"}
    unknown_format = diffusion_client.post("/export", json={"workflow": workflow, "format": "a1111"})
    assert unknown_format.status_code == 422
    assert "comfyui-api" in unknown_format.json()["detail"]
