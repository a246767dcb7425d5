"""Runs, the queue and the history."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Response

from server.control import cancel, interrupt, submit
from server.schemas import (
    CLIENT_ID_PATTERN,
    RUN_ID_PATTERN,
    HistoryPage,
    Message,
    QueueState,
    QueueUpdate,
    Run,
    RunDetail,
    RunStatus,
    SubmitRequest,
    SubmitResponse,
    ValidationErrorResponse,
)
from server.state import ServerState, get_state

router = APIRouter()
State = Annotated[ServerState, Depends(get_state)]
RunId = Annotated[str, Path(pattern=RUN_ID_PATTERN, description="A run id (32 hex digits).")]


def _run_or_404(state: ServerState, run_id: str) -> Run:
    run = state.store.get_run(run_id)
    if run is None:
        raise HTTPException(404, f"no run {run_id!r}")
    return run


@router.post(
    "/runs", status_code=201, tags=["runs"],
    responses={404: {"model": Message}, 422: {"model": ValidationErrorResponse}},
)
def submit_run(body: SubmitRequest, state: State) -> SubmitResponse:
    """Queue a workflow (a document, or a saved workflow by name) with param values.

    422 lists every validation issue the engine found, per node, under `errors`.
    """
    return submit(state, body)


@router.get("/runs/{run_id}", tags=["runs"], responses={404: {"model": Message}})
def get_run(run_id: RunId, state: State) -> RunDetail:
    """One run with its status, outputs and every event it emitted."""
    run = _run_or_404(state, run_id)
    return RunDetail(run=run, events=state.store.events_of_run(run_id))


@router.delete("/runs/{run_id}", status_code=204, tags=["history"],
               responses={404: {"model": Message}, 409: {"model": Message}})
def delete_run(run_id: RunId, state: State) -> Response:
    """Forget a finished run and its events (its output files stay)."""
    run = _run_or_404(state, run_id)
    if not state.store.delete_run(run_id):
        raise HTTPException(409, f"run {run_id} is {run.status.value}; cancel it before deleting it")
    return Response(status_code=204)


@router.post("/runs/{run_id}/interrupt", status_code=202, tags=["queue"],
             responses={404: {"model": Message}, 409: {"model": Message}})
def interrupt_run(run_id: RunId, state: State) -> Message:
    """Stop a running run at its next node or progress step; its final event says 'run_interrupted'."""
    interrupt(state, run_id)
    return Message(detail="interrupting")


def _queue_state(state: ServerState) -> QueueState:
    return QueueState(
        paused=state.store.get_flag("paused"),
        running=state.store.runs_with_status(RunStatus.RUNNING),
        queued=state.store.runs_with_status(RunStatus.QUEUED),
    )


@router.get("/queue", tags=["queue"])
def get_queue(state: State) -> QueueState:
    """The running runs and the queued ones in the order they will run."""
    return _queue_state(state)


@router.patch("/queue/{run_id}", tags=["queue"], responses={404: {"model": Message}, 409: {"model": Message}})
def update_queued_run(run_id: RunId, body: QueueUpdate, state: State) -> Run:
    """Reorder a queued run: give it a priority, or move it to an index of the queue (0 = next)."""
    run = _run_or_404(state, run_id)
    changed = (state.store.set_priority(run_id, body.priority) if body.priority is not None
               else state.store.move(run_id, body.index or 0))
    if not changed:
        raise HTTPException(409, f"run {run_id} is {run.status.value}, not queued")
    state.scheduler.notify()
    return _run_or_404(state, run_id)


@router.delete("/queue/{run_id}", tags=["queue"], responses={404: {"model": Message}, 409: {"model": Message}})
def cancel_run(run_id: RunId, state: State) -> Message:
    """Cancel a queued run, or interrupt it if it is already running."""
    _run_or_404(state, run_id)
    return Message(detail=cancel(state, run_id).value)


@router.post("/queue/pause", tags=["queue"])
def pause_queue(state: State) -> QueueState:
    """Stop starting queued runs (the running ones finish). Survives a restart."""
    state.store.set_flag("paused", True)
    state.scheduler.notify()
    return _queue_state(state)


@router.post("/queue/resume", tags=["queue"])
def resume_queue(state: State) -> QueueState:
    state.store.set_flag("paused", False)
    state.scheduler.notify()
    return _queue_state(state)


@router.get("/history", tags=["history"])
def list_history(
    state: State,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    client_id: Annotated[str | None, Query(pattern=CLIENT_ID_PATTERN)] = None,
) -> HistoryPage:
    """Finished runs, newest first."""
    total, runs = state.store.history(offset, limit, client_id)
    return HistoryPage(total=total, offset=offset, limit=limit, runs=runs)
