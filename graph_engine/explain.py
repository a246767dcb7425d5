"""Why each node ran, came from the cache, or did not run: the executor's `explain`."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from enum import Enum
from typing import Any

from graph_engine.values import summarize


class NodeStatus(str, Enum):
    RAN = "ran"
    CACHED = "cached"
    FAILED = "failed"
    SKIPPED = "skipped"
    INTERRUPTED = "interrupted"
    NOT_RUN = "not_run"  # the run stopped before reaching it


class Reason(str, Enum):
    # why a node ran
    UNCACHEABLE = "uncacheable"
    CACHE_DISABLED = "cache_disabled"
    UPSTREAM_CHANGED = "upstream_changed"
    EVICTED = "evicted"
    INPUTS_CHANGED = "inputs_changed"
    NEW = "new"
    # why it did not
    CACHED = "cached"
    UPSTREAM_FAILED = "upstream_failed"
    NOT_NEEDED = "not_needed"
    INTERRUPTED = "interrupted"


@dataclass(frozen=True, slots=True)
class NodeExplanation:
    """What happened to one node in a run, and why."""

    node_id: str
    node_type: str
    status: NodeStatus
    reason: Reason
    message: str
    key: str | None = None  # its cache key
    duration_s: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "status": self.status.value, "reason": self.reason.value}


def describe_changes(
    constants: Mapping[str, Any],
    fingerprint: Any,
    previous_constants: Mapping[str, Any],
    previous_fingerprint: Any,
) -> list[str]:
    """What differs from the previous run of the same node: constants, then fingerprint."""
    changes = [
        f"{name}: {summarize(previous_constants.get(name))} -> {summarize(value)}"
        for name, value in sorted(constants.items())
        if previous_constants.get(name) != value
    ]
    if fingerprint != previous_fingerprint:
        changes.append("what it reads from outside changed (fingerprint)")
    return changes


def run_reason(
    *,
    cacheable: bool,
    cache_enabled: bool,
    changed_producers: Sequence[str],
    evicted: bool,
    changes: Callable[[], list[str] | None],
) -> tuple[Reason, str]:
    """The reason a node has to run, most specific first.

    `changes()` lists what differs from the previous run of the same node (None when there
    was none); it is only called when nothing earlier explains the miss.
    """
    if not cacheable:
        return Reason.UNCACHEABLE, "declared uncacheable: runs every time"
    if not cache_enabled:
        return Reason.CACHE_DISABLED, "the cache is disabled"
    if changed_producers:
        return Reason.UPSTREAM_CHANGED, f"upstream changed: {', '.join(changed_producers)}"
    if evicted:
        return Reason.EVICTED, "its result was evicted from the cache (byte budget)"
    differences = changes()
    if differences:
        return Reason.INPUTS_CHANGED, "inputs changed: " + "; ".join(differences)
    return Reason.NEW, "no cached result for these inputs"


def format_explanations(explanations: Iterable[NodeExplanation]) -> str:
    """A plain-text table: node, type, status, reason."""
    rows = [(item.node_id, item.node_type, item.status.value, item.message) for item in explanations]
    if not rows:
        return "(no nodes)"
    widths = [max(len(row[column]) for row in rows) for column in range(3)]
    return "\n".join(
        f"{node:<{widths[0]}}  {kind:<{widths[1]}}  {status:<{widths[2]}}  {message}"
        for node, kind, status, message in rows
    )
