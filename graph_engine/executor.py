"""The caching executor: load, validate and plan a workflow, then run it (see run.py).

An Executor holds what lives across runs: the result cache, the file hasher, the resources
node packs declare (a model manager...), the workflow library that `workflow:NAME` nodes
come from, the previous run's inputs for explanations, and its compilation memo
(compile_memo.py: a re-run re-checks only what changed).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from graph_engine.cache import ResultCache, default_budget
from graph_engine.compile_memo import CompileMemo
from graph_engine.context import resolve_device
from graph_engine.document import Workflow
from graph_engine.fingerprint import FileHasher
from graph_engine.library import WorkflowLibrary
from graph_engine.registry import Registry
from graph_engine.resources import Resources
from graph_engine.results import NodeFailure, RunResult
from graph_engine.run import EventCallback, RunExecution, Signatures
from graph_engine.validation import CompiledWorkflow
from graph_engine.workflow_functions import WorkflowFunctions

__all__ = ["EventCallback", "Executor", "NodeFailure", "RunResult"]


class Executor:
    """Runs workflows against a registry, keeping a result cache across runs.

    `device` is "auto", "cpu", "cuda", "cuda:N" or "mps"; "auto" is resolved (importing
    torch if installed) on the first run. One executor may serve several threads; each run
    has its own interrupt event.
    """

    def __init__(
        self,
        registry: Registry,
        *,
        cache: ResultCache | None = None,
        device: str = "auto",
        output_dir: Path | str = "output",
        files: FileHasher | None = None,
        resources: Resources | None = None,
        compile_memo: CompileMemo | None = None,
        library: WorkflowLibrary | None = None,
        workflow_paths: bool = True,
        input_dirs: Sequence[Path | str] = (),
    ) -> None:
        """`input_dirs`: where nodes look up relative input file names first (see FileHasher)."""
        self.registry = registry
        # Earlier compilations, reused for equal documents and unchanged nodes.
        self.compile_memo = compile_memo if compile_memo is not None else CompileMemo()
        self.library = library
        # Whether workflow nodes may reference files by path (a server turns this off).
        self.workflow_paths = workflow_paths
        # Services nodes share across runs (a model manager...), created on first use.
        self.resources = resources if resources is not None else Resources(registry.resource_factories)
        self.cache = cache if cache is not None else ResultCache(default_budget())
        self.files = files if files is not None else FileHasher(input_dirs)
        self.output_dir = Path(output_dir)
        self.device_setting = device
        # Constants and fingerprints of the last run, by node id: lets explain name the
        # inputs that changed since then.
        self._previous: Signatures = {}
        self._active: set[threading.Event] = set()
        self._lock = threading.Lock()

    @property
    def device(self) -> str:
        """The device nodes are told to use ("auto" resolved)."""
        return resolve_device(self.device_setting)

    def validate(
        self,
        workflow: Workflow | Mapping[str, Any] | Path | str,
        params: Mapping[str, Any] | None = None,
        *,
        params_as_text: bool = False,
    ) -> CompiledWorkflow:
        """Load, expand workflow nodes and validate; raises WorkflowValidationError listing every issue."""
        return self.compile_memo.compile(
            workflow,
            self.registry,
            params,
            params_as_text=params_as_text,
            library=self.library,
            allow_paths=self.workflow_paths,
        )

    def run(
        self,
        workflow: Workflow | Mapping[str, Any] | Path | str,
        params: Mapping[str, Any] | None = None,
        *,
        params_as_text: bool = False,
        outputs: Sequence[str] | None = None,
        on_event: EventCallback | Iterable[EventCallback] | None = None,
        interrupt: threading.Event | None = None,
        run_id: str | None = None,
        output_dir: Path | str | None = None,
    ) -> RunResult:
        """Run a workflow and return its outputs as Python objects.

        `params` maps param names or "node.input" paths to values (strings parsed by type
        with `params_as_text`). `outputs` restricts the run to some workflow outputs or
        output nodes. `on_event` receives every event. Setting `interrupt` (or calling
        `executor.interrupt()`) stops the run. Invalid workflows raise
        WorkflowValidationError before anything runs; node failures do not raise.
        """
        compiled, plan = self.compile_memo.prepare(
            workflow,
            self.registry,
            params,
            params_as_text=params_as_text,
            outputs=outputs,
            library=self.library,
            allow_paths=self.workflow_paths,
        )
        listeners = [on_event] if callable(on_event) else list(on_event or ())
        interrupt = interrupt if interrupt is not None else threading.Event()
        with self._lock:
            self._active.add(interrupt)
        try:
            run = RunExecution(
                compiled,
                plan,
                run_id=run_id or uuid.uuid4().hex,
                cache=self.cache,
                files=self.files,
                resources=self.resources,
                device=self.device_setting,
                output_dir=Path(output_dir) if output_dir is not None else self.output_dir,
                listeners=listeners,
                interrupt=interrupt,
                previous=self._previous,
            )
            result = run.execute()
            self._previous = run.signatures
            return result
        finally:
            with self._lock:
                self._active.discard(interrupt)

    @property
    def workflows(self) -> WorkflowFunctions:
        """The library's workflows as functions: `executor.workflows.txt2img(prompt=..., seed=7)`."""
        return WorkflowFunctions(self)

    def interrupt(self) -> None:
        """Interrupt every run in progress on this executor."""
        with self._lock:
            for event in self._active:
                event.set()
