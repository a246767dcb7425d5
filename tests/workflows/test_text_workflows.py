"""txt2img, hires_fix and seed_grid end to end through the real CLI (one process each), on a tiny
random checkpoint: the PNG has the right size, is not blank, and embeds the workflow and params."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_runs import WORKFLOWS, check_png, graph_engine_run


@pytest.mark.parametrize(
    "name, settings, size",
    [
        ("txt2img", ["--set", "seed=7", "--set", "steps=8"], (64, 64)),
        ("hires_fix", ["--set", "steps=6", "--set", "prompt=a green star"], (128, 128)),
        (
            "seed_grid",
            ["--set", "steps=4", "--set", "width=32", "--set", "height=32"],
            (2 * 32 + 3 * 2, 2 * 32 + 3 * 2),
        ),
    ],
)
def test_text_workflow_through_the_cli(
    name: str, settings: list[str], size: tuple[int, int], checkpoint: Path, tmp_path: Path
) -> None:
    run = graph_engine_run(WORKFLOWS / f"{name}.json", tmp_path, "--set", f"checkpoint={checkpoint}", *settings)
    assert run.returncode == 0, run.stderr[-2000:]
    assert [png.name for png in run.pngs] == [f"{name}_00001.png"]
    text = check_png(run.pngs[0], size)
    params = json.loads(text["params"])
    assert params["checkpoint"] == str(checkpoint) and params["batch_index"] == 0
    for setting in settings[1::2]:
        key, _, value = setting.partition("=")
        assert str(params[key]) == value
    assert f"wrote {run.pngs[0]}" in run.stdout
