"""Request and response bodies of the HTTP API (they generate its OpenAPI schema)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

# Ids and names the server hands out or stores as file names.
RUN_ID_PATTERN = r"^[0-9a-f]{32}$"
WORKFLOW_NAME_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_\-]{0,99}$"
# Library names may carry a workflow pack's prefix ("pack.name").
LIBRARY_NAME_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,199}$"
CLIENT_ID_PATTERN = r"^[A-Za-z0-9_\-]{1,100}$"


class RunStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"

    @property
    def is_final(self) -> bool:
        return self not in (RunStatus.QUEUED, RunStatus.RUNNING)


class Run(BaseModel):
    """A submitted run: its place in the queue, its status and, once done, its outputs."""

    id: str
    number: int = Field(description="Submission counter; ties in priority run in this order.")
    status: RunStatus
    priority: int
    client_id: str | None
    workflow_name: str | None = Field(description="Name of the saved workflow it came from, if any.")
    workflow: dict[str, Any]
    params: dict[str, Any]
    device: str | None
    submitted_at: float
    started_at: float | None
    finished_at: float | None
    error: str | None
    outputs: dict[str, Any] = Field(
        description="Workflow outputs by name: {'kind': 'value', 'value': ...}, {'kind': 'images', 'files': [...]} "
        "or {'kind': 'summary', 'summary': ...}; files are paths under /files/outputs/."
    )
    files: list[str] = Field(description="Every file the run wrote, as paths under /files/outputs/.")


class SubmitRequest(BaseModel):
    """A run to queue: either a full workflow document or the name of a saved one, plus param values."""

    model_config = ConfigDict(extra="forbid")

    workflow: dict[str, Any] | None = Field(default=None, description="A workflow document.")
    workflow_name: str | None = Field(default=None, pattern=LIBRARY_NAME_PATTERN,
                                      description="Name of a saved workflow (see /workflows) or of another "
                                      "library workflow (see /library).")
    params: dict[str, Any] = Field(default_factory=dict, description="Values for the workflow's params.")
    priority: int = Field(default=0, ge=-1_000_000, le=1_000_000, description="Higher runs first.")
    client_id: str | None = Field(default=None, pattern=CLIENT_ID_PATTERN,
                                  description="Tags the run so a websocket subscribed to this id sees it.")

    @model_validator(mode="after")
    def _exactly_one_source(self) -> SubmitRequest:
        if (self.workflow is None) == (self.workflow_name is None):
            raise ValueError("give exactly one of 'workflow' (a document) or 'workflow_name' (a saved workflow)")
        return self


class SubmitResponse(BaseModel):
    run_id: str
    number: int
    position: int = Field(description="0-based place in the queue at submission (0 = runs next).")


class ValidationErrorResponse(BaseModel):
    """422 body. A workflow that does not validate: `errors` holds the engine's issues, unchanged
    (code, message, node_id, input, location, expected, got, suggestion). A malformed request:
    `detail` holds FastAPI's list of problems and `errors` is absent."""

    detail: str | list[dict[str, Any]]
    errors: list[dict[str, Any]] = Field(default_factory=list)


class ImportResponse(BaseModel):
    """An imported document as our workflow (not yet validated: unknown node types are placeholders
    that validation will name), the format it was in, and what the import had to approximate or leave out."""

    workflow: dict[str, Any]
    format: str = Field(description="'graph-engine', 'comfyui-api' or 'comfyui-editor' (or another pack's format).")
    warnings: list[str]


class ExportRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    workflow: dict[str, Any] = Field(description="A workflow document.")
    format: str = Field(default="comfyui-api", description="The format to write (see GET /export/formats).")


class ExportResponse(BaseModel):
    document: dict[str, Any]
    format: str
    warnings: list[str]


class QueueState(BaseModel):
    paused: bool
    running: list[Run]
    queued: list[Run]


class QueueUpdate(BaseModel):
    """Reorder a queued run: set its priority, or move it to an index of the queue (0 = next)."""

    model_config = ConfigDict(extra="forbid")

    priority: int | None = Field(default=None, ge=-1_000_000, le=1_000_000)
    index: int | None = Field(default=None, ge=0, le=1_000_000)

    @model_validator(mode="after")
    def _exactly_one_change(self) -> QueueUpdate:
        if (self.priority is None) == (self.index is None):
            raise ValueError("give exactly one of 'priority' or 'index'")
        return self


class HistoryPage(BaseModel):
    total: int
    offset: int
    limit: int
    runs: list[Run]


class StoredEvent(BaseModel):
    """One persisted event of a run; `id` is the server-wide cursor used to resume."""

    id: int
    run_id: str
    seq: int
    event: dict[str, Any]


class RunDetail(BaseModel):
    run: Run
    events: list[StoredEvent]


class SavedWorkflowInfo(BaseModel):
    name: str
    description: str
    updated_at: float
    sha256: str


class LibraryWorkflowInfo(BaseModel):
    """A workflow usable by name (`workflow_name` of a run) and as a node of type `workflow:NAME`."""

    name: str
    source: str = Field(description="'saved' (this server's saved workflows), 'user' or a workflow pack's name.")
    description: str = ""
    hash: str | None = Field(default=None, description="Content hash to pin workflow nodes to; null when unusable.")
    params: list[dict[str, Any]] = Field(default_factory=list, description="Its params as node input schemas.")
    outputs: list[dict[str, Any]] = Field(default_factory=list, description="Its outputs as node output schemas.")
    problem: str | None = Field(default=None, description="Why it cannot be used as a node, if it cannot.")


class UploadResponse(BaseModel):
    path: str = Field(description="Path under /files/inputs; pass it to image-loading nodes.")
    width: int
    height: int
    format: str
    bytes: int


class DeviceInfo(BaseModel):
    name: str
    kind: str
    memory_total: int | None
    memory_free: int | None
    busy_run_id: str | None


class SystemInfo(BaseModel):
    version: str
    protocol: int = Field(description="Websocket protocol version (see server/PROTOCOL.md).")
    python: str
    torch: str | None = Field(description="torch version, once a node has imported it.")
    devices: list[DeviceInfo]
    ram_total: int | None
    ram_available: int | None
    process_rss: int | None
    cache: dict[str, Any] = Field(description="Result-cache statistics per device setting.")
    resources: dict[str, Any] = Field(
        description="Per device setting, the stats() of each executor-wide resource (e.g. a model manager)."
    )


class FreeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    clear_cache: bool = Field(default=True, description="Drop every cached node result.")
    unload_models: bool = Field(
        default=True, description="Call unload_all() on every executor-wide resource that has it (model managers)."
    )


class FreeResponse(BaseModel):
    cache_before: dict[str, Any]
    cache_after: dict[str, Any]
    rss_before: int | None
    rss_after: int | None


class Message(BaseModel):
    detail: str


class FileKind(StrEnum):
    INPUTS = "inputs"
    OUTPUTS = "outputs"


PreviewFormat = Literal["png", "jpeg"]
