"""A shipped workflow used as a node of another (compare_samplers runs txt2img twice), on the
bundled tiny-shapes model: through the CLI, re-run from its PNG, and as Python functions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from cli_runs import WORKFLOWS, CliRun, check_png, graph_engine_run
from PIL import Image

import workflows
from graph_engine import Executor, Registry, WorkflowLibrary
from nodes.pack import PACK

FAST = ["--set", "steps=4", "--set", "seed=3"]
GRID_SIZE = (2 * 64 + 3 * 2, 64 + 2 * 2)  # two 64 px tiles, 2 px padding around and between


@pytest.fixture(scope="module")
def compared(tmp_path_factory: pytest.TempPathFactory) -> CliRun:
    output = tmp_path_factory.mktemp("compare")
    return graph_engine_run(WORKFLOWS / "compare_samplers.json", output, *FAST, "--set", "sampler_b=heun", events=True)


def pixels(path: Path) -> np.ndarray:
    with Image.open(path) as picture:
        return np.asarray(picture.convert("RGB"))


def test_compare_samplers_runs_txt2img_twice_sharing_loading_and_encoding(compared: CliRun) -> None:
    assert compared.returncode == 0, compared.stderr[-2000:]
    names = [png.name for png in compared.pngs]
    assert names == ["compare_samplers_00001.png", "txt2img_00001.png", "txt2img_00002.png"]
    check_png(compared.pngs[0], GRID_SIZE)
    grid = pixels(compared.pngs[0])
    # The tiles are exactly the images the inner txt2img nodes saved (euler left, heun right).
    left, right = pixels(compared.pngs[1]), pixels(compared.pngs[2])
    assert np.array_equal(grid[2:66, 2:66], left) and np.array_equal(grid[2:66, 68:132], right)
    assert not np.array_equal(left, right)
    # Model loading and prompt encoding ran once: the second txt2img's came from the first.
    statuses = {event["node_id"]: event["type"] for event in compared.events if event["type"].startswith("node_")}
    for inner in ("model", "positive", "negative", "latent"):
        assert statuses[f"first/{inner}"] == "node_finished" and statuses[f"second/{inner}"] == "node_cached"
    assert statuses["second/sampler"] == "node_finished"
    sampler_events = [event for event in compared.events if event.get("node_id") == "second/sampler"]
    assert {(event["parent"], event["parent_type"]) for event in sampler_events} == {("second", "workflow:txt2img")}


def test_the_embedded_workflow_reruns_without_the_library(compared: CliRun, tmp_path: Path) -> None:
    # In-process (a CLI run costs a process start): an executor with no library at all.
    rerun = Executor(Registry([PACK]), device="cpu", output_dir=tmp_path).run(compared.pngs[0])
    assert rerun.status == "success", rerun.failures
    again = next(Path(path) for path in rerun.files if Path(path).name.startswith("compare_samplers"))
    assert np.array_equal(pixels(again), pixels(compared.pngs[0]))


def test_library_workflows_as_python_functions_match_the_nested_run(tmp_path: Path) -> None:
    library = WorkflowLibrary.discover(packs=[workflows.PACK], group=None)
    flows = Executor(Registry([PACK]), device="cpu", output_dir=tmp_path, library=library).workflows
    alone = flows.txt2img(prompt="a red circle on a blue background", seed=3, steps=4)
    grid = flows.compare_samplers(seed=3, steps=4, sampler_b="heun")
    assert alone.shape == (1, 64, 64, 3) and grid.shape == (1, *reversed(GRID_SIZE), 3)
    assert torch.equal(grid[0, 2:66, 2:66], alone[0])
