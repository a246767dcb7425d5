"""Helpers shared by the server tests (polling runs)."""

from __future__ import annotations

import time
from typing import Any

from fastapi.testclient import TestClient

FINAL_STATUSES = {"succeeded", "failed", "cancelled", "interrupted"}


def wait_for_run(client: TestClient, run_id: str, timeout: float = 20.0) -> dict[str, Any]:
    """Poll until the run has ended; returns GET /runs/{id} (run and events)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        detail = client.get(f"/runs/{run_id}").json()
        if detail["run"]["status"] in FINAL_STATUSES:
            return detail
        time.sleep(0.02)
    raise AssertionError(f"run {run_id} did not finish within {timeout} s: {detail['run']['status']}")


def wait_for_status(client: TestClient, run_id: str, status: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if client.get(f"/runs/{run_id}").json()["run"]["status"] == status:
            return
        time.sleep(0.01)
    raise AssertionError(f"run {run_id} never reached {status!r}")
