"""graph_engine.importing: format detection over JSON and PNG text chunks, pack importers, placeholders."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from png_files import png_with_text

from graph_engine import NodePack, Registry, WorkflowValidationError
from graph_engine.cli import main
from graph_engine.document import NodeEntry, Placeholder, Workflow
from graph_engine.importing import ImportedWorkflow, UnreadableDocument, import_workflow
from graph_engine.validation import assign_params, validate_workflow

from .toy_nodes import PACK as TOY_PACK

NATIVE = {"schema_version": 1, "nodes": {"a": {"type": "Const", "inputs": {"value": 2}}},
          "outputs": {"a": {"from": "a", "output": "value"}}, "params": {"v": "a.value"}}


class SumListImporter:
    """A made-up format {"sum": [numbers]}: one Const per number (the first a placeholder for 'Mystery')."""

    format = "sum-list"

    def recognises(self, document: Mapping[str, Any]) -> bool:
        return isinstance(document.get("sum"), list)

    def convert(self, document: Mapping[str, Any], registry: Registry) -> ImportedWorkflow:
        nodes = {f"n{i}": NodeEntry(type="Const", inputs={"value": v}) for i, v in enumerate(document["sum"])}
        nodes["m"] = NodeEntry(type="x:Mystery", placeholder=Placeholder(
            source="Other", original_type="Mystery", provided_by="the mystery pack"))
        return ImportedWorkflow(Workflow(schema_version=1, nodes=nodes), self.format, ("one warning",))


@pytest.fixture()
def registry() -> Registry:
    return Registry([TOY_PACK, NodePack("importing", importers=[SumListImporter()], builtin=True)])


def test_our_format_from_json_and_png(registry: Registry) -> None:
    assert import_workflow(json.dumps(NATIVE), registry).format == "graph-engine"
    from_png = import_workflow(png_with_text({"params": "{}", "workflow": json.dumps(NATIVE)}), registry)
    assert from_png.format == "graph-engine" and from_png.workflow.nodes["a"].inputs["value"] == 2


def test_pack_importers_and_the_workflow_chunk_first(registry: Registry) -> None:
    result = import_workflow(png_with_text({"prompt": json.dumps({"sum": [1]}), "workflow": json.dumps(NATIVE)}), registry)
    assert result.format == "graph-engine"  # the "workflow" chunk wins over earlier ones
    result = import_workflow(png_with_text({"prompt": json.dumps({"sum": [1, 2]}), "note": "not json"}), registry)
    assert result.format == "sum-list" and result.warnings == ("one warning",)
    assert len(result.workflow.nodes) == 3


def test_a_file_name_names_workflows_whose_document_has_none(registry: Registry) -> None:
    named = import_workflow(json.dumps({"sum": [1]}), registry, name="my_sums")
    assert named.workflow.name == "my_sums" and named.format == "sum-list"
    own_name = import_workflow(json.dumps({**NATIVE, "name": "kept"}), registry, name="file_stem")
    assert own_name.workflow.name == "kept"  # a document's own name wins
    assert import_workflow(json.dumps({"sum": [1]}), registry).workflow.name == ""


@pytest.mark.parametrize(("data", "message"), [
    (b"\x00\x01", "neither JSON nor a PNG"),
    ('{"nodes": []}', "in no workflow format we can read (known formats: graph-engine, sum-list)"),
    (png_with_text({"comment": "hello"}), "no JSON text chunk; its text chunks: comment"),
    (b"\x89PNG\r\n\x1a\n\x00", "not a readable PNG"),
])
def test_unreadable_inputs_say_what_was_expected(registry: Registry, data: Any, message: str) -> None:
    with pytest.raises(UnreadableDocument, match=message.replace("(", r"\(").replace(")", r"\)")):
        import_workflow(data, registry)


def test_placeholders_fail_validation_naming_the_missing_type_and_its_source(registry: Registry) -> None:
    workflow = import_workflow(json.dumps({"sum": [1]}), registry).workflow
    with pytest.raises(WorkflowValidationError) as raised:
        validate_workflow(workflow, registry)
    issue = next(issue for issue in raised.value.issues if issue.node_id == "m")
    assert issue.code.value == "missing_node_type" and issue.got == "Mystery"
    assert "Other 'Mystery' node" in issue.message and "the mystery pack" in issue.message


def test_assign_params_writes_values_and_names_bad_ones(registry: Registry) -> None:
    workflow = import_workflow(json.dumps(NATIVE), registry).workflow
    assert assign_params(workflow, registry, {"v": "5"}, params_as_text=True).nodes["a"].inputs["value"] == 5
    with pytest.raises(WorkflowValidationError, match="v"):
        assign_params(workflow, registry, {"v": "five"}, params_as_text=True)


def test_cli_import_writes_the_workflow_and_exits_2_on_unreadable_input(tmp_path: Path, capsys) -> None:
    source, out = tmp_path / "doc.json", tmp_path / "out.json"
    source.write_text(json.dumps(NATIVE))
    assert main(["import", str(source), "-o", str(out), "--set", "v=7", "--no-installed-packs",
                 "--pack", "engine.toy_nodes:PACK"]) == 0
    assert json.loads(out.read_text())["nodes"]["a"]["inputs"]["value"] == 7
    source.write_text("not json")
    assert main(["import-comfy", str(source), "--no-installed-packs"]) == 2
    assert "cannot import" in capsys.readouterr().err
