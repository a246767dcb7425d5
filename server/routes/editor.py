"""The browser editor: its build output at `/`, or a page saying how to build it."""

from __future__ import annotations

import html
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

from server.settings import Settings

_NOT_BUILT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>graph-engine: editor not built</title>
<style>body{{font:15px system-ui,sans-serif;background:#202020;color:#ddd;max-width:46em;margin:4em auto;
line-height:1.5}}
code,pre{{background:#111;padding:2px 6px;border-radius:4px}}pre{{padding:10px}}a{{color:#8ab4ff}}</style></head>
<body><h1>The graph editor is not built</h1>
<p>This server serves the editor from <code>{folder}</code>, which has no <code>index.html</code>.
Build it (needs Node.js 20+ and npm) from the repository root:</p>
<pre>make web        # = cd server/web &amp;&amp; npm ci &amp;&amp; npm run build</pre>
<p>then reload this page. <code>make install</code> builds it too when npm is available.</p>
<p>Everything else works without it: the HTTP API (<a href="/docs">/docs</a>), the websocket at <code>/ws</code>
and <code>graph-engine run</code>.</p></body></html>
"""


def mount_editor(app: FastAPI, settings: Settings) -> None:
    """Serve the build at `/` (index.html) and `/assets/`, or the how-to-build page."""
    folder = settings.editor_dir
    index = folder / "index.html" if folder is not None else None
    if index is not None and index.is_file() and (folder / "assets").is_dir():
        app.mount("/assets", StaticFiles(directory=folder / "assets"), name="editor-assets")

    @app.get("/", include_in_schema=False)
    def editor_page() -> Response:
        if index is not None and index.is_file():
            # Never cached: a rebuilt editor must replace the old one on reload (assets have hashed names).
            return FileResponse(index, media_type="text/html", headers={"Cache-Control": "no-cache"})
        return HTMLResponse(_NOT_BUILT.format(folder=html.escape(str(folder))), status_code=503)
