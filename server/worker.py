"""Device workers: one thread and one executor (with its result cache) per device, fed by the queue.

The executor, and so its cache of loaded models and encoded prompts, lives as
long as the server: a second run of a workflow with a new seed is served from it.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any

from graph_engine.cache import ResultCache, default_budget
from graph_engine.events import (
    TERMINAL_EVENT_TYPES,
    Event,
    NodeProgress,
    RunFailed,
    RunInterrupted,
)
from graph_engine.executor import Executor, RunResult
from graph_engine.issues import WorkflowValidationError
from graph_engine.library import WorkflowLibrary
from graph_engine.registry import Registry
from server.hub import EventHub, Frame
from server.outputs import RunFiles
from server.previews import encode_preview
from server.protocol import BINARY_PREVIEW_IMAGE, encode_binary
from server.schemas import Run, RunStatus
from server.settings import Settings
from server.store import Store

logger = logging.getLogger("server.worker")

RESTART_REASON = "the server stopped while this run was executing"
SHUTDOWN_REASON = "the server shut down while this run was executing"
CANCEL_REASON = "cancelled before it started"
# Queue messages are state, not history: one per burst of changes is enough.
QUEUE_ANNOUNCEMENT_DELAY_S = 0.05
_STATUS_OF_RESULT = {"success": RunStatus.SUCCEEDED, "failed": RunStatus.FAILED, "interrupted": RunStatus.INTERRUPTED}


def event_body(event: Event, **extra: Any) -> dict[str, Any]:
    """An engine event as stored and sent: its JSON form, `node_id` always present, plus server fields."""
    body = event.model_dump(mode="json", exclude={"preview"} if isinstance(event, NodeProgress) else None)
    body.setdefault("node_id", None)
    body.update(extra)
    return body


def server_final_event(run_id: str, seq: int, status: RunStatus, error: str) -> dict[str, Any]:
    """The final event of a run the engine could not finish itself (cancelled, crashed, server died)."""
    if status is RunStatus.FAILED:
        event: Event = RunFailed(run_id=run_id, seq=seq, time=time.time(), duration_s=0.0, failed_nodes=[], outputs=[])
    else:
        event = RunInterrupted(run_id=run_id, seq=seq, time=time.time(), duration_s=0.0)
    return event_body(event, error=error)


class Scheduler:
    """Hands queued runs to device workers; interrupts running ones; announces queue changes."""

    def __init__(
        self, store: Store, hub: EventHub, settings: Settings, registry: Registry, library: WorkflowLibrary
    ) -> None:
        self._store = store
        self._hub = hub
        self._settings = settings
        self.outputs_root = settings.data_dir / "outputs"
        budget = settings.cache_bytes if settings.cache_bytes is not None else default_budget()
        self.executors = {
            device: Executor(
                registry, cache=ResultCache(budget), device=device, output_dir=self.outputs_root,
                library=library, workflow_paths=False,
                # Uploaded images are usable by name (POST /uploads answers with it).
                input_dirs=(settings.data_dir / "inputs",),
            )
            for device in settings.devices
        }
        self._wake = threading.Condition()
        self._generation = 0  # bumped on every queue change, so a worker never sleeps through one
        self._stopping = False
        self._interrupts: dict[str, threading.Event] = {}
        self._early_interrupts: set[str] = set()
        self._announcement_pending = False
        self.busy: dict[str, str | None] = dict.fromkeys(settings.devices)
        self._threads: list[threading.Thread] = []

    # -- lifecycle -----------------------------------------------------------

    def recover(self) -> None:
        """Fail the runs a dead process left 'running' (with the reason) and give them a final event."""
        for run in self._store.fail_interrupted_runs(RESTART_REASON):
            RunFiles(self.outputs_root, run.id).discard_staging()  # files of a killed node may be partial
            seq = self._store.last_seq(run.id) + 1
            self._hub.publish_event(run.id, seq, run.client_id,
                                    server_final_event(run.id, seq, RunStatus.FAILED, RESTART_REASON))

    def start(self) -> None:
        for device in self._settings.devices:
            thread = threading.Thread(target=self._work, args=(device,), name=f"worker-{device}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 30.0) -> None:
        with self._wake:
            self._stopping = True
            for interrupt in self._interrupts.values():
                interrupt.set()
            self._wake.notify_all()
        for thread in self._threads:
            thread.join(timeout)

    # -- control -------------------------------------------------------------

    def notify(self) -> None:
        """Wake the workers and tell subscribers the queue changed."""
        with self._wake:
            self._generation += 1
            self._wake.notify_all()
        self.announce_queue()

    def interrupt(self, run_id: str) -> bool:
        """Ask a running run to stop; False if it is not running."""
        with self._wake:
            interrupt = self._interrupts.get(run_id)
            if interrupt is None:
                # Claimed by a worker that has not registered it yet: remember the request.
                run = self._store.get_run(run_id)
                if run is None or run.status is not RunStatus.RUNNING:
                    return False
                self._early_interrupts.add(run_id)
                return True
        interrupt.set()
        return True

    def queue_message(self) -> dict[str, Any]:
        """The websocket 'queue' message: paused flag, running run ids, number queued."""
        running, queued = self._store.queue_summary()
        return {"type": "queue", "paused": self._store.get_flag("paused"), "running": running, "queued": queued}

    def announce_queue(self) -> None:
        """Send the queue state to every subscriber soon; changes in quick succession share one message."""
        with self._wake:
            if self._announcement_pending:
                return
            self._announcement_pending = True
        self._hub.schedule(QUEUE_ANNOUNCEMENT_DELAY_S, self._announce_now)

    def _announce_now(self) -> None:
        with self._wake:
            self._announcement_pending = False
        self._hub.publish_transient(Frame(json.dumps(self.queue_message()), client_id=None, broadcast=True))

    # -- the worker thread ---------------------------------------------------

    def _work(self, device: str) -> None:
        while True:
            with self._wake:
                if self._stopping:
                    return
                generation = self._generation
            run = self._store.claim_next(device)
            if run is None:
                self._sleep_until_changed(generation)
                continue
            try:
                self._execute(device, run)
            except Exception:  # the worker must outlive any one run
                logger.exception("worker %s failed on run %s", device, run.id)

    def _sleep_until_changed(self, generation: int) -> None:
        with self._wake:
            self._wake.wait_for(lambda: self._stopping or self._generation != generation, timeout=30)

    def _execute(self, device: str, run: Run) -> None:
        interrupt = threading.Event()
        with self._wake:
            self._interrupts[run.id] = interrupt
            self.busy[device] = run.id
            if self._stopping or run.id in self._early_interrupts:
                interrupt.set()
            self._early_interrupts.discard(run.id)
        self.announce_queue()
        files = RunFiles(self.outputs_root, run.id)
        recorder = _EventRecorder(run, files, self._hub, self._settings.preview_max_size)
        try:
            result: RunResult | None = self.executors[device].run(
                run.workflow, run.params, on_event=recorder, interrupt=interrupt,
                run_id=run.id, output_dir=files.staging,
            )
            failure = None
        except WorkflowValidationError as error:
            result, failure = None, f"the workflow no longer validates: {error}"
        except Exception as error:
            logger.exception("run %s raised", run.id)
            result, failure = None, f"{type(error).__name__}: {error}"
        try:
            self._record(run, result, failure, files, recorder, stopping=self._stopping)
        finally:
            with self._wake:
                self._interrupts.pop(run.id, None)
                self.busy[device] = None
            self.announce_queue()

    def _record(
        self, run: Run, result: RunResult | None, failure: str | None, files: RunFiles,
        recorder: _EventRecorder, *, stopping: bool,
    ) -> None:
        """Store how the run ended, then publish its final event (so a client seeing it finds the outputs)."""
        outputs: dict[str, Any] = {}
        if result is not None:
            try:
                outputs = {name: files.export_value(name, value) for name, value in result.outputs.items()}
            except OSError as save_error:
                failure = f"could not save the outputs: {save_error}"
        public_files = files.publish([str(path) for path in result.files]) if result is not None else []
        public_files += files.finish()
        public_files += [path for value in outputs.values() for path in value.get("files", [])]
        if failure is not None or result is None or recorder.final is None:
            status, error = RunStatus.FAILED, failure or "the run ended without a final event"
            final = server_final_event(run.id, recorder.next_seq, status, error)
        else:
            status = _STATUS_OF_RESULT[result.status]
            error = None
            if status is RunStatus.FAILED:
                error = "; ".join(f"{item.node_id}: {item.error_type}: {item.message}"
                                  for item in result.failures.values()) or "a node modified a shared input"
            elif status is RunStatus.INTERRUPTED:
                error = SHUTDOWN_REASON if stopping else "interrupted"
            final = recorder.final
        final["files"] = public_files
        final["result"] = {"status": status.value, "error": error, "outputs": outputs}
        self._store.finish_run(run.id, status, error=error, outputs=outputs, files=public_files)
        self._hub.publish_event(run.id, final["seq"], run.client_id, final)


class _EventRecorder:
    """The executor's event listener for one run: publishes events, previews and public file paths.

    The terminal event is held back: the worker publishes it once outputs are stored.
    """

    def __init__(self, run: Run, files: RunFiles, hub: EventHub, preview_max_size: int) -> None:
        self._run = run
        self._files = files
        self._hub = hub
        self._preview_max_size = preview_max_size
        self.final: dict[str, Any] | None = None
        self.next_seq = 0

    def __call__(self, event: Event) -> None:
        self.next_seq = event.seq + 1
        body = event_body(event)
        if "files" in body:
            body["files"] = self._files.publish(body["files"])
        if event.type in TERMINAL_EVENT_TYPES:
            self.final = body
            return
        preview = None
        header = None
        if isinstance(event, NodeProgress) and event.preview is not None:
            preview = encode_preview(event.preview, self._preview_max_size)
            if preview is not None:
                body["preview"] = {"format": preview.format, "width": preview.width, "height": preview.height}
                header = {"run_id": self._run.id, "node_id": event.node_id, "seq": event.seq, **body["preview"]}
        self._hub.publish_event(self._run.id, event.seq, self._run.client_id, body)
        if preview is not None and header is not None:
            frame = encode_binary(BINARY_PREVIEW_IMAGE, header, preview.data)
            self._hub.publish_transient(Frame(frame, client_id=self._run.client_id))

