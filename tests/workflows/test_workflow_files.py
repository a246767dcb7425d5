"""The shipped workflow files: canonical, valid against the diffusion pack, described, and using the
same param names for the same knobs everywhere."""

from __future__ import annotations

import pytest
from cli_runs import WORKFLOWS

import workflows
from graph_engine import Executor, Registry, WorkflowLibrary, load_workflow
from nodes.pack import PACK

SHIPPED = ["txt2img", "img2img", "inpaint", "hires_fix", "unconditional", "seed_grid", "compare_samplers"]
# The knobs users expect, by the names they expect, and the node input each one sets.
COMMON_PARAMS = {
    "checkpoint": "checkpoint", "prompt": "text", "negative": "text", "seed": "seed", "steps": "steps", "cfg": "cfg",
    "sampler": "sampler", "scheduler": "scheduler", "width": "width", "height": "height", "batch": "batch",
    "denoise": "denoise", "image": "image", "mask": "image",
}  # fmt: skip
EXPECTED = {
    "txt2img": {"checkpoint", "prompt", "negative", "seed", "steps", "cfg", "sampler", "scheduler", "width", "height", "batch"},
    "img2img": {"checkpoint", "prompt", "negative", "seed", "steps", "cfg", "sampler", "scheduler", "denoise", "image"},
    "inpaint": {"checkpoint", "prompt", "negative", "seed", "steps", "cfg", "sampler", "scheduler", "denoise", "image", "mask"},
    "hires_fix": {"checkpoint", "prompt", "negative", "seed", "steps", "cfg", "sampler", "scheduler", "width", "height",
                  "batch", "denoise", "upscale"},
    "unconditional": {"checkpoint", "seed", "steps", "sampler", "scheduler", "batch"},
    "seed_grid": {"checkpoint", "prompt", "negative", "seed", "steps", "cfg", "sampler", "scheduler", "width", "height", "batch"},
    "compare_samplers": {"checkpoint", "prompt", "negative", "seed", "steps", "cfg", "sampler_a", "sampler_b", "scheduler"},
}  # fmt: skip


def test_exactly_the_shipped_workflows() -> None:
    assert sorted(path.stem for path in WORKFLOWS.glob("*.json")) == sorted(SHIPPED)


@pytest.mark.parametrize("name", SHIPPED)
def test_workflow_is_canonical_valid_and_described(name: str) -> None:
    path = WORKFLOWS / f"{name}.json"
    workflow = load_workflow(path)
    assert path.read_text() == workflow.to_json(), "not in canonical form: load and save it with the engine"
    assert workflow.name == name and len(workflow.description) > 40
    library = WorkflowLibrary.discover(packs=[workflows.PACK], group=None)
    Executor(Registry([PACK]), device="cpu", library=library).validate(workflow)
    assert set(workflow.params) == EXPECTED[name]
    for param in workflow.params:
        assert workflow.params[param].description, f"param {param} has no description"
        # No defaults in params: the values live in the nodes, so a PNG's embedded copy re-runs as it ran.
        assert workflow.param_default(param) is None
        if param in COMMON_PARAMS:
            for target in workflow.param_targets(param):
                node_id, _, input_name = target.partition(".")
                # A workflow node's inputs are its own params, which follow the same names.
                expected = param if workflow.nodes[node_id].type.startswith("workflow:") else COMMON_PARAMS[param]
                assert input_name == expected


def test_sample_inputs_are_small_pngs() -> None:
    for name in ("shapes.png", "shapes_mask.png"):
        path = WORKFLOWS / "inputs" / name
        assert path.stat().st_size < 4096 and path.read_bytes().startswith(b"\x89PNG")
