"""The README's main command on the bundled tiny-shapes model: `graph-engine run workflows/txt2img.json`
with the shipped defaults writes a real 64x64 image with its workflow embedded. How well images follow
their prompts is measured on many prompts and seeds by tests/tiny_shapes (the adherence floor), not on
this single image. Skipped only while the bundled weights are not in the package."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from cli_runs import WORKFLOWS, check_png, graph_engine_run
from PIL import Image

from graph_engine import load_workflow
from nodes.tiny_shapes import bundled_checkpoint
from nodes.tiny_shapes.classify import read_image


def bundled_weights_present() -> bool:
    try:
        bundled_checkpoint("tiny-shapes")
    except FileNotFoundError:
        return False
    return True


@pytest.mark.skipif(not bundled_weights_present(), reason="the bundled tiny-shapes weights are not in the package yet")
def test_readme_command_draws_the_default_prompt(tmp_path: Path) -> None:
    run = graph_engine_run(WORKFLOWS / "txt2img.json", tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    text = check_png(run.pngs[0], (64, 64))
    assert json.loads(text["params"])["checkpoint"] == "tiny-shapes"
    prompt = load_workflow(WORKFLOWS / "txt2img.json").nodes["positive"].inputs["text"]
    assert prompt == "a red circle on a blue background"
    pixels = np.asarray(Image.open(run.pngs[0]).convert("RGB")).astype(np.float32)
    assert pixels.std(axis=(0, 1)).max() > 10, "the image is flat"
    assert read_image(pixels.astype(np.uint8)).background == ("blue",)
