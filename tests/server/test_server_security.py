"""Security by default: token, Origin and Host checks, path traversal, upload limits."""

from __future__ import annotations

import io
import os
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from pydantic import ValidationError
from starlette.websockets import WebSocketDisconnect

from server.settings import Settings

AppFactory = Callable[..., Any]
WS_URL = "ws://127.0.0.1:8188/ws"
TOKEN = "s3cret-token-for-tests-0123456789"


def _png(size: tuple[int, int] = (4, 4)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size).save(buffer, format="PNG")
    return buffer.getvalue()


def test_listening_beyond_loopback_requires_a_token(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="requires an access token"):
        Settings(data_dir=tmp_path, host="0.0.0.0")
    assert Settings(data_dir=tmp_path, host="0.0.0.0", token=TOKEN).token == TOKEN
    assert Settings(data_dir=tmp_path, host="::1").token is None
    with pytest.raises(ValidationError):
        Settings(data_dir=tmp_path, host="0.0.0.0", token="short")


def test_token_is_checked_on_http_and_websocket(make_client: AppFactory) -> None:
    with make_client(token=TOKEN) as client:
        assert client.get("/queue").status_code == 401
        assert client.get("/queue", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert client.get("/queue", headers={"Authorization": f"Basic {TOKEN}"}).status_code == 401
        assert client.get("/queue", params={"token": TOKEN[:-1]}).status_code == 401
        assert client.get("/queue", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
        assert client.get("/queue", params={"token": TOKEN}).status_code == 200
        assert client.get("/openapi.json").status_code == 401
        with pytest.raises(WebSocketDisconnect) as refused, client.websocket_connect(WS_URL):
            pass
        assert refused.value.code == 1008 and "token is required" in refused.value.reason
        with pytest.raises(WebSocketDisconnect) as refused, client.websocket_connect(f"{WS_URL}?token=wrong"):
            pass
        assert refused.value.reason == "wrong access token"
        with client.websocket_connect(f"{WS_URL}?token={TOKEN}") as websocket:
            assert websocket.receive_json()["type"] == "hello"


def test_foreign_origins_are_refused(make_client: AppFactory) -> None:
    with make_client(allowed_origins=("https://editor.example",)) as client:
        for origin in ("http://evil.example", "null", "http://127.0.0.1:9999", "http://localhost:8188"):
            response = client.post("/queue/pause", headers={"Origin": origin})
            assert response.status_code == 403, origin
            with (
                pytest.raises(WebSocketDisconnect) as refused,
                client.websocket_connect(WS_URL, headers={"Origin": origin}),
            ):
                pass
            assert "Origin" in refused.value.reason
        assert client.get("/queue").json()["paused"] is False, "no refused request had an effect"
        assert client.post("/queue/pause", headers={"Origin": "http://127.0.0.1:8188"}).status_code == 200
        assert client.post("/queue/resume", headers={"Origin": "https://editor.example"}).status_code == 200
        preflight = client.options("/runs", headers={"Origin": "https://editor.example",
                                                     "Access-Control-Request-Method": "POST"})
        assert preflight.headers["access-control-allow-origin"] == "https://editor.example"
        with client.websocket_connect(WS_URL, headers={"Origin": "http://127.0.0.1:8188"}) as websocket:
            assert websocket.receive_json()["type"] == "hello"


def test_dns_rebinding_host_names_are_refused_without_a_token(make_client: AppFactory) -> None:
    with make_client(allowed_hosts=("proxy.internal",)) as client:
        assert client.get("/queue", headers={"Host": "evil.example:8188"}).status_code == 403
        assert client.get("/queue", headers={"Host": "localhost:8188"}).status_code == 200
        assert client.get("/queue", headers={"Host": "[::1]:8188"}).status_code == 200
        assert client.get("/queue", headers={"Host": "proxy.internal"}).status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "../server.sqlite3", "..%2Fserver.sqlite3", "%2e%2e/server.sqlite3", "%2e%2e%2fserver.sqlite3",
        "%252e%252e%252fserver.sqlite3", "..%5cserver.sqlite3", "....//server.sqlite3", "x/../../server.sqlite3",
        "/etc/passwd", "%2Fetc%2Fpasswd", "escape/secret.txt", "link.txt", ".staging/run/partial.png",
        "ok.png%00.txt", "%c0%ae%c0%ae/server.sqlite3", "ok.png/", "%EF%BC%8E%EF%BC%8E/server.sqlite3",
    ],
)
def test_traversal_variants_are_refused(client: TestClient, tmp_path: Path, path: str) -> None:
    outputs = tmp_path / "data" / "outputs"
    (outputs / "ok.png").write_bytes(_png())
    (tmp_path / "secret.txt").write_text("TOP-SECRET-CONTENT")
    (outputs / "escape").symlink_to(tmp_path)
    (outputs / "link.txt").symlink_to(tmp_path / "secret.txt")
    (outputs / ".staging" / "run").mkdir(parents=True)
    (outputs / ".staging" / "run" / "partial.png").write_bytes(b"half")
    response = client.get(f"/files/outputs/{path}")
    assert response.status_code in (400, 404, 422), (path, response.status_code)
    assert b"TOP-SECRET" not in response.content and b"SQLite" not in response.content
    assert client.get("/files/outputs/ok.png").status_code == 200
    assert client.get(f"/files/inputs/{path}").status_code in (400, 404, 422)


def test_oversized_uploads_are_refused(make_client: AppFactory, tmp_path: Path) -> None:
    with make_client(max_upload_bytes=1000) as client:
        big = _png((64, 64)) + os.urandom(2000)
        assert client.post("/uploads", content=big).status_code == 413
        # No Content-Length (chunked): the limit is enforced while reading.
        chunked = client.post("/uploads", content=(big[i:i + 100] for i in range(0, len(big), 100)))
        assert chunked.status_code == 413
        assert client.post("/uploads", content=_png()).status_code == 201
    assert [path.name for path in (tmp_path / "data" / "inputs").iterdir()] == ["upload.png"]


def test_oversized_json_bodies_are_refused(make_client: AppFactory) -> None:
    with make_client(max_request_bytes=10_000, max_upload_bytes=10_000) as client:
        huge = {"schema_version": 1, "nodes": {f"n{i}": {"type": "toy.Number"} for i in range(1000)}}
        assert client.post("/runs", json={"workflow": huge}).status_code == 413
        assert client.put("/workflows/huge", json=huge).status_code == 413
        assert client.get("/queue").json()["queued"] == []


def test_non_images_and_bombs_are_refused(make_client: AppFactory, tmp_path: Path) -> None:
    gif = io.BytesIO()
    Image.new("RGB", (4, 4)).save(gif, format="GIF")
    refused = {
        "text": b"hello, not an image",
        "html": b"<html><script>alert(1)</script></html>",
        "pickle": pickle.dumps({"a": 1}),
        "truncated png": _png((32, 32))[:-40],
        "gif": gif.getvalue(),
        "empty": b"",
        "too many pixels": _png((200, 200)),
    }
    with make_client(max_upload_pixels=10_000) as client:
        for label, data in refused.items():
            response = client.post("/uploads", params={"filename": f"{label}.png"}, content=data)
            assert response.status_code == 415, label
            assert "expected" in response.json()["detail"] or "allowed" in response.json()["detail"], label
    assert list((tmp_path / "data" / "inputs").iterdir()) == []
