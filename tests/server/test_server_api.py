"""The HTTP API in-process: runs, queue, history, library, catalogue, uploads, files, system."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from PIL import Image
from server_helpers import wait_for_run, wait_for_status
from server_toy_pack import chain_workflow

SUM_WORKFLOW: dict[str, Any] = {
    "schema_version": 1,
    "name": "sum",
    "nodes": {"a": {"type": "toy.Number", "inputs": {"value": 2}},
              "total": {"type": "toy.Add", "inputs": {"x": {"from": "a", "output": "value"}, "y": 3}}},
    "params": {"y": "total.y"},
    "outputs": {"total": {"from": "total", "output": "sum"}},
}


def _submit(client: TestClient, workflow: dict[str, Any], **fields: Any) -> str:
    response = client.post("/runs", json={"workflow": workflow, **fields})
    assert response.status_code == 201, response.text
    return response.json()["run_id"]


def _types(detail: dict[str, Any]) -> list[str]:
    return [event["event"]["type"] for event in detail["events"]]


def _png(size: tuple[int, int] = (4, 4)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (1, 2, 3)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_a_run_goes_from_submit_to_outputs_and_files(client: TestClient) -> None:
    run_id = _submit(client, chain_workflow(), params={"seed": 5}, client_id="me")
    detail = wait_for_run(client, run_id)
    run = detail["run"]
    assert run["status"] == "succeeded" and run["client_id"] == "me" and run["error"] is None
    assert run["outputs"]["value"] == {"kind": "value", "value": 5 + 3}
    image_files = run["outputs"]["image"]["files"]
    assert len(image_files) == 1 and set(image_files) < set(run["files"]) and len(run["files"]) == 2
    types = _types(detail)
    assert types[0] == "run_started" and types[-1] == "run_finished" and types.count("node_progress") == 3
    assert [event["seq"] for event in detail["events"]] == list(range(len(types)))
    assert all(event["event"]["run_id"] == run_id and "node_id" in event["event"] for event in detail["events"])
    final = detail["events"][-1]["event"]
    assert final["result"]["status"] == "succeeded" and final["files"] == run["files"]
    for path in run["files"]:
        response = client.get(f"/files/outputs/{path}")
        assert response.status_code == 200 and response.headers["content-type"] == "image/png"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert Image.open(io.BytesIO(response.content)).size == (8, 8)
    assert client.get("/files/outputs").json()[0].startswith(run_id)


def test_second_run_with_new_seed_reuses_loading_and_encoding(client: TestClient) -> None:
    first = wait_for_run(client, _submit(client, chain_workflow(), params={"seed": 1}))
    second = wait_for_run(client, _submit(client, chain_workflow(), params={"seed": 2}))
    ran_first = {e["event"]["node_id"] for e in first["events"] if e["event"]["type"] == "node_started"}
    assert {"load", "encode", "sample"} <= ran_first
    cached = {e["event"]["node_id"] for e in second["events"] if e["event"]["type"] == "node_cached"}
    ran = {e["event"]["node_id"] for e in second["events"] if e["event"]["type"] == "node_started"}
    assert cached == {"load", "encode"} and "sample" in ran
    assert second["run"]["outputs"]["value"]["value"] == 2 + 3


def test_invalid_workflows_get_422_with_every_node_issue(client: TestClient) -> None:
    workflow = {
        "schema_version": 1,
        "nodes": {"a": {"type": "toy.Numbr"}, "b": {"type": "toy.Add", "inputs": {"x": "text", "y": {"from": "zz", "output": "v"}}}},
        "outputs": {"b": {"from": "b", "output": "sum"}},
    }
    response = client.post("/runs", json={"workflow": workflow})
    assert response.status_code == 422
    issues = response.json()["errors"]
    assert {(issue["node_id"], issue["code"]) for issue in issues} >= {
        ("a", "unknown_node_type"), ("b", "wrong_type"), ("b", "unknown_node")}
    assert next(issue for issue in issues if issue["node_id"] == "a")["suggestion"] == "toy.Number"
    bad_param = client.post("/runs", json={"workflow": SUM_WORKFLOW, "params": {"nope": 1}})
    assert bad_param.status_code == 422 and bad_param.json()["errors"][0]["code"] == "unknown_param"
    both = client.post("/runs", json={"workflow": SUM_WORKFLOW, "workflow_name": "sum"})
    assert both.status_code == 422
    assert client.get("/queue").json()["queued"] == []


def test_saved_workflows_can_be_stored_listed_run_and_deleted(client: TestClient, tmp_path: Path) -> None:
    assert client.put("/workflows/sum", json=SUM_WORKFLOW).status_code == 200
    assert [item["name"] for item in client.get("/workflows").json()] == ["sum"]
    assert client.get("/workflows/sum").json()["nodes"] == SUM_WORKFLOW["nodes"]
    assert (tmp_path / "data" / "workflows" / "sum.json").is_file()
    response = client.post("/runs", json={"workflow_name": "sum", "params": {"y": 10}})
    assert response.status_code == 201
    run = wait_for_run(client, response.json()["run_id"])["run"]
    assert run["workflow_name"] == "sum" and run["outputs"]["total"]["value"] == 12
    assert client.put("/workflows/bad", json={"nodes": 3}).status_code == 422
    assert client.put("/workflows/..%2Fescape", json=SUM_WORKFLOW).status_code in (404, 422)
    assert client.post("/runs", json={"workflow_name": "missing"}).status_code == 404
    assert client.delete("/workflows/sum").status_code == 204
    assert client.get("/workflows/sum").status_code == 404
    assert client.delete("/workflows/sum").status_code == 404


def test_queue_pause_reorder_cancel_and_resume(client: TestClient) -> None:
    assert client.post("/queue/pause").json()["paused"] is True
    first, second, third = (_submit(client, SUM_WORKFLOW, params={"y": y}) for y in (1, 2, 3))
    assert [run["id"] for run in client.get("/queue").json()["queued"]] == [first, second, third]
    assert client.patch(f"/queue/{third}", json={"index": 0}).status_code == 200
    assert client.patch(f"/queue/{first}", json={"priority": 5}).json()["priority"] == 5
    assert [run["id"] for run in client.get("/queue").json()["queued"]] == [first, third, second]
    assert client.patch(f"/queue/{first}", json={"priority": 1, "index": 0}).status_code == 422
    assert client.delete(f"/queue/{second}").json()["detail"] == "cancelled"
    cancelled = client.get(f"/runs/{second}").json()
    assert cancelled["run"]["status"] == "cancelled"
    assert _types(cancelled) == ["run_interrupted"] and cancelled["events"][0]["event"]["error"]
    assert client.delete(f"/queue/{second}").status_code == 409
    assert client.post("/queue/resume").json()["paused"] is False
    for run_id in (first, third):
        assert wait_for_run(client, run_id)["run"]["status"] == "succeeded"
    assert client.patch(f"/queue/{first}", json={"index": 0}).status_code == 409
    assert client.get(f"/runs/{'0' * 32}").status_code == 404
    assert client.get("/runs/not-an-id").status_code == 422


def test_interrupting_a_running_run(client: TestClient) -> None:
    run_id = _submit(client, chain_workflow(steps=500, delay=0.01))
    waiting = _submit(client, SUM_WORKFLOW)
    wait_for_status(client, run_id, "running")
    assert client.post(f"/runs/{waiting}/interrupt").status_code == 409
    assert client.post(f"/runs/{run_id}/interrupt").status_code == 202
    detail = wait_for_run(client, run_id)
    assert detail["run"]["status"] == "interrupted" and _types(detail)[-1] == "run_interrupted"
    assert wait_for_run(client, waiting)["run"]["status"] == "succeeded", "the queue goes on"
    assert client.post(f"/runs/{run_id}/interrupt").status_code == 409


def test_failed_nodes_fail_the_run_with_a_reason(client: TestClient) -> None:
    workflow = {
        "schema_version": 1,
        "nodes": {"bad": {"type": "toy.Fail", "inputs": {"x": 1, "message": "kaputt"}},
                  "good": {"type": "toy.Number", "inputs": {"value": 4}}},
        "outputs": {"bad": {"from": "bad", "output": "value"}, "good": {"from": "good", "output": "value"}},
    }
    detail = wait_for_run(client, _submit(client, workflow))
    run = detail["run"]
    assert run["status"] == "failed" and "kaputt" in run["error"] and "bad" in run["error"]
    assert run["outputs"] == {"good": {"kind": "value", "value": 4}}
    failed = next(e["event"] for e in detail["events"] if e["event"]["type"] == "node_failed")
    assert failed["node_id"] == "bad" and failed["message"] == "kaputt"
    assert _types(detail)[-1] == "run_failed"


def test_history_pages_filters_and_deletes(client: TestClient) -> None:
    runs = [_submit(client, SUM_WORKFLOW, params={"y": y}, client_id="a" if y % 2 else "b") for y in range(5)]
    for run_id in runs:
        wait_for_run(client, run_id)
    page = client.get("/history", params={"offset": 0, "limit": 2}).json()
    assert page["total"] == 5 and len(page["runs"]) == 2
    assert page["runs"][0]["id"] == runs[-1], "newest first"
    assert client.get("/history", params={"client_id": "a"}).json()["total"] == 2
    assert client.get("/history", params={"limit": 0}).status_code == 422
    assert client.delete(f"/runs/{runs[0]}").status_code == 204
    assert client.get(f"/runs/{runs[0]}").status_code == 404
    assert client.get("/history").json()["total"] == 4


def test_catalogue_and_schemas(client: TestClient) -> None:
    catalogue = client.get("/nodes").json()
    assert {"toy.Add", "toy.Steps", "toy.SaveImage"} <= {item["type"] for item in catalogue["nodes"]}
    assert catalogue["problems"] == []
    assert client.get("/schema/workflow").json()["title"] == "graph-engine workflow"
    assert "oneOf" in client.get("/schema/events").json() or "anyOf" in client.get("/schema/events").json()
    openapi = client.get("/openapi.json").json()
    assert {"/runs", "/queue", "/history", "/workflows/{name}", "/uploads", "/files/{kind}/{path}"} <= set(openapi["paths"])


def test_uploads_are_checked_images_that_never_overwrite(client: TestClient, tmp_path: Path) -> None:
    first = client.post("/uploads", params={"filename": "../../cat photo.PNG"}, content=_png())
    assert first.status_code == 201, first.text
    assert first.json() | {"bytes": 0} == {"path": "cat_photo.png", "width": 4, "height": 4, "format": "png", "bytes": 0}
    second = client.post("/uploads", params={"filename": "cat photo.png"}, content=_png((2, 3)))
    assert second.json()["path"] == "cat_photo-1.png"
    assert Image.open(tmp_path / "data" / "inputs" / "cat_photo.png").size == (4, 4)
    downloaded = client.get("/files/inputs/cat_photo-1.png")
    assert downloaded.status_code == 200 and Image.open(io.BytesIO(downloaded.content)).size == (2, 3)
    assert set(client.get("/files/inputs").json()) == {"cat_photo.png", "cat_photo-1.png"}


def test_system_info_and_free_memory(client: TestClient) -> None:
    workflow = {"schema_version": 1, "nodes": {"big": {"type": "toy.Big", "inputs": {"megabytes": 64}}},
                "outputs": {"big": {"from": "big", "output": "blob"}}}
    assert wait_for_run(client, _submit(client, workflow))["run"]["status"] == "succeeded"
    info = client.get("/system").json()
    assert info["devices"][0]["name"] == "cpu" and info["devices"][0]["busy_run_id"] is None
    assert info["cache"]["cpu"]["bytes"] >= 64 * 2**20
    freed = client.post("/system/free", json={"clear_cache": True, "unload_models": False}).json()
    assert freed["cache_before"]["cpu"]["bytes"] >= 64 * 2**20 and freed["cache_after"]["cpu"]["bytes"] == 0
    assert freed["rss_before"] - freed["rss_after"] > 32 * 2**20, "the memory really went back"

    model = {"schema_version": 1, "nodes": {"use": {"type": "toy.UseModel", "inputs": {"megabytes": 64}}},
             "outputs": {"size": {"from": "use", "output": "size"}}}
    assert wait_for_run(client, _submit(client, model))["run"]["outputs"]["size"]["value"] == 64 * 2**20
    assert client.get("/system").json()["resources"]["cpu"]["ToyModels"] == {"loaded": ["model"], "loads": 1}
    assert wait_for_run(client, _submit(client, model))["run"]["status"] == "succeeded"
    assert client.get("/system").json()["resources"]["cpu"]["ToyModels"]["loads"] == 1, "kept across runs"
    unloaded = client.post("/system/free", json={"clear_cache": False, "unload_models": True}).json()
    assert client.get("/system").json()["resources"]["cpu"]["ToyModels"]["loaded"] == []
    assert unloaded["rss_before"] - unloaded["rss_after"] > 32 * 2**20, "unloading really freed the model"
    assert client.post("/system/free", json={"clear_cache": "yes please"}).status_code == 422


def test_websocket_in_process_answers_every_message(client: TestClient) -> None:
    with client.websocket_connect("ws://127.0.0.1:8188/ws?client_id=tester") as websocket:
        assert websocket.receive_json()["type"] == "hello"
        assert websocket.receive_json()["type"] == "queue"
        assert websocket.receive_json()["type"] == "replay_done"
        websocket.send_bytes(b"\x00\x01")
        assert websocket.receive_json()["status"] == 400
        websocket.send_text("[1, 2]")
        assert websocket.receive_json()["status"] == 400
        websocket.send_json({"type": "cancel", "run_id": "0" * 32, "request_id": 7})
        assert websocket.receive_json() == {"request_id": 7, "type": "error", "status": 404,
                                            "detail": f"no run {'0' * 32!r}"}
        websocket.send_json({"type": "ping"})
        assert websocket.receive_json() == {"type": "pong"}
    with client.websocket_connect("ws://127.0.0.1:8188/ws?scope=client") as websocket:
        refusal = websocket.receive_json()
        assert refusal["type"] == "error" and "client_id" in refusal["detail"]
