"""POST /import: a workflow from a file a user opens or drops on the editor (our JSON, or a PNG we wrote).

The editor sends whatever file it was given; this says what it holds or why it cannot be opened.
"""

from __future__ import annotations

import io
import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, HTTPException, UploadFile
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from graph_engine.document import parse_workflow
from graph_engine.embedded import PNG_SIGNATURE, WORKFLOW_KEY, png_text
from graph_engine.issues import WorkflowValidationError
from server.schemas import Message, ValidationErrorResponse
from server.state import ServerState, get_state

router = APIRouter(tags=["workflows"])
State = Annotated[ServerState, Depends(get_state)]


class ImportResponse(BaseModel):
    workflow: dict[str, Any]
    format: Literal["graph-engine", "comfyui-api", "comfyui-editor"]
    warnings: list[str]


class UnreadableWorkflowFile(ValueError):
    """The file holds no workflow this server reads; the message says why."""


def _workflow_text(name: str, data: bytes) -> str:
    if data.startswith(PNG_SIGNATURE):
        try:
            text = png_text(io.BytesIO(data)).get(WORKFLOW_KEY)
        except (OSError, ValueError) as error:
            raise UnreadableWorkflowFile(f"{name}: not a readable PNG ({error})") from None
        if text is None:
            raise UnreadableWorkflowFile(
                f"{name} is a PNG without an embedded workflow (no '{WORKFLOW_KEY}' text chunk)")
        return text
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UnreadableWorkflowFile(
            f"{name}: expected a workflow JSON file or a PNG with an embedded workflow") from None


def read_workflow_file(name: str, data: bytes) -> dict[str, Any]:
    """Our workflow document from a JSON file or a PNG's embedded workflow (older schema versions migrated)."""
    text = _workflow_text(name, data)
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise UnreadableWorkflowFile(f"{name}: not valid JSON ({error})") from None
    if not isinstance(document, dict) or "nodes" not in document:
        raise UnreadableWorkflowFile(f"{name}: a JSON object with 'nodes' (a graph-engine workflow) was expected")
    try:
        return parse_workflow(document).to_dict()
    except WorkflowValidationError as error:
        raise UnreadableWorkflowFile(f"{name}: not a valid workflow document: {error}") from None


@router.post("/import", responses={413: {"model": Message}, 422: {"model": ValidationErrorResponse}})
async def import_workflow(
    state: State, file: Annotated[UploadFile, File(description="A workflow JSON or PNG.")],
) -> ImportResponse:
    """Read the workflow in an uploaded file: a graph-engine workflow JSON, or a PNG with one embedded."""
    data = await file.read(state.settings.max_upload_bytes + 1)
    if len(data) > state.settings.max_upload_bytes:
        raise HTTPException(413, f"file exceeds the limit of {state.settings.max_upload_bytes} bytes")
    name = file.filename or "the file"
    try:
        workflow = await run_in_threadpool(read_workflow_file, name, data)
    except UnreadableWorkflowFile as error:
        raise HTTPException(422, str(error)) from None
    return ImportResponse(workflow=workflow, format="graph-engine", warnings=[])
