"""Reproducibility through the CLI: a seed sweep re-runs only sampler, decode and save; a single run
of one of its seeds in a fresh process writes the identical PNG; and the workflow embedded in a PNG
re-runs to the identical PNG."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest
from cli_runs import WORKFLOWS, CliRun, graph_engine_run

from graph_engine.embedded import png_text

FAST = ["--set", "steps=4"]


@pytest.fixture(scope="module")
def sweep(checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> CliRun:
    out = tmp_path_factory.mktemp("sweep")
    run = graph_engine_run(
        WORKFLOWS / "txt2img.json",
        out,
        "--set",
        f"checkpoint={checkpoint}",
        *FAST,
        "--sweep",
        "seed=1,2,3",
        events=True,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    return run


def test_seed_sweep_reruns_only_sampler_decode_and_save(sweep: CliRun) -> None:
    assert [png.name for png in sweep.pngs] == ["txt2img_00001.png", "txt2img_00002.png", "txt2img_00003.png"]
    started, cached = defaultdict(set), defaultdict(set)
    runs: list[str] = []
    for event in sweep.events:
        if event["type"] == "run_started":
            runs.append(event["run_id"])
        elif event["type"] == "node_started":
            started[event["run_id"]].add(event["node_id"])
        elif event["type"] == "node_cached":
            cached[event["run_id"]].add(event["node_id"])
    assert len(runs) == 3
    everything = {"model", "positive", "negative", "latent", "sampler", "decode", "save"}
    assert started[runs[0]] == everything
    for run_id in runs[1:]:
        assert started[run_id] == {"sampler", "decode", "save"}
        assert cached[run_id] == {"model", "positive", "negative", "latent"}
    assert len({png.read_bytes() for png in sweep.pngs}) == 3


def test_one_seed_in_a_fresh_process_gives_the_identical_png(sweep: CliRun, checkpoint: Path, tmp_path: Path) -> None:
    single = graph_engine_run(
        WORKFLOWS / "txt2img.json", tmp_path, "--set", f"checkpoint={checkpoint}", *FAST, "--set", "seed=2"
    )
    assert single.returncode == 0, single.stderr[-2000:]
    assert single.pngs[0].read_bytes() == sweep.pngs[1].read_bytes()


def test_workflow_embedded_in_a_png_reproduces_it(sweep: CliRun, tmp_path: Path) -> None:
    embedded = tmp_path / "embedded.json"
    embedded.write_text(png_text(sweep.pngs[2])["workflow"])
    again = graph_engine_run(embedded, tmp_path / "out")
    assert again.returncode == 0, again.stderr[-2000:]
    assert again.pngs[0].read_bytes() == sweep.pngs[2].read_bytes()
