"""Planning: which nodes a run needs, and in which order.

The plan keeps only the ancestors of the requested targets (workflow outputs and output
nodes), in the topological order validation computed with networkx (producers first; the
order depends only on node ids and links, so the same workflow always runs the same way).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from graph_engine.document import Link
from graph_engine.issues import IssueCode, ValidationIssue, WorkflowValidationError
from graph_engine.validation import CompiledWorkflow


@dataclass(frozen=True)
class Plan:
    order: tuple[str, ...]  # nodes to consider, producers before consumers
    outputs: dict[str, Link]  # the workflow outputs this run returns
    targets: frozenset[str]  # nodes whose results are wanted for their own sake


def _selected(compiled: CompiledWorkflow, requested: Sequence[str] | None) -> tuple[dict[str, Link], tuple[str, ...]]:
    if requested is None:
        return dict(compiled.outputs), compiled.output_nodes
    outputs: dict[str, Link] = {}
    output_nodes: list[str] = []
    issues = []
    for name in requested:
        if name in compiled.outputs:
            outputs[name] = compiled.outputs[name]
        elif name in compiled.output_nodes:
            output_nodes.append(name)
        else:
            known = sorted([*compiled.outputs, *compiled.output_nodes])
            issues.append(
                ValidationIssue(
                    code=IssueCode.NO_OUTPUTS,
                    message=f"{name!r} is neither a workflow output nor an output node; choose from {', '.join(known)}",
                    location=f"outputs.{name}",
                    got=name,
                )
            )
    if issues:
        raise WorkflowValidationError(issues)
    return outputs, tuple(output_nodes)


def plan_run(compiled: CompiledWorkflow, outputs: Sequence[str] | None = None) -> Plan:
    """Plan a run producing `outputs` (workflow output names or output node ids; all by default)."""
    selected, output_nodes = _selected(compiled, outputs)
    targets = {link.node for link in selected.values()} | set(output_nodes)
    if len(targets) == len(compiled.order):
        order = compiled.order
    else:
        # One traversal up from all targets at once: calling ancestors() per target would
        # re-walk shared ancestry (quadratic when every node of a chain is a target).
        keep = set(targets)
        stack = list(targets)
        nodes = compiled.nodes
        while stack:
            for producer in nodes[stack.pop()].producers:
                if producer not in keep:
                    keep.add(producer)
                    stack.append(producer)
        # The full order restricted to the kept nodes is still producers-first.
        order = tuple(node_id for node_id in compiled.order if node_id in keep)
    return Plan(order=order, outputs=selected, targets=frozenset(targets))
