"""The app factory: `create_app(settings)` builds one self-contained server (no globals)."""

from __future__ import annotations

import asyncio
import importlib.metadata
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from graph_engine.library import WorkflowFolder
from graph_engine.library import WorkflowLibrary as EngineLibrary
from graph_engine.registry import Registry
from server.control import ControlError
from server.hub import EventHub
from server.library import WorkflowLibrary
from server.routes import editor, files, interop, library, runs, system, ws
from server.schemas import Message
from server.security import AccessGuard
from server.settings import Settings
from server.state import ServerState
from server.store import Store
from server.worker import Scheduler

DATABASE_NAME = "server.sqlite3"


def create_app(settings: Settings) -> FastAPI:
    """A FastAPI app serving `settings.data_dir`; workers start and stop with the app's lifespan.

    One process per data directory: the queue is claimed from SQLite by this
    process's workers only.
    """
    registry = settings.registry if settings.registry is not None else Registry.discover()
    installed = settings.workflow_library if settings.workflow_library is not None else EngineLibrary.discover()
    # Saved workflows first: usable by name and as workflow:NAME nodes, listed with the packs' ones.
    workflows = EngineLibrary([WorkflowFolder(settings.data_dir / "workflows", "saved"), *installed.folders])
    workflows.problems.extend(installed.problems)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        for folder in ("inputs", "outputs", "workflows"):
            (settings.data_dir / folder).mkdir(parents=True, exist_ok=True)
        store = Store(settings.data_dir / DATABASE_NAME)
        hub = EventHub(store, asyncio.get_running_loop())
        scheduler = Scheduler(store, hub, settings, registry, workflows)
        app.state.server = ServerState(
            settings=settings, store=store, registry=registry,
            library=WorkflowLibrary(settings.data_dir / "workflows", store), hub=hub, scheduler=scheduler,
            workflows=workflows,
        )
        scheduler.recover()
        scheduler.start()
        try:
            yield
        finally:
            await run_in_threadpool(scheduler.stop)
            store.close()

    app = FastAPI(
        title="graph-engine server",
        version=importlib.metadata.version("graph-engine"),
        description="Queue, history, files and live progress for graph-engine workflows. "
        "The websocket protocol at /ws is described in server/PROTOCOL.md.",
        lifespan=lifespan,
        # Uploads check their own (usually larger) limit with a clearer message.
        max_body_size=max(settings.max_request_bytes, settings.max_upload_bytes),
    )
    # Any route may answer these: a body that is not JSON (400) or too large (413), or the access guard.
    common: dict[int | str, dict[str, Any]] = {
        status: {"model": Message, "description": description} for status, description in (
            (400, "Malformed request"), (401, "Missing or wrong access token"),
            (403, "Origin or Host refused"), (413, "Request body too large"),
        )
    }
    for module in (runs, library, interop, files, system, ws):
        app.include_router(module.router, responses=common)
    editor.mount_editor(app, settings)

    @app.exception_handler(ControlError)
    async def control_error(request: Request, error: ControlError) -> JSONResponse:
        return JSONResponse(error.to_json(), status_code=error.status)

    app.add_middleware(AccessGuard, settings=settings)
    if settings.allowed_origins:
        # Outside the guard, so that browsers' preflight requests (which carry no token) get answered.
        app.add_middleware(
            CORSMiddleware, allow_origins=list(settings.allowed_origins),
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"], allow_headers=["Authorization", "Content-Type"],
        )
    return app
