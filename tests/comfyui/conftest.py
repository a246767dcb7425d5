"""Fixtures for the ComfyUI import/export tests: the registry, one executor shared by a module's runs."""

from __future__ import annotations

import pytest

from graph_engine import Executor, Registry
from nodes.pack import PACK


@pytest.fixture(scope="session")
def registry() -> Registry:
    return Registry([PACK])


@pytest.fixture(scope="module")
def executor(registry: Registry, tmp_path_factory: pytest.TempPathFactory) -> Executor:
    return Executor(registry, device="cpu", output_dir=tmp_path_factory.mktemp("output"))
