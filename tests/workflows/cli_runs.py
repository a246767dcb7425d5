"""Running `graph-engine run` as a user does: a subprocess from the repository root."""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from graph_engine import ENTRY_POINT_GROUP, WORKFLOW_PACK_GROUP

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = REPO / "workflows"


def pack_arguments() -> list[str]:
    """--pack for the diffusion pack unless it is installed as an entry point already."""
    installed = {entry.name for entry in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)}
    return [] if "diffusion" in installed else ["--pack", "nodes.pack:PACK"]


def library_arguments() -> list[str]:
    """--workflows for the shipped workflows unless their workflow pack is installed already."""
    installed = {entry.name for entry in importlib.metadata.entry_points(group=WORKFLOW_PACK_GROUP)}
    return [] if "shipped" in installed else ["--workflows", str(WORKFLOWS)]


@dataclass
class CliRun:
    returncode: int
    stdout: str
    stderr: str
    pngs: list[Path]
    events: list[dict[str, Any]]


def graph_engine_run(workflow: Path, output_dir: Path, *arguments: str, events: bool = False) -> CliRun:
    """Run a workflow through the real CLI (one fresh process) and collect the PNGs it wrote."""
    events_file = output_dir / "events.jsonl"
    command = [
        sys.executable,
        "-m",
        "graph_engine",
        "run",
        str(workflow),
        "--output-dir",
        str(output_dir),
        "--device",
        "cpu",
    ]
    command += pack_arguments() + library_arguments() + list(arguments) + (["--events", str(events_file)] if events else [])
    # One thread: tiny models run fastest so on the shared machine.
    environment = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, check=False, cwd=REPO, capture_output=True, text=True, timeout=300, env=environment)
    lines = events_file.read_text().splitlines() if events and events_file.exists() else []
    return CliRun(
        done.returncode,
        done.stdout,
        done.stderr,
        sorted(output_dir.glob("*.png")),
        [json.loads(line) for line in lines],
    )


def check_png(path: Path, size: tuple[int, int]) -> dict[str, str]:
    """The PNG has the expected size, is not blank, and carries the workflow and params; returns its text."""
    with Image.open(path) as picture:
        assert picture.size == size, f"{path.name} is {picture.size}, expected {size}"
        pixels = np.asarray(picture.convert("RGB"), dtype=np.float32)
        text = dict(picture.text)  # type: ignore[attr-defined]
    assert pixels.std() > 2.0, f"{path.name} is blank (pixel std {pixels.std():.2f})"
    assert {"workflow", "params"} <= set(text), f"{path.name} lacks the embedded workflow/params: {sorted(text)}"
    json.loads(text["workflow"])
    return text
