"""The saved-workflow library, and the whole workflow library (saved + installed packs)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException, Path, Response

from graph_engine.issues import WorkflowValidationError
from graph_engine.subworkflows import library_workflows
from server.control import ControlError
from server.schemas import (
    WORKFLOW_NAME_PATTERN,
    LibraryWorkflowInfo,
    Message,
    SavedWorkflowInfo,
    ValidationErrorResponse,
)
from server.state import ServerState, get_state

router = APIRouter(tags=["workflows"])
State = Annotated[ServerState, Depends(get_state)]
Name = Annotated[str, Path(pattern=WORKFLOW_NAME_PATTERN, description="Letters, digits, '_' and '-'.")]
LibraryName = Annotated[str, Path(description="A name from GET /library: a saved name or a pack's ('pack.name').")]


@router.get("/workflows")
def list_workflows(state: State) -> list[SavedWorkflowInfo]:
    return state.library.list()


@router.get("/library")
def list_library(state: State) -> list[LibraryWorkflowInfo]:
    """Every workflow usable by name and as a `workflow:NAME` node: saved ones, then the installed packs'."""
    listing = []
    for found in library_workflows(state.registry, state.workflows):
        entry, spec = found.entry, found.spec
        if spec is None:
            listing.append(LibraryWorkflowInfo(name=entry.name, source=entry.source, problem=found.problem))
            continue
        described = spec.to_json()
        listing.append(
            LibraryWorkflowInfo(
                name=entry.name, source=entry.source, description=spec.description, hash=spec.definition_hash,
                params=described["inputs"], outputs=described["outputs"],
            )
        )
    return listing


@router.get("/library/{name}", responses={404: {"model": Message}, 422: {"model": ValidationErrorResponse}})
def get_library_workflow(name: LibraryName, state: State) -> dict[str, Any]:
    """A library workflow's document (saved or from an installed pack), in canonical form, to open or copy."""
    try:
        return state.workflows.get(name).to_dict()
    except KeyError as error:
        raise HTTPException(404, error.args[0]) from None
    except WorkflowValidationError as error:
        raise HTTPException(422, f"library workflow {name!r} is not readable: {error}") from None


@router.get("/workflows/{name}", responses={404: {"model": Message}, 422: {"model": ValidationErrorResponse}})
def get_workflow(name: Name, state: State) -> dict[str, Any]:
    """The saved workflow document, in canonical form."""
    try:
        return state.library.get(name).to_dict()
    except FileNotFoundError:
        raise HTTPException(404, f"no saved workflow named {name!r}") from None
    except WorkflowValidationError as error:
        raise HTTPException(422, f"saved workflow {name!r} is not readable: {error}") from None


@router.put("/workflows/{name}", responses={422: {"model": ValidationErrorResponse}})
def put_workflow(
    name: Name, state: State, document: Annotated[dict[str, Any], Body(description="A workflow document.")],
) -> SavedWorkflowInfo:
    """Save or replace a workflow. The document format is checked; node types are not (it may be a draft)."""
    try:
        return state.library.put(name, document)
    except WorkflowValidationError as error:
        raise ControlError(422, "not a workflow document", error.to_json()) from None


@router.delete("/workflows/{name}", status_code=204, responses={404: {"model": Message}})
def delete_workflow(name: Name, state: State) -> Response:
    if not state.library.delete(name):
        raise HTTPException(404, f"no saved workflow named {name!r}")
    return Response(status_code=204)
