"""Editor benchmark: how fast the browser editor opens, draws and edits large graphs.

    python bench/bench_editor.py [--sizes 50,200,500]

Starts `python -m server` (installed node packs) on a free loopback port and Debian's headless
chromium (Playwright), then reports, per graph size (a chain of LatentUpscale nodes behind an
EmptyLatent, positioned in rows):

- open: from handing the JSON file to the editor's import to every node drawn on the canvas;
- edit: from changing one number widget to the autosaved document holding the new value
  (a full graph -> document conversion, as on every change);
- undo: from Ctrl+Z to the old value back in the autosaved document.

Also the first page load (navigation to the default workflow drawn) and the build's bundle size.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT / "tests" / "server"))
sys.path.insert(0, str(REPO_ROOT / "tests" / "editor"))

from conftest import CHROMIUM, CHROMIUM_ARGS, EDITOR_BUILD  # the editor tests' browser set-up
from server_helpers import serve

AUTOSAVED = "() => JSON.parse(localStorage.getItem('graph-engine-editor-workflow') || 'null')"


def chain(size: int) -> dict[str, Any]:
    """EmptyLatent then size-1 LatentUpscale nodes, each fed by the previous; 10 to a row."""
    nodes: dict[str, Any] = {"n0": {"type": "EmptyLatent", "inputs": {"width": 64, "height": 64, "batch": 1}}}
    positions = {"n0": [0, 0]}
    for index in range(1, size):
        nodes[f"n{index}"] = {"type": "LatentUpscale",
                              "inputs": {"latent": {"from": f"n{index - 1}", "output": "latent"}, "scale_by": 1.0}}
        positions[f"n{index}"] = [(index % 10) * 340, (index // 10) * 220]
    return {"schema_version": 1, "name": f"chain-{size}", "nodes": nodes, "editor": {"positions": positions}}


def measure(page: Any, folder: Path, size: int) -> dict[str, float]:
    path = folder / f"chain-{size}.json"
    path.write_text(json.dumps(chain(size)))
    start = time.perf_counter()
    page.set_input_files("input[name=import-file]", str(path))
    page.wait_for_function(f"() => document.querySelectorAll('.react-flow__node').length === {size}", timeout=120_000)
    opened = time.perf_counter() - start

    widget = page.locator('.react-flow__node[data-id="n1"] input[name="scale_by"]')
    widget.fill("1.5")
    start = time.perf_counter()
    widget.press("Enter")
    page.wait_for_function(f"() => ({AUTOSAVED})()?.nodes.n1.inputs.scale_by === 1.5", polling=5)
    edited = time.perf_counter() - start  # includes the 300 ms autosave debounce

    page.locator(".react-flow__pane").click(position={"x": 5, "y": 5})
    start = time.perf_counter()
    page.keyboard.press("Control+z")
    page.wait_for_function(f"() => ({AUTOSAVED})()?.nodes.n1.inputs.scale_by === 1", polling=5)
    undone = time.perf_counter() - start
    return {"open": opened, "edit": edited, "undo": undone}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="50,200,500", help="graph sizes in nodes, comma-separated")
    args = parser.parse_args()
    if not CHROMIUM.exists() or not EDITOR_BUILD.exists():
        print(f"needs {CHROMIUM} and the editor build ({EDITOR_BUILD}: make web)", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    bundle = sum(path.stat().st_size for path in (EDITOR_BUILD.parent / "assets").iterdir())
    print(f"bundle: {bundle / 1024:.0f} KiB (js + css, before compression)")
    with tempfile.TemporaryDirectory() as temporary, serve(Path(temporary) / "data", packs=()) as live, \
            sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1600, "height": 900})
        start = time.perf_counter()
        page.goto(live.url + "/")
        page.wait_for_selector('.react-flow__node[data-id="sampler"]')
        print(f"first load (txt2img drawn): {time.perf_counter() - start:.2f} s")
        print(f"{'nodes':>6} {'open s':>8} {'edit s':>8} {'undo s':>8}   (edit includes the 0.3 s autosave debounce)")
        for size in (int(text) for text in args.sizes.split(",")):
            result = measure(page, Path(temporary), size)
            print(f"{size:>6} {result['open']:>8.2f} {result['edit']:>8.2f} {result['undo']:>8.2f}")
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
