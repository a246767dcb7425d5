"""What one app instance holds: passed to every route through `app.state.server`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fastapi import Request, WebSocket

from graph_engine.library import WorkflowLibrary as EngineLibrary
from graph_engine.registry import Registry
from server.hub import EventHub
from server.library import WorkflowLibrary
from server.settings import Settings
from server.store import Store
from server.worker import Scheduler


@dataclass
class ServerState:
    settings: Settings
    store: Store
    registry: Registry
    library: WorkflowLibrary  # the saved workflows (read and written through the API)
    hub: EventHub
    scheduler: Scheduler
    workflows: EngineLibrary  # every workflow usable by name: saved ones, then the installed packs'

    @property
    def inputs_root(self) -> Path:
        return self.settings.data_dir / "inputs"

    @property
    def outputs_root(self) -> Path:
        return self.settings.data_dir / "outputs"


def get_state(request: Request) -> ServerState:
    return request.app.state.server  # type: ignore[no-any-return]


def get_ws_state(websocket: WebSocket) -> ServerState:
    return websocket.app.state.server  # type: ignore[no-any-return]
