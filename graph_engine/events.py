"""The event stream of a run: typed, versioned, JSON-serialisable.

Every event has `type` (the discriminator), `schema_version`, `run_id`, `seq` (0, 1, 2...
within a run, so a client can resume after the last one it saw) and `time` (Unix seconds).
Node events carry `node_id` and `node_type`; a node that belongs to a workflow used as a node
(expanded into "outer/inner" ids) also carries `parent` (the id of that workflow node,
itself "a/b" when nested) and `parent_type` (its type, "workflow:NAME"). The CLI, Python callbacks and the server all
consume this one stream. A run emits, in order:

    run_started
    then per planned node, producers before consumers, exactly one of
        node_cached | node_skipped | node_started [node_progress...] (node_finished | node_failed)
    (nodes after an interrupt emit nothing)
    then one of run_finished | run_failed | run_interrupted

Progress previews travel in-process as the object the node gave (a PIL image or encoded
image bytes); in JSON they become {"format": "png", "data": base64} (or null).
"""

from __future__ import annotations

import base64
import io
import sys
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_serializer

# 2: node events gained `parent` and `parent_type` (workflows used as nodes).
EVENT_SCHEMA_VERSION = 2


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True)

    schema_version: int = EVENT_SCHEMA_VERSION
    run_id: str
    seq: int
    time: float


class NodeEvent(_Event):
    node_id: str
    node_type: str
    parent: str | None = Field(
        default=None, description="The workflow node this node is part of (its id in this run), if any."
    )
    parent_type: str | None = Field(default=None, description="That workflow node's type, e.g. 'workflow:txt2img'.")


class RunStarted(_Event):
    type: Literal["run_started"] = "run_started"
    workflow: str
    nodes: list[str] = Field(description="Planned nodes in execution order.")
    outputs: list[str] = Field(description="Workflow outputs this run will return.")


class NodeStarted(NodeEvent):
    type: Literal["node_started"] = "node_started"
    reason: str = Field(description="Why it runs rather than coming from the cache (see explain).")


def _encode_preview(preview: Any) -> dict[str, str] | None:
    if isinstance(preview, (bytes, bytearray)):
        data = bytes(preview)
        image_format = "png" if data.startswith(b"\x89PNG") else "jpeg" if data.startswith(b"\xff\xd8") else None
        if image_format is None:
            return None
        return {"format": image_format, "data": base64.b64encode(data).decode("ascii")}
    pil_image = sys.modules.get("PIL.Image")
    if pil_image is not None and isinstance(preview, pil_image.Image):
        buffer = io.BytesIO()
        preview.save(buffer, format="PNG")
        return {"format": "png", "data": base64.b64encode(buffer.getvalue()).decode("ascii")}
    return None


class NodeProgress(NodeEvent):
    type: Literal["node_progress"] = "node_progress"
    value: float
    total: float
    preview: Any = Field(default=None, description="Preview image; JSON: {format, data (base64)} or null.")

    @field_serializer("preview", when_used="json")
    def _preview_json(self, preview: Any) -> dict[str, str] | None:
        return _encode_preview(preview)


class NodeCached(NodeEvent):
    type: Literal["node_cached"] = "node_cached"


class NodeSkipped(NodeEvent):
    type: Literal["node_skipped"] = "node_skipped"
    reason: Literal["upstream_failed", "not_needed"]
    cause: str | None = Field(default=None, description="The failed node that blocked this one.")


class NodeFinished(NodeEvent):
    type: Literal["node_finished"] = "node_finished"
    duration_s: float
    outputs: dict[str, str] = Field(description="A one-line summary of each output value.")
    files: list[str] = Field(default_factory=list, description="Files the node wrote.")


class NodeFailed(NodeEvent):
    type: Literal["node_failed"] = "node_failed"
    error_type: str
    message: str
    traceback: str = ""


class RunFinished(_Event):
    type: Literal["run_finished"] = "run_finished"
    duration_s: float
    outputs: list[str]
    files: list[str] = Field(default_factory=list)
    ran: int
    cached: int


class RunFailed(_Event):
    type: Literal["run_failed"] = "run_failed"
    duration_s: float
    failed_nodes: list[str]
    outputs: list[str] = Field(description="Outputs produced despite the failure (partial success).")
    files: list[str] = Field(default_factory=list)


class RunInterrupted(_Event):
    type: Literal["run_interrupted"] = "run_interrupted"
    duration_s: float
    node_id: str | None = Field(default=None, description="The node that was running, if any.")
    outputs: list[str] = Field(default_factory=list)
    files: list[str] = Field(default_factory=list)


Event = Annotated[
    RunStarted
    | NodeStarted
    | NodeProgress
    | NodeCached
    | NodeSkipped
    | NodeFinished
    | NodeFailed
    | RunFinished
    | RunFailed
    | RunInterrupted,
    Field(discriminator="type"),
]

EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)

TERMINAL_EVENT_TYPES = frozenset({"run_finished", "run_failed", "run_interrupted"})


def parse_event(text: str | bytes) -> Event:
    """An event from its JSON form (a line of an --events file, a websocket message)."""
    return EVENT_ADAPTER.validate_json(text)


def event_json_schema() -> dict[str, Any]:
    return EVENT_ADAPTER.json_schema()
