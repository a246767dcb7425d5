"""img2img and inpaint (on the shipped sample inputs) and unconditional end to end through the CLI.
(That inpainting keeps the unmasked latent exactly is tested in tests/nodes/test_sampling.py.)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_runs import WORKFLOWS, check_png, graph_engine_run


@pytest.mark.parametrize("name", ["img2img", "inpaint"])
def test_image_to_image_workflows_through_the_cli(name: str, checkpoint: Path, tmp_path: Path) -> None:
    run = graph_engine_run(
        WORKFLOWS / f"{name}.json", tmp_path, "--set", f"checkpoint={checkpoint}", "--set", "steps=6"
    )
    assert run.returncode == 0, run.stderr[-2000:]
    params = json.loads(check_png(run.pngs[0], (64, 64))["params"])
    assert params["image"] == "workflows/inputs/shapes.png" and params["steps"] == 6
    if name == "inpaint":
        assert params["mask"] == "workflows/inputs/shapes_mask.png" and params["denoise"] == 1.0


def test_unconditional_through_the_cli(ddpm_checkpoint: Path, tmp_path: Path) -> None:
    run = graph_engine_run(
        WORKFLOWS / "unconditional.json", tmp_path, "--set", f"checkpoint={ddpm_checkpoint}", "--set", "sampler=pndm",
        "--set", "steps=5",
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    text = check_png(run.pngs[0], (2 * 16 + 3 * 2, 2 * 16 + 3 * 2))  # the batch of 4 as a 2x2 grid
    assert json.loads(text["params"])["sampler"] == "pndm"
