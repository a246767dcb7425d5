"""Fixtures for the server tests: in-process apps over the toy node pack, and helpers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from server_toy_pack import PACK

from graph_engine import Registry, WorkflowLibrary
from server.app import create_app
from server.settings import Settings

BASE_URL = "http://127.0.0.1:8188"


@pytest.fixture(scope="session")
def toy_registry() -> Registry:
    registry = Registry([PACK])
    assert not registry.problems, registry.problems
    return registry


AppFactory = Callable[..., Any]


@pytest.fixture()
def make_client(tmp_path: Path, toy_registry: Registry) -> Iterator[AppFactory]:
    """`with make_client(**settings) as client:` an in-process server on a fresh data dir."""

    @contextmanager
    def factory(data_dir: Path | None = None, **overrides: Any) -> Iterator[TestClient]:
        # An empty engine library: installed workflow packs need nodes the toy registry lacks.
        fields = {
            "data_dir": data_dir or tmp_path / "data", "registry": toy_registry, "devices": ("cpu",),
            "workflow_library": WorkflowLibrary(),
        }
        settings = Settings(**(fields | overrides))
        with TestClient(create_app(settings), base_url=BASE_URL) as client:
            yield client

    yield factory


@pytest.fixture()
def client(make_client: AppFactory) -> Iterator[TestClient]:
    with make_client() as client:
        yield client
