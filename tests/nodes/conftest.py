"""Fixtures for the diffusion pack's node tests: tiny random checkpoints and an executor over the pack."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from pack_graphs import workflow
from tiny_checkpoint import write_text_to_image, write_unconditional

from graph_engine import Executor, Registry, RunResult
from nodes.pack import PACK

RunWorkflow = Callable[..., RunResult]


@pytest.fixture(scope="session")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random SD 1.x-style diffusers folder (32x32 images, 8x8x4 latents)."""
    return write_text_to_image(tmp_path_factory.mktemp("tiny_sd"))


@pytest.fixture(scope="session")
def ddpm_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random DDPM pipeline folder (16x16 RGB)."""
    return write_unconditional(tmp_path_factory.mktemp("tiny_ddpm"))


@pytest.fixture(scope="session")
def registry() -> Registry:
    registry = Registry([PACK])
    assert registry.problems == []
    return registry


@pytest.fixture(scope="module")
def executor(registry: Registry, tmp_path_factory: pytest.TempPathFactory) -> Executor:
    """One executor per test module, so its model manager and cache are shared by the module's tests."""
    return Executor(registry, device="cpu", output_dir=tmp_path_factory.mktemp("output"))


@pytest.fixture()
def run(executor: Executor) -> RunWorkflow:
    """run(nodes, outputs, **run_options) -> RunResult, failing the test with the node errors if any."""

    def run_workflow(
        nodes: Mapping[str, Any], outputs: Mapping[str, str], *, expect_ok: bool = True, **options: Any
    ) -> RunResult:
        result = executor.run(workflow(nodes, outputs, options.pop("params", None)), **options)
        if expect_ok and result.status != "success":
            details = "; ".join(f"{f.node_id}: {f.error_type}: {f.message}" for f in result.failures.values())
            raise AssertionError(f"run {result.status}: {details}")
        return result

    return run_workflow
