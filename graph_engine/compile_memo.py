"""Compilation memo: an executor re-parses, re-validates and re-plans only what changed.

One per executor (no globals), three bounded tables:
- documents: a digest of the submitted document and param values -> its CompiledWorkflow
  and plans. An equal document re-submitted (same JSON text, an equal parsed value, an
  equal Workflow) skips parsing, validation and planning. The digest is of the content,
  taken on every run, so a document edited in place is compiled again.
- entries: a node's JSON (id, type, inputs) -> its parsed NodeEntry, so a changed document
  given as JSON text or a parsed value is parsed only where it changed;
- nodes and structures (validation.ValidationMemo): each unchanged node reuses its
  CompiledNode (and its encoded cache key base), an unchanged graph its topological order.

Only successful compilations are stored, so a changed document always reports every issue.
The registry only grows (a node spec is never replaced), so stored compilations stay valid
as packs are added. Compiled workflows are shared by runs of equal documents: treat
`result.workflow` and `ctx.workflow` as read-only.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import pickle
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from graph_engine.document import NodeEntry, Workflow, load_workflow, parse_workflow
from graph_engine.issues import WorkflowValidationError
from graph_engine.memo import BoundedMemo
from graph_engine.migrations import SCHEMA_VERSION
from graph_engine.planning import Plan, plan_run
from graph_engine.registry import Registry
from graph_engine.validation import CompiledWorkflow, ValidationMemo, validate_workflow

WorkflowSource = Workflow | Mapping[str, Any] | Path | str

# Distinct output selections planned per compiled document (plans are cheap to redo).
PLANS_PER_DOCUMENT = 8


@dataclasses.dataclass
class _Compiled:
    compiled: CompiledWorkflow
    source_is_workflow: bool  # compiled.workflow is the submitted Workflow object itself
    plans: dict[tuple[str, ...] | None, Plan] = dataclasses.field(default_factory=dict)
    lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)


def _content(source: WorkflowSource) -> bytes | None:
    """Bytes that equal documents share and different ones do not, or None for a file
    (read again on every run) or a value that cannot be encoded."""
    if isinstance(source, Workflow):
        return b"w" + source.model_dump_json().encode()
    if isinstance(source, Mapping):
        try:  # pickle is type-exact (1, 1.0 and True differ) and fast on parsed JSON
            return b"m" + pickle.dumps(source, protocol=5)
        except Exception:
            return None
    if isinstance(source, str) and source.lstrip().startswith("{"):
        return b"t" + source.encode("utf-8", "surrogatepass")
    return None


def _digest(source: WorkflowSource, params: Mapping[str, Any] | None, params_as_text: bool) -> bytes | None:
    content = _content(source)
    if content is None:
        return None
    try:
        settings = pickle.dumps((params_as_text, dict(params or {})), protocol=5)
    except Exception:
        return None
    digest = hashlib.blake2b(content, digest_size=32)
    digest.update(settings)
    return digest.digest()


class CompileMemo:
    """Compiles and plans workflows for one executor, remembering earlier results."""

    def __init__(self, *, documents: int = 16, nodes: int = 20_000, structures: int = 16) -> None:
        self._documents: BoundedMemo[bytes, _Compiled] = BoundedMemo(documents)
        self._entries: BoundedMemo[bytes, NodeEntry] = BoundedMemo(nodes)
        self.validation = ValidationMemo.bounded(nodes, structures)
        self._registry: Registry | None = None
        self._lock = threading.Lock()

    def compile(
        self, source: WorkflowSource, registry: Registry, params: Mapping[str, Any] | None, *, params_as_text: bool
    ) -> CompiledWorkflow:
        """Load and validate; raises WorkflowValidationError listing every issue."""
        return self._compiled(source, registry, params, params_as_text).compiled

    def prepare(
        self,
        source: WorkflowSource,
        registry: Registry,
        params: Mapping[str, Any] | None,
        *,
        params_as_text: bool,
        outputs: Sequence[str] | None,
    ) -> tuple[CompiledWorkflow, Plan]:
        """Load, validate and plan a run producing `outputs` (all by default)."""
        entry = self._compiled(source, registry, params, params_as_text)
        selection = tuple(outputs) if outputs is not None else None
        with entry.lock:
            plan = entry.plans.get(selection)
        if plan is None:
            plan = plan_run(entry.compiled, outputs)
            with entry.lock:
                if len(entry.plans) >= PLANS_PER_DOCUMENT:
                    entry.plans.clear()
                entry.plans[selection] = plan
        return entry.compiled, plan

    def clear(self) -> None:
        self._documents.clear()
        self._entries.clear()
        self.validation.nodes.clear()
        self.validation.structures.clear()

    def _compiled(
        self, source: WorkflowSource, registry: Registry, params: Mapping[str, Any] | None, params_as_text: bool
    ) -> _Compiled:
        with self._lock:
            if registry is not self._registry:  # another registry: nothing remembered applies
                self.clear()
                self._registry = registry
        digest = _digest(source, params, params_as_text)
        entry = self._documents.get(digest) if digest is not None else None
        if entry is not None:
            if entry.source_is_workflow and isinstance(source, Workflow):
                # Equal content in another object: hand the caller's own document back, as without the memo.
                return dataclasses.replace(entry, compiled=dataclasses.replace(entry.compiled, workflow=source))
            return entry
        workflow, contents = self._load(source)
        compiled = validate_workflow(
            workflow, registry, params, params_as_text=params_as_text, memo=self.validation, contents=contents
        )
        entry = _Compiled(compiled, source_is_workflow=compiled.workflow is source)
        if digest is not None:
            self._documents.put(digest, entry)
        return entry

    def _load(self, source: WorkflowSource) -> tuple[Workflow, dict[str, bytes] | None]:
        """The parsed document and, when it came as JSON, each node's JSON content by id."""
        data: Any = source
        if isinstance(source, str) and source.lstrip().startswith("{"):
            try:
                data = json.loads(source)
            except json.JSONDecodeError:
                return load_workflow(source), None  # reports where the text is broken
        if (
            not isinstance(data, Mapping)
            or not isinstance(nodes := data.get("nodes"), dict)
            or type(data.get("schema_version")) is not int
            or data["schema_version"] != SCHEMA_VERSION  # older documents are migrated as a whole
        ):
            return load_workflow(data), None
        contents: dict[str, bytes] = {}
        known: dict[str, NodeEntry] = {}
        fresh: dict[Any, Any] = {}
        try:
            for node_id, raw in nodes.items():
                content = contents[node_id] = pickle.dumps((node_id, raw), protocol=5)
                entry = self._entries.get(content)
                if entry is None:
                    fresh[node_id] = raw
                else:
                    known[node_id] = entry
        except Exception:  # something pickle cannot encode: not plain JSON, let the parser say so
            return load_workflow(data), None
        try:
            parsed = parse_workflow({**data, "nodes": fresh})
        except WorkflowValidationError:
            return load_workflow(data), None  # every issue, in document order, from the whole document
        for node_id, entry in parsed.nodes.items():
            self._entries.put(contents[node_id], entry)
        merged = {node_id: known[node_id] if node_id in known else parsed.nodes[node_id] for node_id in nodes}
        return parsed.model_copy(update={"nodes": merged}), contents
