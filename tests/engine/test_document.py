"""Workflow documents: lossless round trip, canonical text, migrations, published schema."""

import json
from pathlib import Path

import pytest

from engine.conftest import link, workflow
from graph_engine import Link, Migrations, WorkflowValidationError, load_workflow, loads_workflow
from graph_engine.document import workflow_json_schema_text

SCHEMA_FILE = Path(__file__).parents[2] / "graph_engine" / "schema" / "workflow.schema.json"


def sample() -> dict:
    return workflow(
        {"a": ("Const", {"value": 2}), "total": ("Add", {"x": link("a", "value"), "y": 3})},
        outputs={"total": link("total", "sum")},
        name="sample",
        params={
            "y": "total.y",
            "both": ["total.y", "a.value"],
            "long": {"targets": ["total.y"], "default": 4, "description": "the y"},
        },
        editor={"positions": {"a": [0, 0], "total": [200, 0]}, "groups": []},
    )


def test_round_trip_is_lossless_and_canonical() -> None:
    loaded = load_workflow(sample())
    text = loaded.to_json()
    again = loads_workflow(text)
    assert again == loaded
    assert again.to_json() == text
    assert json.loads(text)["params"]["y"] == "total.y"  # short forms stay short
    assert again.param_targets("both") == ["total.y", "a.value"]
    assert again.param_default("long") == 4
    assert isinstance(again.nodes["total"].inputs["x"], Link)


def test_serialisation_does_not_depend_on_key_order() -> None:
    document = sample()
    shuffled = dict(reversed(list(document.items())))
    shuffled["nodes"] = dict(reversed(list(document["nodes"].items())))
    assert load_workflow(shuffled).to_json() == load_workflow(document).to_json()


def test_save_and_load_from_path(tmp_path: Path) -> None:
    path = tmp_path / "wf.json"
    load_workflow(sample()).save(path)
    assert load_workflow(path) == load_workflow(sample())
    assert load_workflow(str(path)) == load_workflow(sample())


def issue_codes(source: object) -> list[str]:
    with pytest.raises(WorkflowValidationError) as caught:
        load_workflow(source) if not isinstance(source, str) else loads_workflow(source)
    return [issue.code.value for issue in caught.value.issues]


def test_structural_errors() -> None:
    assert issue_codes("{not json") == ["invalid_json"]
    assert issue_codes(workflow({"bad id": ("Const", {})}, {})) == ["invalid_document"]
    document = workflow({"a": ("Const", {"value": {"from": "x"}})}, {})
    with pytest.raises(WorkflowValidationError) as caught:
        load_workflow(document)
    issue = caught.value.issues[0]
    assert (issue.node_id, issue.input, issue.location) == ("a", "value", "nodes.a.inputs.value.output")


def test_schema_version_checks() -> None:
    assert issue_codes({"nodes": {}}) == ["unsupported_schema_version"]
    newer = {"schema_version": 99, "nodes": {}}
    with pytest.raises(WorkflowValidationError, match="newer graph-engine"):
        load_workflow(newer)


def test_migrations_upgrade_step_by_step() -> None:
    def zero_to_one(document: dict) -> dict:
        # an imagined version 0 that called nodes "graph" and links [node, output]
        nodes = {}
        for node_id, entry in document.pop("graph").items():
            inputs = {
                name: {"from": value[0], "output": value[1]} if isinstance(value, list) else value
                for name, value in entry["inputs"].items()
            }
            nodes[node_id] = {"type": entry["type"], "inputs": inputs}
        return {**document, "nodes": nodes}

    migrations = Migrations(current=1, steps={0: zero_to_one}, oldest=0)
    old = {
        "schema_version": 0,
        "graph": {
            "a": {"type": "Const", "inputs": {"value": 1}},
            "b": {"type": "Add", "inputs": {"x": ["a", "value"]}},
        },
        "outputs": {"b": {"from": "b", "output": "sum"}},
    }
    upgraded = load_workflow(old, migrations)
    assert upgraded.schema_version == 1
    assert upgraded.nodes["b"].inputs["x"] == Link(node="a", output="value")
    with pytest.raises(WorkflowValidationError, match="no migration"):
        load_workflow(old, Migrations(current=1, oldest=0))
    with pytest.raises(WorkflowValidationError, match="older than the oldest"):
        load_workflow({**old, "schema_version": -1}, migrations)


def test_published_schema_matches_the_model() -> None:
    assert SCHEMA_FILE.read_text() == workflow_json_schema_text(), (
        "regenerate with: graph-engine schema > graph_engine/schema/workflow.schema.json"
    )
    schema = json.loads(SCHEMA_FILE.read_text())
    assert schema["required"] == ["schema_version", "nodes"]
    assert "Link" in schema["$defs"] and schema["additionalProperties"] is False
