"""The editor's server side: its page, or how to build it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

AppFactory = Callable[..., Any]
TOKEN = "s3cret-token-for-tests-0123456789"
SUM = {"schema_version": 1, "name": "sum", "nodes": {"a": {"type": "Const", "inputs": {"value": 2}}}}


def _editor_build(folder: Path) -> Path:
    (folder / "assets").mkdir(parents=True)
    (folder / "index.html").write_text("<!doctype html><title>editor</title><script src='/assets/app.js'></script>")
    (folder / "assets" / "app.js").write_text("console.log('editor')")
    return folder


def test_the_editor_build_is_served_at_the_root(make_client: AppFactory, tmp_path: Path) -> None:
    with make_client(editor_dir=_editor_build(tmp_path / "dist")) as client:
        page = client.get("/")
        assert page.status_code == 200 and "<title>editor</title>" in page.text
        assert page.headers["cache-control"] == "no-cache"
        assert client.get("/assets/app.js").text == "console.log('editor')"
        assert client.get("/assets/missing.js").status_code == 404
        assert client.get("/queue").status_code == 200  # the API routes are untouched


def test_without_a_build_the_root_says_how_to_build_it(make_client: AppFactory, tmp_path: Path) -> None:
    with make_client(editor_dir=tmp_path / "never-built") as client:
        page = client.get("/")
        assert page.status_code == 503
        assert "make web" in page.text and "npm ci" in page.text and str(tmp_path / "never-built") in page.text


def test_with_a_token_the_page_loads_but_the_api_still_needs_it(make_client: AppFactory, tmp_path: Path) -> None:
    with make_client(editor_dir=_editor_build(tmp_path / "dist"), token=TOKEN) as client:
        assert client.get("/").status_code == 200
        assert client.get("/assets/app.js").status_code == 200
        assert client.post("/").status_code == 401  # only reading the page is public
        assert client.get("/nodes").status_code == 401
        assert client.get("/library").status_code == 401
        assert client.get("/nodes", params={"token": TOKEN}).status_code == 200
        # Host and Origin checks still apply to the page.
        assert client.get("/", headers={"Origin": "https://evil.example"}).status_code == 403
