"""Submitting, cancelling and interrupting runs: shared by the HTTP routes and the websocket."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from graph_engine.document import load_workflow
from graph_engine.issues import WorkflowValidationError
from graph_engine.subworkflows import compile_workflow
from server.schemas import RunStatus, SubmitRequest, SubmitResponse
from server.state import ServerState
from server.worker import CANCEL_REASON, server_final_event


class ControlError(Exception):
    """A request that cannot be carried out; `status` is the HTTP status that says why."""

    def __init__(self, status: int, detail: str, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.errors = errors

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"detail": self.detail}
        if self.errors is not None:
            body["errors"] = self.errors
        return body


def submit(state: ServerState, request: SubmitRequest, default_client_id: str | None = None) -> SubmitResponse:
    """Validate and queue a run; ControlError 404 (unknown saved workflow) or 422 (invalid)."""
    try:
        if request.workflow_name is not None:
            try:
                workflow = state.library.get(request.workflow_name)
            except FileNotFoundError:
                # Not saved here: a workflow from an installed pack (or a user folder) of that name.
                entry = state.workflows.find(request.workflow_name)
                if entry is None:
                    raise ControlError(404, f"no saved or library workflow named {request.workflow_name!r}") from None
                workflow = state.workflows.load(entry.path)
        else:
            workflow = load_workflow(request.workflow or {})
        compile_workflow(workflow, state.registry, request.params, library=state.workflows, allow_paths=False)
    except WorkflowValidationError as error:
        raise ControlError(422, "the workflow is invalid", error.to_json()) from None
    run, position = state.store.add_run(
        workflow.to_dict(), request.params, priority=request.priority,
        client_id=request.client_id or default_client_id, workflow_name=request.workflow_name,
    )
    state.scheduler.notify()
    return SubmitResponse(run_id=run.id, number=run.number, position=position)


class CancelOutcome(StrEnum):
    CANCELLED = "cancelled"  # it was queued and will not run
    INTERRUPTING = "interrupting"  # it is running and has been asked to stop


def cancel(state: ServerState, run_id: str) -> CancelOutcome:
    """Cancel a queued run or interrupt a running one; ControlError 404 or 409 (already over)."""
    if state.store.finish_run(run_id, RunStatus.CANCELLED, error=CANCEL_REASON, only_if=RunStatus.QUEUED):
        run = state.store.get_run(run_id)
        seq = state.store.last_seq(run_id) + 1
        state.hub.publish_event(run_id, seq, run.client_id if run else None,
                                server_final_event(run_id, seq, RunStatus.CANCELLED, CANCEL_REASON))
        state.scheduler.notify()
        return CancelOutcome.CANCELLED
    interrupt(state, run_id)
    return CancelOutcome.INTERRUPTING


def interrupt(state: ServerState, run_id: str) -> None:
    """Ask a running run to stop at its next node or progress step."""
    if state.scheduler.interrupt(run_id):
        return
    run = state.store.get_run(run_id)
    if run is None:
        raise ControlError(404, f"no run {run_id!r}")
    if run.status is RunStatus.QUEUED:
        raise ControlError(409, f"run {run_id} is queued, not running; cancel it instead")
    raise ControlError(409, f"run {run_id} is not running (it is {run.status.value})")
