"""Helpers shared by the server tests: polling runs, and real servers in subprocesses."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

FINAL_STATUSES = {"succeeded", "failed", "cancelled", "interrupted"}
HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent.parent


def wait_for_run(client: httpx.Client, run_id: str, timeout: float = 20.0) -> dict[str, Any]:
    """Poll until the run has ended; returns GET /runs/{id} (run and events)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        detail = client.get(f"/runs/{run_id}").json()
        if detail["run"]["status"] in FINAL_STATUSES:
            return detail
        time.sleep(0.02)
    raise AssertionError(f"run {run_id} did not finish within {timeout} s: {detail['run']['status']}")


def wait_for_status(client: httpx.Client, run_id: str, status: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if client.get(f"/runs/{run_id}").json()["run"]["status"] == status:
            return
        time.sleep(0.01)
    raise AssertionError(f"run {run_id} never reached {status!r}")


@dataclass
class LiveServer:
    url: str
    ws_url: str
    data_dir: Path
    process: subprocess.Popen[bytes]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serve(data_dir: Path, packs: tuple[str, ...] = ("server_toy_pack:PACK",), timeout: float = 90.0) -> Iterator[LiveServer]:
    """A real server (uvicorn, `python -m server`) in a subprocess on a free loopback port; always stopped.

    With `packs`, it loads only those; without, the installed ones (the diffusion pack).
    """
    port = free_port()
    env = os.environ | {"PYTHONPATH": os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")]))}
    command = [sys.executable, "-m", "server", "--port", str(port), "--data-dir", str(data_dir), "--device", "cpu"]
    if packs:
        # Only the given packs: importing the installed diffusion pack would only slow the start.
        command.append("--no-installed-packs")
    for pack in packs:
        command += ["--pack", pack]
    log_path = data_dir.parent / f"server-{port}.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=REPO_ROOT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise AssertionError(f"server exited with {process.returncode}:\n{log_path.read_text()}")
            try:
                if httpx.get(f"{url}/queue", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"server did not start within {timeout} s:\n{log_path.read_text()}")
            time.sleep(0.2)
        yield LiveServer(url, f"ws://127.0.0.1:{port}/ws", data_dir, process)
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
