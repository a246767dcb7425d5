"""What a run returns: its status, outputs as Python objects, explanations, failures, files."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from graph_engine.document import Workflow
from graph_engine.explain import NodeExplanation, NodeStatus, format_explanations

RunStatus = Literal["success", "failed", "interrupted"]


@dataclass(frozen=True)
class NodeFailure:
    node_id: str
    node_type: str
    error_type: str
    message: str
    traceback: str = ""


@dataclass
class RunResult:
    """What a run produced: outputs (as Python objects), per-node explanations, failures, files."""

    run_id: str
    status: RunStatus
    outputs: dict[str, Any]
    explanations: dict[str, NodeExplanation]
    failures: dict[str, NodeFailure]
    files: list[Path]
    duration_s: float
    workflow: Workflow = field(repr=False)  # as run, with parameter values written in

    @property
    def ok(self) -> bool:
        return self.status == "success"

    def nodes_with(self, status: NodeStatus) -> list[str]:
        return [node_id for node_id, item in self.explanations.items() if item.status is status]

    @property
    def ran(self) -> list[str]:
        return self.nodes_with(NodeStatus.RAN)

    @property
    def cached(self) -> list[str]:
        return self.nodes_with(NodeStatus.CACHED)

    def explain(self) -> str:
        return format_explanations(self.explanations.values())
