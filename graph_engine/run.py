"""One run of a planned workflow: three linear passes over its nodes.

1. keys, in topological order: each node's cache key from its constants, fingerprint and
   its producers' keys;
2. needs, in reverse order: starting from the targets, a node served by the cache does not
   need its producers, so evicted intermediates under a cached result are not recomputed;
3. execution, in topological order: cached nodes are served, others run; a failure blocks
   only its dependents; an interrupt stops the run between (or inside) nodes.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from graph_engine.cache import CacheEntry, ResultCache
from graph_engine.context import Context, Interrupted, RunScope
from graph_engine.events import (
    Event,
    NodeCached,
    NodeEvent,
    NodeFailed,
    NodeFinished,
    NodeProgress,
    NodeSkipped,
    NodeStarted,
    RunFailed,
    RunFinished,
    RunInterrupted,
    RunStarted,
)
from graph_engine.explain import NodeExplanation, NodeStatus, Reason, describe_changes, run_reason
from graph_engine.fingerprint import FileHasher
from graph_engine.hashing import node_key
from graph_engine.planning import Plan
from graph_engine.resources import Resources
from graph_engine.results import NodeFailure, RunResult, RunStatus
from graph_engine.spec import NodeSpec
from graph_engine.types import ConstantError
from graph_engine.validation import CompiledNode, CompiledWorkflow
from graph_engine.values import changed_in_place, nbytes, summarize, tensor_versions

logger = logging.getLogger("graph_engine.executor")

EventCallback = Callable[[Event], None]
# By node id: (node type, constants, fingerprint) of a previous run, for explanations.
Signatures = dict[str, tuple[str, Mapping[str, Any], Any]]


class NodeOutputError(Exception):
    """A node's function returned something that does not match its declared outputs."""


class InPlaceModificationError(Exception):
    """A node modified an input value in place; inputs may be shared with the cache."""


def _output_values(spec: NodeSpec, result: Any) -> dict[str, Any]:
    """Map a function's return value onto the declared outputs, checking primitive types."""
    outputs = spec.outputs
    if not outputs:
        return {}
    if len(outputs) == 1:
        values = {outputs[0].name: result}
    elif isinstance(result, Mapping):
        if set(result) != set(spec.output_map):
            raise NodeOutputError(
                f"returned keys {sorted(result)}, but the node declares outputs {list(spec.output_map)}"
            )
        values = dict(result)
    elif isinstance(result, tuple) and len(result) == len(outputs):
        values = {output.name: value for output, value in zip(outputs, result, strict=True)}
    else:
        raise NodeOutputError(
            f"returned {summarize(result)}; expected a tuple or dict of {len(outputs)} values "
            f"({', '.join(spec.output_map)})"
        )
    for output in outputs:
        if output.type.accepts_constants:
            try:
                values[output.name] = output.type.check_constant(values[output.name])
            except ConstantError as error:
                raise NodeOutputError(f"output {output.name!r} ({output.type.name}): {error}") from None
    return values


class RunExecution:
    """One run of a validated, planned workflow; see the module docstring for its passes."""

    def __init__(
        self,
        compiled: CompiledWorkflow,
        plan: Plan,
        *,
        run_id: str,
        cache: ResultCache,
        files: FileHasher,
        resources: Resources,
        device: str,
        output_dir: Path,
        listeners: list[EventCallback],
        interrupt: threading.Event,
        previous: Signatures,
    ) -> None:
        self.cache = cache
        self.files_hasher = files
        self.previous = previous
        self.compiled = compiled
        self.nodes = compiled.nodes
        self.plan = plan
        self.run_id = run_id
        self.listeners = listeners
        self.interrupt = interrupt
        self.scope = RunScope(
            run_id,
            device=device,
            output_dir=output_dir,
            interrupt=interrupt,
            on_progress=self._on_progress if listeners else None,
            workflow=compiled.workflow,
            resources=resources,
            input_dirs=files.input_dirs,
        )
        self.seq = 0
        self.keys: dict[str, str | None] = {}
        self.key_errors: dict[str, BaseException] = {}
        self.fingerprints: dict[str, Any] = {}
        self.signatures: Signatures = {}
        self.hits: dict[str, CacheEntry] = {}
        self.needed: set[str] = set()
        self.values: dict[str, dict[str, Any]] = {}
        self.versions: dict[str, Any] = {}
        self.pending_reads: dict[str, int] = {}
        self.failed_cause: dict[str, str] = {}  # failed or blocked node -> the node that failed
        self.poisoned: dict[str, str] = {}  # producer -> consumer that modified its value in place
        self.explanations: dict[str, NodeExplanation] = {}
        self.failures: dict[str, NodeFailure] = {}
        self.files: list[Path] = []
        self.interrupted = False
        self.interrupted_at: str | None = None
        self.run_reasons: dict[str, Reason] = {}
        self.output_sources = {link.node for link in plan.outputs.values()}
        self.groups = compiled.groups
        self.produced: dict[str, str] = {}  # cache key -> the node that computed it in this run

    # ---- events ---------------------------------------------------------------------

    def emit(self, event_type: type[Any], **fields: Any) -> None:
        if not self.listeners:
            return
        if self.groups and issubclass(event_type, NodeEvent):
            parent = fields["node_id"].rpartition("/")[0]
            if parent in self.groups:
                fields.update(parent=parent, parent_type=self.groups[parent])
        event = event_type(run_id=self.run_id, seq=self.seq, time=time.time(), **fields)
        self.seq += 1
        for listener in self.listeners:
            try:
                listener(event)
            except Exception:
                logger.exception("event listener failed on %s", event.type)

    def _on_progress(self, node_id: str, value: float, total: float, preview: Any) -> None:
        self.emit(
            NodeProgress,
            node_id=node_id,
            node_type=self.nodes[node_id].spec.name,
            value=value,
            total=total,
            preview=preview,
        )

    def explain(
        self, node_id: str, status: NodeStatus, reason: Reason, message: str, duration: float | None = None
    ) -> None:
        self.explanations[node_id] = NodeExplanation(
            node_id=node_id,
            node_type=self.nodes[node_id].spec.name,
            status=status,
            reason=reason,
            message=message,
            key=self.keys.get(node_id),
            duration_s=duration,
        )

    # ---- pass 1: keys ---------------------------------------------------------------

    def compute_keys(self) -> None:
        keys = self.keys
        for node_id in self.plan.order:
            node = self.nodes[node_id]
            spec = node.spec
            self.signatures[node_id] = (spec.name, node.constants, None)
            producer_keys = [key for producer in node.producers if (key := keys[producer]) is not None]
            if len(producer_keys) < len(node.producers):
                keys[node_id] = None  # a producer failed its fingerprint: this node will be blocked
                continue
            if not spec.cacheable:
                # A fresh key per run: the node and everything downstream runs again.
                keys[node_id] = f"uncacheable:{self.run_id}:{node_id}"
                continue
            try:
                fingerprint = spec.fingerprint(node.constants, self.files_hasher) if spec.fingerprint else None
                keys[node_id] = node_key(node.key_base, producer_keys, fingerprint)
            except Exception as error:
                self.key_errors[node_id] = error
                keys[node_id] = None
                continue
            self.fingerprints[node_id] = fingerprint
            self.signatures[node_id] = (spec.name, node.constants, fingerprint)

    # ---- pass 2: needs --------------------------------------------------------------

    def find_needed(self) -> None:
        needed = self.needed
        needed.update(self.plan.targets)
        for node_id in reversed(self.plan.order):
            if node_id not in needed:
                continue
            node = self.nodes[node_id]
            key = self.keys[node_id]
            if key is not None and node.spec.cacheable:
                entry = self.cache.lookup(key)
                if entry is not None:
                    self.hits[node_id] = entry
                    continue
            for producer in {link.node for link in node.links.values()}:
                needed.add(producer)
                self.pending_reads[producer] = self.pending_reads.get(producer, 0) + 1

    # ---- pass 3: execution ----------------------------------------------------------

    def execute(self) -> RunResult:
        started = time.perf_counter()
        self.emit(
            RunStarted,
            workflow=self.compiled.workflow.name,
            nodes=list(self.plan.order),
            outputs=list(self.plan.outputs),
        )
        self.compute_keys()
        self.find_needed()
        order = self.plan.order
        try:
            for position, node_id in enumerate(order):
                if self.interrupt.is_set():
                    self.stop(order[position:], None)
                    break
                if not self.visit(node_id):
                    self.stop(order[position:], node_id)
                    break
        except KeyboardInterrupt:
            running = next((node_id for node_id in order if node_id not in self.explanations), None)
            self.stop([node_id for node_id in order if node_id not in self.explanations], running)
        return self.finish(time.perf_counter() - started)

    def stop(self, remaining: Sequence[str], running: str | None) -> None:
        self.interrupted = True
        self.interrupted_at = running
        for node_id in remaining:
            if node_id == running:
                self.explain(node_id, NodeStatus.INTERRUPTED, Reason.INTERRUPTED, "interrupted while running")
            else:
                self.explain(node_id, NodeStatus.NOT_RUN, Reason.INTERRUPTED, "the run was interrupted first")

    def visit(self, node_id: str) -> bool:
        """Serve, skip or run one node; False when the run was interrupted inside it."""
        node = self.nodes[node_id]
        spec_name = node.spec.name
        if node_id not in self.needed:
            key = self.keys[node_id]
            if key is not None and key in self.cache:
                self.explain(node_id, NodeStatus.CACHED, Reason.CACHED, "in the cache (not needed by this run)")
                self.emit(NodeCached, node_id=node_id, node_type=spec_name)
            else:
                self.explain(
                    node_id, NodeStatus.SKIPPED, Reason.NOT_NEEDED, "not needed: its consumers come from the cache"
                )
                self.emit(NodeSkipped, node_id=node_id, node_type=spec_name, reason="not_needed")
            return True
        cause = self.blocking_cause(node)
        if cause is not None:
            self.failed_cause[node_id] = cause
            self.explain(node_id, NodeStatus.SKIPPED, Reason.UPSTREAM_FAILED, f"not run: {cause} failed")
            self.emit(NodeSkipped, node_id=node_id, node_type=spec_name, reason="upstream_failed", cause=cause)
            return True
        if node_id in self.key_errors:
            error = self.key_errors[node_id]
            self.fail(node_id, error, "".join(traceback.format_exception(error)), "fingerprint failed: ")
            return True
        entry = self.hits.get(node_id)
        if entry is not None:
            self.values[node_id] = entry.outputs
            self.versions[node_id] = entry.versions
            self.explain(node_id, NodeStatus.CACHED, Reason.CACHED, "served from the cache")
            self.emit(NodeCached, node_id=node_id, node_type=spec_name)
            return True
        twin = self.produced.get(self.keys[node_id] or "")
        entry = self.cache.lookup(self.keys[node_id] or "") if twin is not None else None
        if entry is not None:
            # An identical node (same key: same type and inputs) ran earlier in this run, e.g.
            # the same sub-workflow used twice: share its result instead of computing it again.
            self.values[node_id] = entry.outputs
            self.versions[node_id] = entry.versions
            message = f"same inputs as {twin}, which ran earlier in this run"
            self.explain(node_id, NodeStatus.CACHED, Reason.CACHED, message)
            self.emit(NodeCached, node_id=node_id, node_type=spec_name)
            self.release_inputs(node)
            return True
        return self.run_node(node_id)

    def blocking_cause(self, node: CompiledNode) -> str | None:
        for link in node.links.values():
            cause = self.failed_cause.get(link.node) or self.poisoned.get(link.node)
            if cause is not None:
                return cause
        return None

    def reason_to_run(self, node_id: str) -> tuple[Reason, str]:
        node = self.nodes[node_id]
        key = self.keys[node_id]

        def changes() -> list[str] | None:
            previous = self.previous.get(node_id)
            if previous is None or previous[0] != node.spec.name:
                return None
            return describe_changes(node.constants, self.fingerprints.get(node_id), previous[1], previous[2])

        changed_producers = sorted(
            {link.node for link in node.links.values() if self.explanations[link.node].status is NodeStatus.RAN}
        )
        return run_reason(
            cacheable=node.spec.cacheable,
            cache_enabled=self.cache.enabled,
            changed_producers=changed_producers,
            evicted=key is not None and self.cache.was_evicted(key),
            changes=changes,
        )

    def run_node(self, node_id: str) -> bool:
        node = self.nodes[node_id]
        spec = node.spec
        reason, message = self.reason_to_run(node_id)
        self.run_reasons[node_id] = reason
        self.emit(NodeStarted, node_id=node_id, node_type=spec.name, reason=reason.value)
        arguments = dict(node.constants)
        for name, link in node.links.items():
            arguments[name] = self.values[link.node][link.output]
        context = Context(self.scope, node_id, spec.name)
        started = time.perf_counter()
        try:
            result = spec.fn(context, **arguments) if spec.takes_context else spec.fn(**arguments)
            outputs = _output_values(spec, result)
            self.check_inputs_untouched(node)
        except Interrupted:
            self.files.extend(context.files)
            return False
        except Exception as error:
            self.files.extend(context.files)
            self.fail(node_id, error, traceback.format_exc())
            return True
        duration = time.perf_counter() - started
        self.files.extend(context.files)
        self.values[node_id] = outputs
        versions = tensor_versions(outputs)
        self.versions[node_id] = versions
        key = self.keys[node_id]
        if spec.cacheable and key is not None:
            self.cache.store(CacheEntry(key, spec.name, outputs, nbytes(outputs), versions))
            self.produced[key] = node_id
        self.explain(node_id, NodeStatus.RAN, reason, message, duration)
        if self.listeners:
            self.emit(
                NodeFinished,
                node_id=node_id,
                node_type=spec.name,
                duration_s=duration,
                outputs={name: summarize(value) for name, value in outputs.items()},
                files=[str(path) for path in context.files],
            )
        self.release_inputs(node)
        return True

    def check_inputs_untouched(self, node: CompiledNode) -> None:
        for name, link in node.links.items():
            if changed_in_place(self.versions.get(link.node, ())):
                # The shared value is now corrupt: drop it from the cache, block its other consumers.
                key = self.keys[link.node]
                if key is not None:
                    self.cache.discard(key)
                self.poisoned[link.node] = node.id
                raise InPlaceModificationError(
                    f"node {node.id!r} modified its input {name!r} (from {link}) in place; input values "
                    "are shared with the cache and other nodes: copy before modifying (e.g. tensor.clone())"
                )

    def fail(self, node_id: str, error: BaseException, trace: str, prefix: str = "") -> None:
        spec_name = self.nodes[node_id].spec.name
        message = prefix + (str(error) or type(error).__name__)
        failure = NodeFailure(node_id, spec_name, type(error).__name__, message, trace)
        self.failures[node_id] = failure
        self.failed_cause[node_id] = node_id
        reason = self.run_reasons.get(node_id, Reason.NEW)
        self.explain(node_id, NodeStatus.FAILED, reason, f"failed: {failure.error_type}: {message}")
        self.emit(
            NodeFailed,
            node_id=node_id,
            node_type=spec_name,
            error_type=failure.error_type,
            message=message,
            traceback=trace,
        )

    def release_inputs(self, node: CompiledNode) -> None:
        """Drop producer values no later node reads (the cache may still hold them)."""
        for producer in {link.node for link in node.links.values()}:
            remaining = self.pending_reads[producer] - 1
            self.pending_reads[producer] = remaining
            if remaining == 0 and producer not in self.output_sources:
                self.values.pop(producer, None)

    # ---- result ---------------------------------------------------------------------

    def finish(self, duration: float) -> RunResult:
        outputs = {
            name: self.values[link.node][link.output]
            for name, link in self.plan.outputs.items()
            if link.node in self.values and link.node not in self.poisoned
        }
        files = [str(path) for path in self.files]
        if self.interrupted:
            status: RunStatus = "interrupted"
            self.emit(
                RunInterrupted,
                duration_s=duration,
                node_id=self.interrupted_at,
                outputs=list(outputs),
                files=files,
            )
        elif self.failures or self.poisoned:
            status = "failed"
            self.emit(
                RunFailed, duration_s=duration, failed_nodes=list(self.failures), outputs=list(outputs), files=files
            )
        else:
            status = "success"
            counts = {NodeStatus.RAN: 0, NodeStatus.CACHED: 0}
            for item in self.explanations.values():
                if item.status in counts:
                    counts[item.status] += 1
            self.emit(
                RunFinished,
                duration_s=duration,
                outputs=list(outputs),
                files=files,
                ran=counts[NodeStatus.RAN],
                cached=counts[NodeStatus.CACHED],
            )
        return RunResult(
            run_id=self.run_id,
            status=status,
            outputs=outputs,
            explanations=self.explanations,
            failures=self.failures,
            files=list(self.files),
            duration_s=duration,
            workflow=self.compiled.workflow,
        )
