"""Fixtures for the browser tests: a real server with the diffusion pack, and Debian's chromium driven by Playwright.

Without chromium, Playwright or the editor's build they skip, saying what is missing; under CI
(CI=true, where .ci/run installs them) they fail instead, so a broken set-up cannot pass unseen.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "server"))
from server_helpers import LiveServer, serve

REPO_ROOT = Path(__file__).resolve().parents[2]
EDITOR_BUILD = REPO_ROOT / "server" / "web" / "dist" / "index.html"
CHROMIUM = Path(os.environ.get("GRAPH_ENGINE_CHROMIUM", "/usr/bin/chromium"))
# Debian's chromium, headless and quiet: no GPU, no network beyond the page's own server.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
ARTIFACTS = REPO_ROOT / "test-artifacts" / "editor"


def _missing() -> str | None:
    if not CHROMIUM.exists():
        return f"no chromium at {CHROMIUM} (apt-get install chromium; .ci/run does)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[dev]')"
    if not EDITOR_BUILD.exists():
        return f"the editor is not built ({EDITOR_BUILD} is missing): run `make web`"
    return None


def _require_browser() -> None:
    reason = _missing()
    if reason is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"browser tests cannot run in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A real server on loopback with the installed node packs (the bundled tiny model), in a temp data dir."""
    _require_browser()
    # One torch thread: several times faster than two for the tiny model on a small machine (see the README).
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OMP_NUM_THREADS", "1")
        with serve(tmp_path_factory.mktemp("editor") / "data", packs=()) as live:
            yield live


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    _require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture()
def page(browser: Any, live_server: LiveServer, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh browser profile (empty local storage) on the editor; a screenshot is kept whatever happens."""
    context = browser.new_context(viewport={"width": 1600, "height": 900}, accept_downloads=True)
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    opened.goto(live_server.url + "/")
    opened.wait_for_selector('.react-flow__node[data-id="sampler"]', timeout=30_000)
    try:
        yield opened
    finally:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        opened.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"))
        context.close()
    assert not errors, f"the page raised: {errors}"


@pytest.fixture()
def shot(page: Any) -> Callable[[str], None]:
    """shot("name"): a screenshot of the page now, as test-artifacts/editor/name.png."""

    def take(name: str) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"))

    return take
