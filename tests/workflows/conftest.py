"""Fixtures for the shipped-workflow tests: tiny random checkpoints (the same builder as the node
tests use) for runs that must not depend on the bundled weights."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest


def _tiny_checkpoint_module() -> ModuleType:
    # tests/ folders are not packages (tests/nodes would shadow the real `nodes`), so load by path.
    path = Path(__file__).parents[1] / "nodes" / "tiny_checkpoint.py"
    spec = importlib.util.spec_from_file_location("workflow_tests_tiny_checkpoint", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _tiny_checkpoint_module().write_text_to_image(tmp_path_factory.mktemp("tiny_sd"))


@pytest.fixture(scope="session")
def ddpm_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _tiny_checkpoint_module().write_unconditional(tmp_path_factory.mktemp("tiny_ddpm"))
