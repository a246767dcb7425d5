"""Fixtures for the engine tests: a registry with the toy pack, an executor, document helpers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine.toy_nodes import PACK
from graph_engine import Executor, Registry, ResultCache


@pytest.fixture
def registry() -> Registry:
    return Registry([PACK])


@pytest.fixture
def executor(registry: Registry, tmp_path: Path) -> Executor:
    return Executor(registry, cache=ResultCache(max_bytes=None), device="cpu", output_dir=tmp_path / "out")


def link(node: str, output: str) -> dict[str, str]:
    return {"from": node, "output": output}


def workflow(nodes: dict[str, Any], outputs: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    """A workflow document as a dict: `nodes` maps id -> (type, inputs)."""
    return {
        "schema_version": 1,
        "nodes": {node_id: {"type": kind, "inputs": inputs} for node_id, (kind, inputs) in nodes.items()},
        "outputs": outputs or {},
        **extra,
    }
