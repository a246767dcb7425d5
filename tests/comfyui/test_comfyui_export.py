"""Export to ComfyUI's API format: shipped workflows round trip (import(export(x)) runs as x does),
nodes that do not map are named, placeholders go back as they came."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from comfy_documents import document_text

from graph_engine import Registry, Workflow, load_workflow
from graph_engine.importing import ExportError, export_workflow, import_workflow
from graph_engine.validation import CompiledWorkflow, validate_workflow
from nodes.comfyui.mapping import BY_OUR_TYPE

WORKFLOWS = Path(__file__).resolve().parents[2] / "workflows"
SHIPPED = sorted(WORKFLOWS.glob("*.json"))


def maps(workflow: Workflow) -> bool:
    return all(entry.type in BY_OUR_TYPE for entry in workflow.nodes.values())


def compiled_graph(compiled: CompiledWorkflow) -> dict[str, Any]:
    """What a run depends on: each node's type, constants (defaults filled in) and links."""
    return {
        node_id: (node.spec.name, node.constants, {name: str(link) for name, link in node.links.items()})
        for node_id, node in compiled.nodes.items()
    }


@pytest.mark.parametrize("path", [path for path in SHIPPED if maps(load_workflow(path))], ids=lambda path: path.stem)
def test_shipped_workflows_round_trip(path: Path, registry: Registry) -> None:
    workflow = load_workflow(path)
    exported = export_workflow(workflow, "comfyui-api", registry)
    text = json.dumps(exported.document)
    back = import_workflow(text, registry)
    assert back.format == "comfyui-api"
    assert compiled_graph(validate_workflow(back.workflow, registry)) == compiled_graph(
        validate_workflow(workflow, registry)
    )


def test_most_shipped_workflows_map() -> None:
    mapped = {path.stem for path in SHIPPED if maps(load_workflow(path))}
    assert {"txt2img", "img2img", "inpaint", "hires_fix"} <= mapped


def test_nodes_without_a_counterpart_are_named(registry: Registry) -> None:
    workflow = load_workflow(WORKFLOWS / "unconditional.json")
    with pytest.raises(ExportError) as raised:
        export_workflow(workflow, "comfyui-api", registry)
    types = {issue.node_type for issue in raised.value.issues}
    assert types == {entry.type for entry in workflow.nodes.values() if entry.type not in BY_OUR_TYPE}
    assert "no ComfyUI counterpart" in str(raised.value)


def test_values_comfyui_cannot_express_fail_the_export(registry: Registry) -> None:
    workflow = load_workflow(WORKFLOWS / "txt2img.json")
    nodes = dict(workflow.nodes)
    nodes["positive"] = nodes["positive"].model_copy(update={"inputs": {**nodes["positive"].inputs, "clip_skip": 2}})
    nodes["sampler"] = nodes["sampler"].model_copy(update={"inputs": {**nodes["sampler"].inputs, "sampler": "pndm"}})
    with pytest.raises(ExportError) as raised:
        export_workflow(workflow.model_copy(update={"nodes": nodes}), "comfyui-api", registry)
    messages = {issue.node_id: issue.message for issue in raised.value.issues}
    assert "clip_skip" in messages["positive"] and "pndm" in messages["sampler"]


def test_converted_values_go_back_to_comfyui_names(registry: Registry) -> None:
    imported = import_workflow(document_text("hires_lora_editor_v1.json"), registry).workflow
    document = export_workflow(imported, "comfyui-api", registry).document
    assert document["4"]["inputs"]["stop_at_clip_layer"] == -2
    assert document["13"]["inputs"]["add_noise"] == "enable"
    assert document["13"]["inputs"]["return_with_leftover_noise"] == "disable"
    assert document["12"]["class_type"] == "LatentUpscale" and "vae" not in document["12"]["inputs"]
    assert document["12"]["inputs"]["upscale_method"] == "nearest-exact"
    assert document["15"]["inputs"]["samples"] == ["13", 0]
    assert document["11"]["_meta"]["title"] == "First pass"


def test_tiled_vae_overlap_goes_back_to_pixels(registry: Registry) -> None:
    source = json.loads(document_text("img2img_inpaint_api.json"))
    imported = import_workflow(json.dumps(source), registry).workflow
    document = export_workflow(imported, "comfyui-api", registry).document
    for node_id in ("18", "25"):
        assert document[node_id]["inputs"] == source[node_id]["inputs"]


def test_placeholders_are_written_back_as_they_came(registry: Registry) -> None:
    source = json.loads(document_text("custom_nodes_api.json"))
    imported = import_workflow(json.dumps(source), registry).workflow
    document = export_workflow(imported, "comfyui-api", registry).document
    assert document["10"]["class_type"] == "FaceDetailer"
    assert document["10"]["inputs"] == {**source["10"]["inputs"], "scheduler_func_opt": {"__value__": ["a", "b"]}}
    assert document["9"]["inputs"]["images"] == ["11", 0]


def test_readme_lists_exactly_the_mapped_nodes() -> None:
    from nodes.comfyui.mapping import mapping_table_markdown

    readme = (Path(__file__).resolve().parents[2] / "nodes" / "comfyui" / "README.md").read_text()
    assert mapping_table_markdown() in readme, "regenerate the table with nodes.comfyui.mapping.mapping_table_markdown()"
