"""Format details without running anything: flattened ids, broken documents, self-nesting subgraphs,
links to missing nodes, widget lists without their frontend-only entries, the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from comfy_documents import document_text
from png_files import png_with_text

from graph_engine import Registry
from graph_engine.cli import main
from graph_engine.importing import UnreadableDocument, import_workflow

ROOT = Path(__file__).resolve().parents[2]


def editor_node(node_id: int, node_type: str, widgets: list[Any], **extra: Any) -> dict[str, Any]:
    return {"id": node_id, "type": node_type, "pos": [0, 0], "mode": 0, "inputs": [], "outputs": [],
            "widgets_values": widgets, **extra}


def test_api_ids_of_flattened_subgraphs_become_node_ids(registry: Registry) -> None:
    source = {
        "12:5": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "model.safetensors"}},
        "12:6": {"class_type": "CLIPTextEncode", "inputs": {"text": "x", "clip": ["12:5", 1]}},
    }
    nodes = import_workflow(json.dumps(source), registry).workflow.nodes
    assert set(nodes) == {"12_5", "12_6"} and nodes["12_6"].inputs["clip"].node == "12_5"


def test_links_to_missing_nodes_and_slots_are_warned_about(registry: Registry) -> None:
    source = {
        "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "m.safetensors"}},
        "2": {"class_type": "CLIPTextEncode", "inputs": {"text": "x", "clip": ["99", 1]}},
        "3": {"class_type": "VAEDecode", "inputs": {"samples": ["2", 0], "vae": ["1", 7]}},
    }
    result = import_workflow(json.dumps(source), registry)
    assert "clip" not in result.workflow.nodes["2"].inputs and "vae" not in result.workflow.nodes["3"].inputs
    assert any("node '99', which is not in the document" in warning for warning in result.warnings)
    assert any("output 7 of node '1'" in warning for warning in result.warnings)


def test_widget_lists_saved_without_frontend_entries_still_match(registry: Registry) -> None:
    source = {"version": 0.4, "links": [], "nodes": [
        editor_node(3, "KSampler", [5, 12, 6.5, "heun", "karras", 0.5]),  # no control_after_generate
        editor_node(4, "LoadImage", ["photo.png"]),  # no upload button value
        editor_node(5, "EmptyLatentImage", [64, 64]),  # one value short
    ]}
    result = import_workflow(json.dumps(source), registry)
    nodes = result.workflow.nodes
    assert (nodes["3"].inputs["seed"], nodes["3"].inputs["steps"], nodes["3"].inputs["denoise"]) == (5, 12, 0.5)
    assert nodes["4"].inputs["image"] == "photo.png"
    assert (nodes["5"].inputs["width"], nodes["5"].inputs["height"]) == (64, 64)
    assert any("expected 3 widget values, got 2" in warning for warning in result.warnings)


@pytest.mark.parametrize(("source", "message"), [
    ({"version": 0.4, "links": [], "nodes": [{"type": "KSampler"}]}, "has no 'id' and 'type'"),
    ({"version": 0.4, "links": [[1, "a", 0, 2, 0, "MODEL"]], "nodes": []}, "non-numeric"),
    ({"1": {"class_type": "KSampler", "inputs": [1, 2]}}, "'inputs' must be an object"),
])
def test_malformed_documents_are_refused_clearly(registry: Registry, source: dict[str, Any], message: str) -> None:
    with pytest.raises(UnreadableDocument, match=message):
        import_workflow(json.dumps(source), registry)


def test_a_subgraph_containing_itself_is_refused(registry: Registry) -> None:
    loop = "11111111-2222-3333-4444-555555555555"
    definition = {"id": loop, "name": "loop", "inputs": [], "outputs": [], "links": [],
                  "nodes": [editor_node(1, loop, [])]}
    source = {"version": 1, "links": [], "nodes": [editor_node(1, loop, [])], "definitions": {"subgraphs": [definition]}}
    with pytest.raises(UnreadableDocument, match="nested deeper"):
        import_workflow(json.dumps(source), registry)


def test_custom_node_packs_are_named_from_the_editors_registry_id(registry: Registry) -> None:
    source = {"version": 0.4, "links": [], "nodes": [
        editor_node(1, "SomeNewNode", [1, "x"], properties={"cnr_id": "comfyui-some-pack", "ver": "1.0.0"}),
        editor_node(2, "InpaintModelConditioning", [True], properties={"cnr_id": "comfy-core"}),
    ]}
    nodes = import_workflow(json.dumps(source), registry).workflow.nodes
    assert nodes["1"].placeholder is not None and "comfyui-some-pack" in nodes["1"].placeholder.provided_by
    assert nodes["1"].placeholder.original["widgets_values"] == [1, "x"]
    assert nodes["2"].placeholder is not None and "ComfyUI's core nodes" in nodes["2"].placeholder.provided_by


def test_cli_import_a_comfyui_png_then_run_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    png = tmp_path / "ComfyUI_00001_.png"
    png.write_bytes(png_with_text({"prompt": document_text("txt2img_api.json"),
                                   "workflow": document_text("txt2img_editor.json")}))
    out = tmp_path / "imported.json"
    assert main(["import-comfy", str(png), "-o", str(out), "--set", "checkpoint=tiny-shapes"]) == 0
    err = capsys.readouterr().err
    assert "imported comfyui-editor: 7 nodes" in err and "v1-5-pruned-emaonly.safetensors" in err
    assert main(["run", str(out), "--output-dir", str(tmp_path / "output"), "--set", "steps=2"]) == 0
    assert len(list((tmp_path / "output").glob("ComfyUI_*.png"))) == 1


def test_cli_export_names_nodes_that_do_not_map(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export-comfy", str(ROOT / "workflows" / "unconditional.json")]) == 2
    assert "UnconditionalSample" in capsys.readouterr().err
    out = tmp_path / "api.json"
    assert main(["export-comfy", str(ROOT / "workflows" / "txt2img.json"), "-o", str(out), "--set", "seed=9"]) == 0
    assert json.loads(out.read_text())["sampler"]["inputs"]["seed"] == 9


def test_running_a_comfyui_file_directly_hints_at_import(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    png = tmp_path / "ComfyUI_00002_.png"
    png.write_bytes(png_with_text({"workflow": document_text("txt2img_editor.json")}))
    assert main(["validate", str(png)]) == 2
    assert f"hint: {png} is a comfyui-editor document: convert it with `graph-engine import" in capsys.readouterr().err
