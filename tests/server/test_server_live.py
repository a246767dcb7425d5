"""A real uvicorn server on loopback, driven by a `websockets` client.

Covers watching a run live (events and binary previews), submitting over the
socket, reconnect-and-replay, the protocol's example client, restart survival,
and (once it is bundled) a real run of the tiny model.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from server_helpers import REPO_ROOT, LiveServer, serve, wait_for_run, wait_for_status
from server_toy_pack import chain_workflow
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from server.protocol import BINARY_PREVIEW_IMAGE, decode_binary
from server.worker import RESTART_REASON

FINAL_EVENTS = {"run_finished", "run_failed", "run_interrupted"}
SUM_WORKFLOW: dict[str, Any] = {
    "schema_version": 1,
    "nodes": {"a": {"type": "toy.Number", "inputs": {"value": 2}},
              "total": {"type": "toy.Add", "inputs": {"x": {"from": "a", "output": "value"}, "y": 3}}},
    "params": {"y": "total.y"},
    "outputs": {"total": {"from": "total", "output": "sum"}},
}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with serve(tmp_path_factory.mktemp("live") / "data") as server:
        yield server


@pytest.fixture()
def http(live: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live.url, timeout=30) as client:
        yield client


def _submit(http: httpx.Client, workflow: dict[str, Any], **fields: Any) -> str:
    response = http.post("/runs", json={"workflow": workflow, **fields})
    assert response.status_code == 201, response.text
    return response.json()["run_id"]


def _follow(socket: ClientConnection, run_id: str | None = None, limit: int | None = None,
            timeout: float = 60) -> tuple[list[dict[str, Any]], list[tuple[dict[str, Any], bytes]]]:
    """Read event messages (of `run_id`, or of any run) and preview frames until a final event or `limit` events."""
    events: list[dict[str, Any]] = []
    previews: list[tuple[dict[str, Any], bytes]] = []
    deadline = time.monotonic() + timeout
    while True:
        message = socket.recv(timeout=max(0.1, deadline - time.monotonic()))
        if isinstance(message, bytes):
            frame_type, header, image = decode_binary(message)
            assert frame_type == BINARY_PREVIEW_IMAGE
            previews.append((header, image))
            continue
        data = json.loads(message)
        if data["type"] != "event" or (run_id is not None and data["run_id"] != run_id):
            continue
        events.append(data)
        if data["event"]["type"] in FINAL_EVENTS or (limit is not None and len(events) >= limit):
            return events, previews


def test_websocket_watches_a_run_from_submit_to_final_image(live: LiveServer, http: httpx.Client) -> None:
    with connect(f"{live.ws_url}?client_id=watcher") as socket:
        hello = json.loads(socket.recv(timeout=10))
        assert hello["type"] == "hello" and hello["client_id"] == "watcher" and hello["scope"] == "client"
        run_id = _submit(http, chain_workflow(steps=4, preview=True), params={"seed": 9}, client_id="watcher")
        other = _submit(http, SUM_WORKFLOW, client_id="someone-else")
        events, previews = _follow(socket, run_id)
    assert [event["seq"] for event in events] == list(range(len(events))), "every event, once, in order"
    assert [event["id"] for event in events] == sorted(event["id"] for event in events)
    assert all(event["event"]["run_id"] == run_id and "node_id" in event["event"] for event in events)
    progress = [event for event in events if event["event"]["type"] == "node_progress"]
    assert len(progress) == 4 and all(event["event"]["preview"]["format"] == "png" for event in progress)
    assert [(header["node_id"], header["seq"]) for header, _ in previews] == \
        [(event["event"]["node_id"], event["seq"]) for event in progress]
    header, image = previews[0]
    assert Image.open(io.BytesIO(image)).size == (header["width"], header["height"]) == (512, 256), "scaled down"
    final = events[-1]["event"]
    assert final["type"] == "run_finished" and final["result"]["status"] == "succeeded"
    image_path = final["result"]["outputs"]["image"]["files"][0]
    assert Image.open(io.BytesIO(http.get(f"/files/outputs/{image_path}").content)).size == (8, 8)
    assert wait_for_run(http, other)["run"]["status"] == "succeeded"


def test_runs_can_be_submitted_and_cancelled_over_the_websocket(live: LiveServer, http: httpx.Client) -> None:
    with connect(f"{live.ws_url}?client_id=socket-only") as socket:
        socket.send(json.dumps({"type": "submit", "request_id": "r1", "workflow": SUM_WORKFLOW, "params": {"y": 40}}))
        socket.send(json.dumps({"type": "submit", "request_id": "r2", "workflow": {"schema_version": 1, "nodes": {}}}))
        socket.send(json.dumps({"type": "launch"}))
        socket.send("not json")
        replies: dict[str, dict[str, Any]] = {}
        events: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        while not (events and events[-1]["event"]["type"] in FINAL_EVENTS and len(errors) == 2):
            data = json.loads(socket.recv(timeout=30))
            if data.get("request_id"):
                replies[data["request_id"]] = data
            elif data["type"] == "error":
                errors.append(data)
            elif data["type"] == "event":
                events.append(data)
        assert replies["r1"]["type"] == "submitted" and events[-1]["run_id"] == replies["r1"]["run_id"]
        assert replies["r2"]["type"] == "error" and replies["r2"]["status"] == 422 and replies["r2"]["errors"]
        assert {error["status"] for error in errors} == {400}
        run = wait_for_run(http, replies["r1"]["run_id"])["run"]
        assert run["client_id"] == "socket-only", "the socket's client id tags its runs"
        assert run["outputs"]["total"]["value"] == 42

        http.post("/queue/pause")
        queued = _submit(http, SUM_WORKFLOW, client_id="socket-only")
        socket.send(json.dumps({"type": "cancel", "request_id": "c1", "run_id": queued}))
        while (reply := json.loads(socket.recv(timeout=30))).get("request_id") != "c1":
            pass
        http.post("/queue/resume")
        assert reply == {"request_id": "c1", "type": "cancel_accepted", "run_id": queued, "outcome": "cancelled"}
        assert http.get(f"/runs/{queued}").json()["run"]["status"] == "cancelled"


def test_reconnecting_with_the_last_event_id_replays_what_was_missed(live: LiveServer, http: httpx.Client) -> None:
    run_id = _submit(http, chain_workflow(steps=40, delay=0.02), client_id="reloader")
    with connect(f"{live.ws_url}?client_id=reloader&last_event_id=0") as socket:
        first, _ = _follow(socket, run_id, limit=5)
    time.sleep(0.3)  # the run goes on while the "browser reloads"
    with connect(f"{live.ws_url}?client_id=reloader&last_event_id={first[-1]['id']}") as socket:
        second, _ = _follow(socket, run_id, limit=3)
    with connect(f"{live.ws_url}?client_id=reloader&last_event_id={run_id}:{second[-1]['seq']}") as socket:
        rest, _ = _follow(socket, run_id)
    seqs = [event["seq"] for event in first + second + rest]
    assert seqs == list(range(len(seqs))), "nothing lost, nothing repeated"
    assert rest[-1]["event"]["type"] == "run_finished"
    stored = http.get(f"/runs/{run_id}").json()["events"]
    assert [event["id"] for event in stored] == [event["id"] for event in first + second + rest]
    with connect(f"{live.ws_url}?last_event_id={'f' * 32}:0") as socket:
        refusal = json.loads(socket.recv(timeout=10))
        assert refusal["type"] == "error" and "no event" in refusal["detail"]
        with pytest.raises(ConnectionClosed):
            socket.recv(timeout=10)
        assert socket.close_code == 1008


def test_the_protocol_example_client_runs(live: LiveServer, tmp_path: Path) -> None:
    workflow = tmp_path / "chain.json"
    workflow.write_text(json.dumps(chain_workflow(steps=3, preview=True)))
    for seed, extra in ((11, []), (12, ["--submit-over-websocket"])):
        result = subprocess.run(
            [sys.executable, str(REPO_ROOT / "server" / "examples" / "client.py"), str(workflow),
             "--set", f"seed={seed}", "--url", live.url, "--out", str(tmp_path / "out"), *extra],
            capture_output=True, text=True, timeout=120, check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert "status: succeeded" in result.stdout and "preview of sample" in result.stdout
        assert "run_finished" in result.stdout
    saved = sorted(path.name for path in (tmp_path / "out").iterdir())
    assert len(saved) == 4 and all(name.endswith(".png") for name in saved)


def test_restart_fails_the_running_run_and_resumes_the_queue(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with serve(data_dir) as server, httpx.Client(base_url=server.url, timeout=30) as http:
        killed = _submit(http, chain_workflow(steps=5000, delay=0.01))
        waiting = [_submit(http, SUM_WORKFLOW, params={"y": y}) for y in (1, 2)]
        wait_for_status(http, killed, "running")
        while len(http.get(f"/runs/{killed}").json()["events"]) < 8:
            time.sleep(0.05)
        server.process.kill()
        server.process.wait()
    with serve(data_dir) as server, httpx.Client(base_url=server.url, timeout=30) as http:
        detail = http.get(f"/runs/{killed}").json()
        assert detail["run"]["status"] == "failed" and detail["run"]["error"] == RESTART_REASON
        final = detail["events"][-1]
        assert final["event"]["type"] == "run_failed" and final["event"]["error"] == RESTART_REASON
        assert [event["seq"] for event in detail["events"]] == list(range(len(detail["events"])))
        for run_id, y in zip(waiting, (1, 2)):
            assert wait_for_run(http, run_id)["run"]["outputs"]["total"]["value"] == 2 + y
        assert http.get("/history").json()["total"] == 3
        assert not (data_dir / "outputs" / ".staging" / killed).exists()
        with connect(f"{server.ws_url}?last_event_id=0") as socket:
            replayed, _ = _follow(socket, killed)
        assert replayed[-1]["event"]["error"] == RESTART_REASON


def _bundled_model_missing() -> str | None:
    """Why the bundled tiny model cannot run yet, or None once the workflow and its weights are in place."""
    if not (REPO_ROOT / "workflows" / "txt2img.json").exists():
        return "the bundled model's workflows/txt2img.json is not in the repository yet"
    checkpoint = REPO_ROOT / "nodes" / "tiny_shapes" / "checkpoints" / "tiny-shapes"
    if not checkpoint.is_dir() or not any(checkpoint.iterdir()):
        return f"the bundled model's weights ({checkpoint.relative_to(REPO_ROOT)}) are not in the repository yet"
    return None


@pytest.mark.skipif(_bundled_model_missing() is not None, reason=str(_bundled_model_missing()))
def test_watching_a_real_run_of_the_bundled_model(tmp_path: Path) -> None:
    workflow = json.loads((REPO_ROOT / "workflows" / "txt2img.json").read_text())
    with serve(tmp_path / "data", packs=()) as server, httpx.Client(base_url=server.url, timeout=60) as http:
        with connect(f"{server.ws_url}?client_id=model-watcher") as socket:
            run_id = _submit(http, workflow, client_id="model-watcher")
            events, _ = _follow(socket, run_id, timeout=300)
        final = events[-1]["event"]
        assert final["type"] == "run_finished", final["result"]
        assert any(event["event"]["type"] == "node_progress" for event in events), "sampler steps are streamed"
        pngs = [path for path in final["files"] if path.endswith(".png")]
        assert pngs, final
        image = Image.open(io.BytesIO(http.get(f"/files/outputs/{pngs[0]}").content))
        assert min(image.size) >= 8

