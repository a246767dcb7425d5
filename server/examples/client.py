"""A minimal client: submit a workflow, watch its events live (resuming if the socket drops), fetch its files.

    python server/examples/client.py WORKFLOW.json [--set NAME=VALUE ...]
        [--url http://127.0.0.1:8188] [--token TOKEN] [--out DIR]

Only the standard library and `websockets`. See server/PROTOCOL.md for the messages.
"""

from __future__ import annotations

import argparse
import json
import struct
import sys
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

FINAL_EVENTS = {"run_finished", "run_failed", "run_interrupted"}


def request(method: str, url: str, token: str | None, body: Any = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    with urllib.request.urlopen(urllib.request.Request(url, data, headers, method=method)) as response:
        payload = response.read()
        return json.loads(payload) if response.headers.get_content_type() == "application/json" else payload


def parse_value(text: str) -> Any:
    """`--set steps=20` gives 20, `--set prompt=a cat` gives "a cat"."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def decode_preview(frame: bytes) -> tuple[dict[str, Any], bytes]:
    """Binary frame: uint32 type, uint32 header length, JSON header, image bytes (big-endian)."""
    frame_type, header_length = struct.unpack_from(">II", frame)
    header = json.loads(frame[8:8 + header_length])
    return header | {"frame_type": frame_type}, frame[8 + header_length:]


def show(event: dict[str, Any]) -> None:
    if event["type"] == "node_progress":
        print(f"  {event['node_id']}: {event['value']:g}/{event['total']:g}")
    else:
        print(f"{event['type']} {event['node_id'] or ''}".rstrip())


def watch(ws_url: str, token: str | None, start: Callable[[ClientConnection], str | None]) -> dict[str, Any]:
    """Follow one run until its final event, reconnecting with the last event id if the socket drops.

    `start(socket)` is called once, when the first connection is ready: it submits
    the run and returns its id, or sends a 'submit' message and returns None (the
    id then comes in the 'submitted' reply).
    """
    run_id: str | None = None
    started = False
    last_event_id: int | None = None
    early: list[dict[str, Any]] = []  # events that arrived before the 'submitted' reply named our run
    headers = {"Authorization": f"Bearer {token}"} if token else None
    while True:
        url = ws_url if last_event_id is None else f"{ws_url}&last_event_id={last_event_id}"
        try:
            with connect(url, additional_headers=headers, max_size=2**24) as socket:
                hello = json.loads(socket.recv())
                if last_event_id is None:
                    last_event_id = hello["cursor"]  # a reconnect replays everything since now
                if not started:
                    run_id, started = start(socket), True
                for message in socket:
                    if isinstance(message, bytes):
                        header, image = decode_preview(message)
                        if header["run_id"] == run_id:
                            print(f"  preview of {header['node_id']}: {header['width']}x{header['height']} "
                                  f"{header['format']}, {len(image)} bytes")
                        continue
                    data = json.loads(message)
                    if data["type"] == "error":
                        raise SystemExit(f"refused: {data['detail']} {data.get('errors', '')}")
                    if data["type"] == "submitted":
                        run_id = data["run_id"]
                        print(f"submitted run {run_id}")
                        pending, early = [item for item in early if item["run_id"] == run_id], []
                    elif data["type"] == "event":
                        pending = [data]
                    else:
                        continue
                    for item in pending:
                        if run_id is None:
                            early.append(item)
                        elif item["run_id"] == run_id:
                            last_event_id = item["id"]
                            show(item["event"])
                            if item["event"]["type"] in FINAL_EVENTS:
                                return item["event"]
        except ConnectionClosed:
            print("connection lost; resuming", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("workflow", type=Path)
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--url", default="http://127.0.0.1:8188")
    parser.add_argument("--token", default=None)
    parser.add_argument("--out", type=Path, default=Path("client-output"))
    parser.add_argument("--submit-over-websocket", action="store_true")
    args = parser.parse_args(argv)

    client_id = uuid.uuid4().hex
    params = {name: parse_value(value) for name, _, value in (item.partition("=") for item in args.set)}
    submission = {"workflow": json.loads(args.workflow.read_text()), "params": params, "client_id": client_id}

    def start(socket: ClientConnection) -> str | None:
        if args.submit_over_websocket:
            socket.send(json.dumps({"type": "submit", "request_id": "1", **submission}))
            return None
        run_id: str = request("POST", f"{args.url}/runs", args.token, submission)["run_id"]
        print(f"submitted run {run_id}")
        return run_id

    final = watch(args.url.replace("http", "ws", 1) + f"/ws?client_id={client_id}", args.token, start)
    result = final["result"]
    print(f"status: {result['status']}" + (f" ({result['error']})" if result["error"] else ""))
    args.out.mkdir(parents=True, exist_ok=True)
    for path in final["files"]:
        target = args.out / path.replace("/", "_")
        target.write_bytes(request("GET", f"{args.url}/files/outputs/{path}", args.token))
        print(f"saved {target}")
    return 0 if result["status"] == "succeeded" else 1


if __name__ == "__main__":
    sys.exit(main())
