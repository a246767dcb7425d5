"""The server's workflow library: saved workflows and installed packs' usable by name and as
`workflow:NAME` nodes, listed together (/library, /nodes); path references are refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from server_helpers import wait_for_run
from test_server_api import SUM_WORKFLOW

from graph_engine import WorkflowFolder, WorkflowLibrary


def _uses_sum(y: Any, pin: str | None = None) -> dict[str, Any]:
    node: dict[str, Any] = {"type": "workflow:sum", "inputs": {"y": y}}
    if pin is not None:
        node["pin"] = pin
    return {
        "schema_version": 1,
        "nodes": {"s": node, "more": {"type": "toy.Add", "inputs": {"x": {"from": "s", "output": "total"}, "y": 100}}},
        "outputs": {"more": {"from": "more", "output": "sum"}},
    }


def test_saved_and_pack_workflows_are_listed_runnable_and_usable_as_nodes(make_client: Any, tmp_path: Path) -> None:
    pack = tmp_path / "pack"
    pack.mkdir()
    (pack / "plus_one.json").write_text(json.dumps({**SUM_WORKFLOW, "name": "plus_one", "description": "x + 1"}))
    library = WorkflowLibrary([WorkflowFolder(pack, "toys", "toys.")])
    with make_client(workflow_library=library) as client:
        assert client.put("/workflows/sum", json=SUM_WORKFLOW).status_code == 200
        listed = {item["name"]: item for item in client.get("/library").json()}
        assert {name: item["source"] for name, item in listed.items()} == {"sum": "saved", "toys.plus_one": "toys"}
        assert [param["name"] for param in listed["sum"]["params"]] == ["y"] and len(listed["sum"]["hash"]) == 16
        types = {node["type"]: node for node in client.get("/nodes").json()["nodes"]}
        assert types["workflow:sum"]["category"] == "workflows"
        assert types["workflow:sum"]["workflow"]["hash"] == listed["sum"]["hash"]

        response = client.post("/runs", json={"workflow": _uses_sum(10, listed["sum"]["hash"])})
        assert response.status_code == 201, response.text
        detail = wait_for_run(client, response.json()["run_id"])
        assert detail["run"]["outputs"]["more"]["value"] == 2 + 10 + 100
        inner = [event["event"] for event in detail["events"] if event["event"].get("node_id") == "s/total"]
        assert inner and all(event["parent"] == "s" and event["parent_type"] == "workflow:sum" for event in inner)

        by_name = client.post("/runs", json={"workflow_name": "toys.plus_one", "params": {"y": 1}})
        assert by_name.status_code == 201
        assert wait_for_run(client, by_name.json()["run_id"])["run"]["outputs"]["total"]["value"] == 3

        # Editing the saved definition breaks the pin, with a message saying how to update it.
        changed = json.loads(json.dumps(SUM_WORKFLOW))
        changed["nodes"]["a"]["inputs"]["value"] = 5
        assert client.put("/workflows/sum", json=changed).status_code == 200
        stale = client.post("/runs", json={"workflow": _uses_sum(10, listed["sum"]["hash"])})
        assert stale.status_code == 422 and stale.json()["errors"][0]["code"] == "workflow_changed"


def test_library_workflows_open_by_name(make_client: Any, tmp_path: Path) -> None:
    pack = tmp_path / "pack"
    pack.mkdir()
    (pack / "plus_one.json").write_text(json.dumps({**SUM_WORKFLOW, "name": "plus_one"}))
    (pack / "broken.json").write_text("{not json")
    library = WorkflowLibrary([WorkflowFolder(pack, "toys", "toys.")])
    with make_client(workflow_library=library) as client:
        assert client.put("/workflows/sum", json=SUM_WORKFLOW).status_code == 200
        assert client.get("/library/toys.plus_one").json()["nodes"] == SUM_WORKFLOW["nodes"]
        assert client.get("/library/sum").json()["nodes"] == SUM_WORKFLOW["nodes"]
        missing = client.get("/library/toys.plus_on")
        assert missing.status_code == 404 and "did you mean 'toys.plus_one'" in missing.json()["detail"]
        broken = client.get("/library/toys.broken")
        assert broken.status_code == 422 and "'toys.broken' is not readable" in broken.json()["detail"]


def test_the_shipped_workflows_are_in_the_default_library(make_client: Any) -> None:
    # None: the installed packs. The toy registry lacks their nodes, so they are listed with a problem,
    # but their documents still open (in the editor, to edit or copy).
    with make_client(workflow_library=None) as client:
        shipped = {item["name"] for item in client.get("/library").json() if item["source"] == "shipped"}
        assert {"txt2img", "img2img", "compare_samplers"} <= shipped
        assert client.get("/library/txt2img").json()["nodes"]["sampler"]["type"] == "KSampler"


def test_path_references_are_refused(client: TestClient, tmp_path: Path) -> None:
    outside = tmp_path / "outside.json"
    outside.write_text(json.dumps(SUM_WORKFLOW))
    document = {
        "schema_version": 1,
        "nodes": {"s": {"type": f"workflow:{outside}"}},
        "outputs": {"total": {"from": "s", "output": "total"}},
    }
    response = client.post("/runs", json={"workflow": document})
    assert response.status_code == 422
    error = response.json()["errors"][0]
    assert error["code"] == "unknown_workflow" and "file path" in error["message"]
