"""The editor end to end in headless chromium against a real server running the bundled tiny model.

Screenshots of every test land in test-artifacts/editor/.
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from server_helpers import LiveServer, wait_for_run

from graph_engine import load_workflow
from graph_engine.embedded import png_text

REPO_ROOT = Path(__file__).resolve().parents[2]
# One worker runs them all: they share the module's server and browser.
pytestmark = pytest.mark.xdist_group("editor-browser")
NEW_PROMPT = "a green square on a yellow background"
Shot = Callable[[str], None]  # the `shot` fixture: a named screenshot

# Records every state badge, progress bar and preview each node shows, as the page changes.
WATCH_NODES = """() => {
  window.seen = {};
  const note = (id, what) => { (window.seen[id] ??= []).includes(what) || window.seen[id].push(what); };
  const record = () => document.querySelectorAll('.graph-node').forEach((node) => {
    const id = node.dataset.nodeId;
    const badge = node.querySelector('[data-testid=node-state]');
    if (badge) note(id, badge.textContent);
    if (node.querySelector('.progress')) note(id, 'progress');
    if (node.querySelector('.node-preview')) note(id, 'preview');
  });
  new MutationObserver(record).observe(document.body,
    {subtree: true, childList: true, characterData: true, attributes: true});
}"""


def node(page: Any, node_id: str) -> Any:
    return page.locator(f'.react-flow__node[data-id="{node_id}"]')


def saved_document(page: Any) -> dict[str, Any]:
    """The workflow as the editor autosaves it (what a reload restores)."""
    page.wait_for_timeout(400)  # the autosave is debounced
    return json.loads(page.evaluate("() => localStorage.getItem('graph-engine-editor-workflow')"))


def test_default_workflow_runs_with_an_edited_prompt(page: Any, shot: Shot, live_server: LiveServer) -> None:
    page.evaluate(WATCH_NODES)
    prompt = node(page, "positive").locator("textarea")
    assert prompt.input_value() == "a red circle on a blue background"  # the shipped txt2img
    prompt.fill(NEW_PROMPT)
    prompt.blur()
    page.click("button.queue-button")

    final = page.locator("[data-testid=final-image]")
    final.wait_for(timeout=60_000)
    page.wait_for_function("() => document.querySelector('[data-testid=final-image]').naturalWidth > 0")
    seen = page.evaluate("() => window.seen")
    assert {"queued", "running", "progress", "done"} <= set(seen["sampler"]), seen["sampler"]
    assert "preview" in seen["sampler"], "no preview image was shown while sampling"
    for node_id in ("model", "positive", "negative", "latent", "sampler", "decode", "save"):
        assert node(page, node_id).locator("[data-testid=node-state]").text_content() == "done", node_id
    # The gallery shows the run's params next to the image.
    assert NEW_PROMPT in page.locator(".gallery .param-list").text_content()

    with httpx.Client(base_url=live_server.url) as http:
        run = http.get("/history").json()["runs"][0]
        assert run["status"] == "succeeded"
        assert run["workflow"]["nodes"]["positive"]["inputs"]["text"] == NEW_PROMPT
        assert http.get(f"/files/outputs/{run['files'][0]}").content.startswith(b"\x89PNG")

    # A new seed: loading and both prompts come from the cache, only sampling and decoding run.
    seed = node(page, "sampler").locator('input[name="seed"]')
    seed.fill("7")
    seed.press("Enter")
    page.click("button.queue-button")
    page.wait_for_function(
        "() => document.querySelectorAll('.gallery .thumbnails img').length === 2", timeout=60_000)
    for node_id in ("model", "positive", "negative"):
        assert node(page, node_id).locator("[data-testid=node-state]").text_content() == "cached", node_id
    assert node(page, "sampler").locator("[data-testid=node-state]").text_content() == "done"
    shot("run-finished")


def _drag(page: Any, source: Any, target: Any) -> None:
    start, end = source.bounding_box(), target.bounding_box()
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    page.mouse.down()
    page.mouse.move(end["x"] + end["width"] / 2, end["y"] + end["height"] / 2, steps=12)
    page.mouse.up()


def handle(page: Any, node_id: str, name: str, kind: str) -> Any:
    return page.locator(f'.react-flow__handle.{kind}[data-nodeid="{node_id}"][data-handleid="{name}"]')


def test_an_invalid_link_is_refused_with_the_reason(page: Any, shot: Shot) -> None:
    before = saved_document(page)["nodes"]["sampler"]["inputs"]["model"]
    _drag(page, handle(page, "model", "vae", "source"), handle(page, "sampler", "model", "target"))
    toast = page.locator(".toast.error")
    toast.wait_for()
    text = toast.text_content()
    assert "link refused" in text and "input 'model' expects MODEL" in text and "gives VAE" in text, text
    shot("invalid-link")
    assert saved_document(page)["nodes"]["sampler"]["inputs"]["model"] == before

    # A fitting link replaces the input's old one, and undo brings the old one back.
    _drag(page, handle(page, "latent", "latent", "source"), handle(page, "decode", "latent", "target"))
    assert saved_document(page)["nodes"]["decode"]["inputs"]["latent"] == {"from": "latent", "output": "latent"}
    page.locator(".react-flow__pane").click(position={"x": 20, "y": 20})
    page.keyboard.press("Control+z")
    assert saved_document(page)["nodes"]["decode"]["inputs"]["latent"] == {"from": "sampler", "output": "latent"}

    # A link dropped on empty canvas offers the nodes it fits, and connects the one picked.
    start = handle(page, "sampler", "latent", "source").bounding_box()
    page.mouse.move(start["x"] + 5, start["y"] + 5)
    page.mouse.down()
    page.mouse.move(start["x"] + 200, start["y"] + 320, steps=12)
    page.mouse.up()
    search = page.get_by_placeholder("Search nodes taking LATENT…")
    search.fill("decode tiled")
    search.press("Enter")
    node(page, "vaedecodetiled").wait_for()
    assert saved_document(page)["nodes"]["vaedecodetiled"]["inputs"]["latent"] == {"from": "sampler", "output": "latent"}


@pytest.fixture(scope="module")
def png_with_workflow(live_server: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A PNG the server wrote for txt2img with another prompt and seed: it embeds that workflow."""
    workflow = load_workflow(REPO_ROOT / "workflows" / "txt2img.json").to_dict()
    with httpx.Client(base_url=live_server.url) as http:
        response = http.post("/runs", json={"workflow": workflow, "params": {
            "prompt": "a blue triangle on a white background", "seed": 1234, "steps": 4}})
        assert response.status_code == 201, response.text
        run = wait_for_run(http, response.json()["run_id"], timeout=60)["run"]
        assert run["status"] == "succeeded", run["error"]
        png = tmp_path_factory.mktemp("png") / "made-by-the-server.png"
        png.write_bytes(http.get(f"/files/outputs/{run['files'][0]}").content)
    return png


def test_a_png_dropped_on_the_canvas_opens_its_workflow(page: Any, png_with_workflow: Path) -> None:
    payload = base64.b64encode(png_with_workflow.read_bytes()).decode()
    page.evaluate("""([name, data]) => {
      const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
      const transfer = new DataTransfer();
      transfer.items.add(new File([bytes], name, {type: 'image/png'}));
      const canvas = document.querySelector('.react-flow__pane');
      for (const type of ['dragenter', 'dragover', 'drop']) {
        canvas.dispatchEvent(new DragEvent(type, {bubbles: true, cancelable: true, dataTransfer: transfer}));
      }
    }""", [png_with_workflow.name, payload])
    prompt = node(page, "positive").locator("textarea")
    page.wait_for_function(
        "() => document.querySelector('.react-flow__node[data-id=positive] textarea').value.includes('triangle')")
    assert prompt.input_value() == "a blue triangle on a white background"
    assert node(page, "sampler").locator('input[name="seed"]').input_value() == "1234"
    assert node(page, "sampler").locator('input[name="steps"]').input_value() == "4"
    assert "opened made-by-the-server.png" in page.locator(".toast").first.text_content()


def _drop_file(page: Any, path: Path, mime: str) -> None:
    """Drop a file on the canvas as a user's drag and drop does."""
    payload = base64.b64encode(path.read_bytes()).decode()
    page.evaluate("""([name, data, mime]) => {
      const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
      const transfer = new DataTransfer();
      transfer.items.add(new File([bytes], name, {type: mime}));
      const canvas = document.querySelector('.react-flow__pane');
      for (const type of ['dragenter', 'dragover', 'drop']) {
        canvas.dispatchEvent(new DragEvent(type, {bubbles: true, cancelable: true, dataTransfer: transfer}));
      }
    }""", [path.name, payload, mime])


def test_a_comfyui_workflow_dropped_on_the_canvas_is_imported(page: Any, shot: Shot) -> None:
    comfy_file = REPO_ROOT / "tests" / "comfyui" / "documents" / "txt2img_editor.json"
    _drop_file(page, comfy_file, "application/json")
    page.wait_for_function("() => document.querySelector('.react-flow__node[data-id=\"6\"] textarea')")
    # ComfyUI's node 6 (CLIPTextEncode) became our TextEncode with its prompt; its KSampler's widgets
    # (seed 42, then control_after_generate, which is dropped) landed on the named inputs.
    assert node(page, "6").locator("textarea").input_value() == "a (red:1.2) circle on a blue background"
    assert node(page, "3").locator('input[name="seed"]').input_value() == "42"
    assert node(page, "3").locator('input[name="steps"]').input_value() == "3"
    assert page.get_by_label("workflow name").input_value() == "txt2img_editor"  # named after the file
    toasts = page.locator(".toast").all_text_contents()
    assert any("opened txt2img_editor.json (comfyui-editor)" in text for text in toasts), toasts
    # The ComfyUI checkpoint file name is kept, and the user is told how to point it at a real file.
    assert any("v1-5-pruned-emaonly.safetensors" in text for text in toasts), toasts
    shot("comfyui-imported")


def test_a_document_without_positions_is_laid_out_without_overlap(page: Any, tmp_path: Path) -> None:
    # Without positions (ComfyUI's API format has none) the editor places every node: columns by depth,
    # stacked by each card's height, so the two tall txt2img workflow nodes do not cover each other.
    document = json.loads((REPO_ROOT / "workflows" / "compare_samplers.json").read_text())
    del document["editor"]
    unplaced = tmp_path / "unplaced.json"
    unplaced.write_text(json.dumps(document))
    _drop_file(page, unplaced, "application/json")
    node(page, "second").wait_for()
    boxes = [box for box in (card.bounding_box() for card in page.locator(".react-flow__node").all()) if box]
    assert len(boxes) == len(document["nodes"])
    for index, a in enumerate(boxes):
        for b in boxes[index + 1:]:
            apart = (a["x"] + a["width"] <= b["x"] or b["x"] + b["width"] <= a["x"]
                     or a["y"] + a["height"] <= b["y"] or b["y"] + b["height"] <= a["y"])
            assert apart, (a, b)


def test_a_file_that_holds_no_workflow_is_refused_with_a_reason(page: Any, tmp_path: Path) -> None:
    not_a_workflow = tmp_path / "notes.json"
    not_a_workflow.write_text('{"hello": "world"}')
    page.set_input_files("input[name=import-file]", str(not_a_workflow))
    toast = page.locator(".toast.error")
    toast.wait_for()
    assert "cannot open notes.json" in toast.text_content()
    assert node(page, "positive").locator("textarea").input_value() == "a red circle on a blue background"


def _add_by_search(page: Any, query: str, at: tuple[int, int]) -> None:
    """Double-click the canvas, type, Enter: as in ComfyUI."""
    page.locator(".react-flow__pane").dblclick(position={"x": at[0], "y": at[1]})
    search = page.get_by_placeholder("Search nodes…")
    search.fill(query)
    search.press("Enter")


def test_a_new_workflow_from_the_catalogue_runs_an_uploaded_image(
    page: Any, shot: Shot, live_server: LiveServer, tmp_path: Path,
) -> None:
    from PIL import Image

    picture = tmp_path / "red square.png"
    Image.new("RGB", (24, 16), (220, 30, 30)).save(picture)
    page.click("text=Open ▾")
    page.click("text=New empty workflow")
    page.wait_for_function("() => document.querySelectorAll('.react-flow__node').length === 0")
    _add_by_search(page, "load image", (200, 200))
    _add_by_search(page, "preview image", (600, 200))
    loader, preview = node(page, "loadimage"), node(page, "previewimage")

    loader.locator("input[type=file]").set_input_files(str(picture))
    page.wait_for_function(
        "() => document.querySelector('.react-flow__node[data-id=loadimage] img.input-preview')?.naturalWidth === 24")
    uploaded = loader.locator('select[name="image"]').input_value()
    assert uploaded.endswith(".png") and (live_server.data_dir / "inputs" / uploaded).is_file()

    # Queued with the preview's input unconnected: the error is shown on that node and input.
    page.click("button.queue-button")
    issue = preview.locator('[data-input="images"] .input-issue')
    issue.wait_for()
    assert "images" in issue.text_content() or "required" in issue.text_content()
    assert "invalid" in preview.locator(".graph-node").get_attribute("class")
    shot("validation-error")

    _drag(page, handle(page, "loadimage", "image", "source"), handle(page, "previewimage", "images", "target"))
    page.click("button.queue-button")
    page.wait_for_function(
        "() => document.querySelector('.react-flow__node[data-id=previewimage] [data-testid=node-state]')"
        "?.textContent === 'done'", timeout=30_000)
    assert not preview.locator(".input-issue").count()
    assert loader.locator("[data-testid=node-state]").text_content() == "done"
    with httpx.Client(base_url=live_server.url) as http:
        run = http.get("/history").json()["runs"][0]
    assert run["status"] == "succeeded" and run["workflow"]["nodes"]["loadimage"]["inputs"]["image"] == uploaded


def test_seed_control_queue_panel_and_history(page: Any, shot: Shot, live_server: LiveServer) -> None:
    http = httpx.Client(base_url=live_server.url)
    http.post("/queue/pause")
    try:
        sampler = node(page, "sampler")
        sampler.locator('select[name="seed-control"]').select_option("increment")
        seed = sampler.locator('input[name="seed"]')
        seed.fill("100")
        seed.press("Enter")
        for expected_next in ("101", "102", "103"):
            page.click("button.queue-button")
            page.wait_for_function(f"() => document.querySelector('.react-flow__node[data-id=sampler] "
                                   f"input[name=seed]').value === '{expected_next}'")
        queued = http.get("/queue").json()["queued"]
        # Each run recorded the seed it used and how the editor moves it: the run is reproducible.
        assert [run["workflow"]["nodes"]["sampler"]["inputs"]["seed"] for run in queued] == [100, 101, 102]
        assert all(run["workflow"]["editor"]["seed_modes"] == {"sampler.seed": "increment"} for run in queued)

        page.click("role=tab[name=/Queue/]")
        lines = page.locator(".queue-panel ol .run-line")
        lines.nth(2).wait_for()
        lines.nth(2).get_by_label("run sooner").click()  # the last (seed 102) moves up one place
        page.wait_for_function("() => document.querySelectorAll('.queue-panel ol .run-line')[1]"
                               f".dataset.runId === '{queued[2]['id']}'")
        lines.nth(0).get_by_label("cancel run").click()  # seed 100 is cancelled
        page.wait_for_function("() => document.querySelectorAll('.queue-panel ol .run-line').length === 2")
        order = [run["workflow"]["nodes"]["sampler"]["inputs"]["seed"] for run in http.get("/queue").json()["queued"]]
        assert order == [102, 101]
        shot("queue-panel")
    finally:
        http.post("/queue/resume")

    page.click("role=tab[name=History]")
    for run in queued[1:]:
        finished = page.locator(f'.history-run.status-succeeded[data-run-id="{run["id"]}"]')
        finished.wait_for(timeout=60_000)
        assert finished.locator(".history-images img").count() == 1  # the PNG its SaveImage wrote
    assert page.locator(f'.history-run.status-cancelled[data-run-id="{queued[0]["id"]}"]').count() == 1
    # Load the workflow of the run that used seed 101 back into the editor.
    run_101 = page.locator(f'.history-run[data-run-id="{queued[1]["id"]}"]')
    run_101.get_by_role("button", name="load workflow").click()
    assert node(page, "sampler").locator('input[name="seed"]').input_value() == "101"
    assert node(page, "sampler").locator('select[name="seed-control"]').input_value() == "increment"
    shot("history-panel")
    http.close()


def test_params_save_to_the_library_and_export(page: Any, live_server: LiveServer) -> None:
    page.click("role=tab[name=Params]")
    assert page.locator('.params-panel tr[data-param="prompt"]').count() == 1  # txt2img's own params
    page.get_by_label("new param name").fill("guidance")
    page.get_by_label("input the param sets").select_option("sampler.cfg")
    assert page.locator(".add-param .problem").text_content() == "sampler.cfg is already set by param 'cfg'"
    page.get_by_label("remove cfg").click()
    page.click("text=expose")
    page.locator('.params-panel tr[data-param="guidance"]').wait_for()
    page.get_by_label("description of guidance").fill("how closely to follow the prompt")
    page.get_by_label("description of guidance").blur()
    page.get_by_label("remove negative").click()

    page.once("dialog", lambda dialog: dialog.accept("my-txt2img"))
    page.click("button:text-is('Save')")
    page.locator(".toast", has_text="saved 'my-txt2img'").wait_for()
    with httpx.Client(base_url=live_server.url) as http:
        saved = http.get("/workflows/my-txt2img").json()
        # The saved file drives headless runs by the new param name.
        response = http.post("/runs", json={"workflow_name": "my-txt2img", "params": {"guidance": 2.5, "steps": 2}})
        assert response.status_code == 201, response.text
        run = wait_for_run(http, response.json()["run_id"], timeout=60)["run"]
        saved_png = http.get(f"/files/outputs/{run['files'][0]}").content
    guidance = saved["params"]["guidance"]
    assert guidance["targets"] == ["sampler.cfg"] and guidance["description"] == "how closely to follow the prompt"
    assert "negative" not in saved["params"] and saved["name"] == "my-txt2img"
    assert run["status"] == "succeeded", run["error"]
    # SaveImage records the param values it ran with: the new knob reached the sampler.
    assert json.loads(png_text(io.BytesIO(saved_png))["params"])["guidance"] == 2.5

    with page.expect_download() as download:
        page.click("button:text-is('Export')")
    exported = json.loads(Path(download.value.path()).read_text())
    assert exported["params"]["guidance"]["description"] == "how closely to follow the prompt"
    assert load_workflow(exported).nodes["sampler"].type == "KSampler"  # the engine reads what the editor writes

    page.click("text=Open ▾")
    page.locator(".workflow-menu .open-workflow", has_text="my-txt2img").wait_for()  # saved
    page.locator(".workflow-menu .open-workflow", has_text="img2img").wait_for()  # the shipped pack


def test_workflow_nodes_keep_and_get_their_pins(page: Any, live_server: LiveServer) -> None:
    with httpx.Client(base_url=live_server.url) as http:
        current = {item["name"]: item["hash"] for item in http.get("/library").json()}["txt2img"]
    page.click("text=Open ▾")
    page.locator(".workflow-menu .open-workflow", has_text="compare_samplers").click()
    node(page, "first").wait_for()
    # The file has no positions: the editor lays it out, tall workflow nodes stacked without overlap.
    first, second = node(page, "first").bounding_box(), node(page, "second").bounding_box()
    assert first["y"] + first["height"] <= second["y"] or second["y"] + second["height"] <= first["y"]
    shipped = load_workflow(REPO_ROOT / "workflows" / "compare_samplers.json")
    document = saved_document(page)
    # Opening and saving keeps each workflow node's pin (what it was made for)...
    assert document["nodes"]["first"]["pin"] == shipped.nodes["first"].pin == current
    # ...and a workflow node added from the catalogue is pinned to the definition it was made from.
    _add_by_search(page, "workflow:txt2img", (700, 500))
    node(page, "workflow_txt2img").wait_for()
    assert saved_document(page)["nodes"]["workflow_txt2img"]["pin"] == current


def test_copy_paste_delete_and_a_runtime_error_on_its_node(page: Any, shot: Shot) -> None:
    node(page, "positive").locator("header").click()
    page.keyboard.press("Control+c")
    page.keyboard.press("Control+v")
    pasted = node(page, "textencode")
    pasted.wait_for()
    assert pasted.locator("textarea").input_value() == "a red circle on a blue background"
    document = saved_document(page)
    assert document["nodes"]["textencode"]["type"] == "TextEncode"
    assert "clip" not in document["nodes"]["textencode"]["inputs"]  # its link came from outside the copied nodes
    page.keyboard.press("Delete")
    page.wait_for_function("() => !document.querySelector('.react-flow__node[data-id=textencode]')")
    assert "textencode" not in saved_document(page)["nodes"]

    # A node failing at run time shows its error; what depends on it is skipped.
    checkpoint = node(page, "model").locator('input[name="checkpoint"]')
    checkpoint.fill("no-such-model")
    checkpoint.press("Enter")
    page.click("button.queue-button")
    failed = node(page, "model").locator(".node-message.error")
    failed.wait_for(timeout=30_000)
    assert "no-such-model" in failed.text_content()
    assert node(page, "model").locator("[data-testid=node-state]").text_content() == "failed"
    page.wait_for_function(
        "() => document.querySelector('.react-flow__node[data-id=save] [data-testid=node-state]')"
        "?.textContent === 'skipped'")
    shot("runtime-error")
