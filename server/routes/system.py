"""Node catalogue, JSON Schemas, system information and freeing memory."""

from __future__ import annotations

import dataclasses
import gc
import importlib.metadata
import platform
import sys
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends

from graph_engine.document import workflow_json_schema
from graph_engine.events import event_json_schema
from graph_engine.subworkflows import catalogue
from server.protocol import PROTOCOL_VERSION
from server.schemas import DeviceInfo, FreeRequest, FreeResponse, SystemInfo
from server.state import ServerState, get_state

router = APIRouter()
State = Annotated[ServerState, Depends(get_state)]


@router.get("/nodes", tags=["catalogue"])
def node_catalogue(state: State) -> dict[str, Any]:
    """Every socket type (with the types it accepts) and node schema, plus packs that failed to load.

    Library workflows (saved ones and those of installed workflow packs) are node types too:
    type "workflow:NAME", category "workflows", with `workflow.hash` to pin them by."""
    return catalogue(state.registry, state.workflows)


@router.get("/schema/workflow", tags=["catalogue"])
def workflow_schema() -> dict[str, Any]:
    """The JSON Schema of workflow documents."""
    return workflow_json_schema()


@router.get("/schema/events", tags=["catalogue"])
def events_schema() -> dict[str, Any]:
    """The JSON Schema of the engine's run events (the `event` of websocket 'event' messages)."""
    return event_json_schema()


def _meminfo() -> dict[str, int]:
    """Fields of /proc/meminfo in bytes (empty where there is none)."""
    path = Path("/proc/meminfo")
    if not path.exists():
        return {}
    fields = {}
    for line in path.read_text().splitlines():
        name, _, value = line.partition(":")
        parts = value.split()
        if parts and parts[0].isdigit():
            fields[name] = int(parts[0]) * (1024 if parts[1:] == ["kB"] else 1)
    return fields


def process_rss() -> int | None:
    """Resident memory of this process in bytes (Linux), else None."""
    try:
        resident_pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return None
    import resource

    return resident_pages * resource.getpagesize()


def _device_info(state: ServerState, setting: str) -> DeviceInfo:
    executor = state.scheduler.executors[setting]
    name = executor.device  # resolves "auto"
    total = free = None
    torch = sys.modules.get("torch")
    if torch is not None and name.startswith("cuda") and torch.cuda.is_available():
        free, total = torch.cuda.mem_get_info(torch.device(name))
    return DeviceInfo(name=name, kind=name.split(":")[0], memory_total=total, memory_free=free,
                      busy_run_id=state.scheduler.busy.get(setting))


def _cache_stats(state: ServerState) -> dict[str, Any]:
    return {device: dataclasses.asdict(executor.cache.stats())
            for device, executor in state.scheduler.executors.items()}


def _resource_stats(state: ServerState) -> dict[str, Any]:
    """stats() of every executor-wide resource that offers it (node packs' model managers and the like)."""
    return {
        device: {kind.__qualname__: resource.stats()
                 for kind, resource in executor.resources.created().items() if callable(getattr(resource, "stats", None))}
        for device, executor in state.scheduler.executors.items()
    }


@router.get("/system", tags=["system"])
def system_info(state: State) -> SystemInfo:
    """Versions, devices, memory and cache statistics (per device)."""
    memory = _meminfo()
    torch = sys.modules.get("torch")
    return SystemInfo(
        version=importlib.metadata.version("graph-engine"),
        protocol=PROTOCOL_VERSION,
        python=platform.python_version(),
        torch=torch.__version__ if torch is not None else None,
        devices=[_device_info(state, device) for device in state.settings.devices],
        ram_total=memory.get("MemTotal"),
        ram_available=memory.get("MemAvailable"),
        process_rss=process_rss(),
        cache=_cache_stats(state),
        resources=_resource_stats(state),
    )


@router.post("/system/free", tags=["system"])
def free_memory(body: FreeRequest, state: State) -> FreeResponse:
    """Drop cached node results and unload models, and give the memory back.

    Models are unloaded through the executor-wide resources that offer `unload_all()`
    (a model manager); they reload from disk when a run needs them again. Runs in
    progress keep the values they hold until they end.
    """
    before = _cache_stats(state), process_rss()
    for executor in state.scheduler.executors.values():
        if body.clear_cache:
            executor.cache.clear()
        if body.unload_models:
            for resource in executor.resources.created().values():
                if callable(getattr(resource, "unload_all", None)):
                    resource.unload_all()
    gc.collect()
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()
    return FreeResponse(cache_before=before[0], cache_after=_cache_stats(state),
                        rss_before=before[1], rss_after=process_rss())
