"""Import workflows from other tools (ComfyUI's formats, ComfyUI PNGs, our own) and export to them."""

from __future__ import annotations

from pathlib import PurePath
from typing import Annotated

from fastapi import APIRouter, Depends, File, HTTPException, UploadFile
from starlette.concurrency import run_in_threadpool

from graph_engine.document import parse_workflow
from graph_engine.importing import (
    ExportError,
    UnreadableDocument,
    export_workflow,
    import_workflow,
)
from graph_engine.issues import WorkflowValidationError
from server.control import ControlError
from server.schemas import (
    ExportRequest,
    ExportResponse,
    ImportResponse,
    Message,
    ValidationErrorResponse,
)
from server.state import ServerState, get_state

router = APIRouter(tags=["workflows"])
State = Annotated[ServerState, Depends(get_state)]


@router.post("/import", responses={413: {"model": Message}, 422: {"model": ValidationErrorResponse}})
async def import_document(
    state: State, file: Annotated[UploadFile, File(description="A workflow JSON file or a PNG carrying one.")]
) -> ImportResponse:
    """Read a workflow in any known format: ours, ComfyUI's API or editor format, or a PNG with one
    embedded (ours or ComfyUI's). 422 names what was expected when the file is none of them."""
    limit = state.settings.max_upload_bytes
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise HTTPException(413, f"upload exceeds the limit of {limit} bytes")
    name = PurePath(file.filename or "").stem  # a name for files that carry none (ComfyUI's)
    try:
        imported = await run_in_threadpool(import_workflow, data, state.registry, name=name)
    except UnreadableDocument as error:
        raise ControlError(422, f"{file.filename or 'the upload'}: {error}") from None
    except WorkflowValidationError as error:
        raise ControlError(422, "not a workflow document", error.to_json()) from None
    return ImportResponse(workflow=imported.workflow.to_dict(), format=imported.format, warnings=list(imported.warnings))


@router.get("/export/formats")
def export_formats(state: State) -> list[str]:
    """The formats POST /export can write."""
    return [exporter.format for exporter in state.registry.exporters]


@router.post("/export", responses={422: {"model": ValidationErrorResponse}})
def export_document(request: ExportRequest, state: State) -> ExportResponse:
    """Our workflow in another tool's format (ComfyUI's API format: the nodes that map). 422 names
    every node that does not map."""
    try:
        workflow = parse_workflow(request.workflow)
        exported = export_workflow(workflow, request.format, state.registry)
    except WorkflowValidationError as error:
        raise ControlError(422, "not a workflow document", error.to_json()) from None
    except ExportError as error:
        issues = [{"node_id": issue.node_id, "node_type": issue.node_type, "message": issue.message}
                  for issue in error.issues]
        raise ControlError(422, str(error), issues) from None
    except ValueError as error:
        raise ControlError(422, str(error)) from None
    return ExportResponse(document=exported.document, format=exported.format, warnings=list(exported.warnings))
