"""Validation: check a workflow against a registry, report every problem at once.

`validate_workflow` applies parameter values, checks node types, inputs, links, types,
constants, params and cycles, and returns a `CompiledWorkflow` (each node bound to its spec,
constants canonicalised, defaults filled in) or raises WorkflowValidationError listing all
issues. It is a linear pass over nodes and links; nothing recurses per node.
"""

from __future__ import annotations

import difflib
import pickle
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import networkx as nx

from graph_engine.document import Link, NodeEntry, Workflow
from graph_engine.hashing import key_base
from graph_engine.issues import IssueCode, ValidationIssue, WorkflowValidationError
from graph_engine.memo import BoundedMemo
from graph_engine.registry import Registry
from graph_engine.spec import MISSING, InputSpec, NodeSpec
from graph_engine.types import ConstantError, check_compatible


@dataclass(frozen=True)
class CompiledNode:
    """One validated node. Treated as immutable: an executor reuses it for every document
    that compiles to the same node (see compile_memo.py), with its key base encoded once."""

    id: str
    spec: NodeSpec
    constants: dict[str, Any]  # every unlinked input: given value, param value or default
    links: dict[str, Link]  # linked inputs, by input name, in the spec's input order

    @cached_property
    def key_base(self) -> str:
        """The node's own part of its cache key (raises if a constant is not plain JSON)."""
        return key_base(self.spec, self.constants, [(name, link.output) for name, link in self.links.items()])

    @cached_property
    def producers(self) -> tuple[str, ...]:
        """Ids of the nodes this one reads from, one per link."""
        return tuple(link.node for link in self.links.values())

    @cached_property
    def link_sources(self) -> tuple[tuple[str, str], ...]:
        """(input name, producer id) per link: the node's part of the dependency graph."""
        return tuple((name, link.node) for name, link in self.links.items())


@dataclass(frozen=True)
class CompiledWorkflow:
    """A validated workflow, ready to plan and run."""

    workflow: Workflow  # the document with parameter values written in as constants
    nodes: dict[str, CompiledNode]
    outputs: dict[str, Link]
    output_nodes: tuple[str, ...]
    graph: nx.DiGraph  # producer -> consumer edges
    order: tuple[str, ...]  # every node, producers first; ties broken by node id


def _closest(name: str, candidates: Iterable[str]) -> str | None:
    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return close[0] if close else None


class _Checker:
    def __init__(self, workflow: Workflow, registry: Registry) -> None:
        self.workflow = workflow
        self.registry = registry
        self.issues: list[ValidationIssue] = []
        self.specs: dict[str, NodeSpec | None] = {}

    def add(self, code: IssueCode, message: str, **fields: Any) -> None:
        self.issues.append(ValidationIssue(code=code, message=message, **fields))

    # ---- node types -----------------------------------------------------------------

    def resolve_types(self) -> None:
        nodes = self.registry.nodes
        for node_id, entry in self.workflow.nodes.items():
            spec = nodes.get(entry.type)
            self.specs[node_id] = spec
            if spec is None:
                suggestion = self.registry.suggest(entry.type)
                hint = f"; did you mean {suggestion!r}?" if suggestion else ""
                self.add(
                    IssueCode.UNKNOWN_NODE_TYPE,
                    f"node {node_id!r} has unknown type {entry.type!r}{hint}",
                    node_id=node_id,
                    location=f"nodes.{node_id}.type",
                    got=entry.type,
                    suggestion=suggestion,
                )

    # ---- params and overrides ---------------------------------------------------------

    def resolve_path(self, path: str, location: str) -> tuple[str, InputSpec] | None:
        """The (node id, input spec) a "node.input" path names, or None after reporting why."""
        node_id, dot, input_name = path.partition(".")
        if not dot or not node_id or not input_name:
            self.add(
                IssueCode.BAD_PARAM_TARGET,
                f"{path!r} is not a 'node_id.input' path",
                location=location,
                expected="node_id.input",
                got=path,
            )
            return None
        if node_id not in self.workflow.nodes:
            suggestion = _closest(node_id, self.workflow.nodes)
            self.add(
                IssueCode.BAD_PARAM_TARGET,
                f"{path!r} names node {node_id!r}, which is not in the workflow",
                location=location,
                got=path,
                suggestion=suggestion,
            )
            return None
        spec = self.specs[node_id]
        if spec is None:
            return None  # already reported as an unknown node type
        input_spec = spec.input_map.get(input_name)
        if input_spec is None:
            suggestion = _closest(input_name, spec.input_map)
            self.add(
                IssueCode.BAD_PARAM_TARGET,
                f"{path!r}: node {node_id!r} ({spec.name}) has no input {input_name!r}",
                node_id=node_id,
                location=location,
                got=path,
                suggestion=suggestion,
            )
            return None
        return node_id, input_spec

    def coerce(self, value: Any, as_text: bool, node_id: str, input_spec: InputSpec, label: str, location: str) -> Any:
        """The canonical value of a param/override for one target, or MISSING after reporting."""
        try:
            if as_text:
                if not isinstance(value, str):
                    raise ConstantError(f"expected text, got {value!r}", "text", repr(value))
                return input_spec.parse_text(value)
            return input_spec.check_constant(value)
        except ConstantError as error:
            self.add(
                IssueCode(error.code),
                f"{label} for {node_id}.{input_spec.name} ({input_spec.type.name}): {error}",
                node_id=node_id,
                input=input_spec.name,
                location=location,
                expected=error.expected,
                got=error.got,
            )
            return MISSING

    def param_targets(self) -> dict[str, list[tuple[str, InputSpec]]]:
        resolved: dict[str, list[tuple[str, InputSpec]]] = {}
        for name in self.workflow.params:
            location = f"params.{name}"
            targets = []
            for path in self.workflow.param_targets(name):
                target = self.resolve_path(path, location)
                if target is not None:
                    targets.append(target)
            type_names = sorted({input_spec.type.name for _, input_spec in targets})
            if len(type_names) > 1:
                self.add(
                    IssueCode.PARAM_TYPE_CONFLICT,
                    f"param {name!r} sets inputs of different types ({', '.join(type_names)}); "
                    "one value cannot fit them all",
                    location=location,
                    got=", ".join(type_names),
                )
            resolved[name] = targets
        return resolved

    def assignments(self, overrides: Mapping[str, Any], as_text: bool) -> dict[tuple[str, str], Any]:
        """Constant values set by param defaults and overrides, by (node id, input name)."""
        params = self.param_targets()
        assigned: dict[tuple[str, str], Any] = {}
        for name, targets in params.items():
            default = self.workflow.param_default(name)
            if default is None:
                continue
            for node_id, input_spec in targets:
                value = self.coerce(default, False, node_id, input_spec, f"default of param {name!r}", f"params.{name}")
                if value is not MISSING:
                    assigned[(node_id, input_spec.name)] = value
        for name, raw in overrides.items():
            if name in params:
                targets, location = params[name], f"params.{name}"
            elif "." in name:
                target = self.resolve_path(name, f"set.{name}")
                targets, location = ([target] if target else []), f"set.{name}"
            else:
                suggestion = _closest(name, params)
                known = ", ".join(sorted(params)) or "none"
                self.add(
                    IssueCode.UNKNOWN_PARAM,
                    f"{name!r} is neither a param of this workflow (params: {known}) nor a node_id.input path",
                    location=f"set.{name}",
                    got=name,
                    suggestion=suggestion,
                )
                continue
            for node_id, input_spec in targets:
                value = self.coerce(raw, as_text, node_id, input_spec, f"value {raw!r} of {name!r}", location)
                if value is not MISSING:
                    assigned[(node_id, input_spec.name)] = value
        return assigned

    # ---- inputs ---------------------------------------------------------------------

    def check_link(self, node_id: str, input_spec: InputSpec | None, link: Link, location: str | None = None) -> bool:
        """Whether `link` is valid for this input (reporting why not). `location` defaults to
        the input's path, built only when there is something to report."""
        if location is None and input_spec is not None:
            location = f"nodes.{node_id}.inputs.{input_spec.name}"
        return self._check_link(node_id, input_spec, link, location or "")

    def _check_link(self, node_id: str, input_spec: InputSpec | None, link: Link, location: str) -> bool:
        source_spec = self.specs.get(link.node, MISSING)
        if source_spec is MISSING:
            suggestion = _closest(link.node, self.workflow.nodes)
            self.add(
                IssueCode.UNKNOWN_NODE,
                f"link from node {link.node!r}, which is not in the workflow",
                node_id=node_id,
                input=input_spec.name if input_spec else None,
                location=location,
                got=link.node,
                suggestion=suggestion,
            )
            return False
        if source_spec is None:
            return False  # the producer's type is unknown: already reported
        output_spec = source_spec.output_map.get(link.output)
        if output_spec is None:
            names = ", ".join(source_spec.output_map) or "none"
            self.add(
                IssueCode.UNKNOWN_OUTPUT,
                f"node {link.node!r} ({source_spec.name}) has no output {link.output!r}; its outputs: {names}",
                node_id=node_id,
                input=input_spec.name if input_spec else None,
                location=location,
                got=link.output,
                expected=names,
                suggestion=_closest(link.output, source_spec.output_map),
            )
            return False
        if input_spec is not None:
            reason = check_compatible(output_spec.type, input_spec.type)
            if reason is not None:
                self.add(
                    IssueCode.TYPE_MISMATCH,
                    f"input {input_spec.name!r} expects {input_spec.type.name} but {link} is "
                    f"{output_spec.type.name}: {reason}",
                    node_id=node_id,
                    input=input_spec.name,
                    location=location,
                    expected=input_spec.type.name,
                    got=output_spec.type.name,
                )
                return False
        return True

    def compile_node(
        self, node_id: str, spec: NodeSpec, given: Mapping[str, Any], assigned: Mapping[tuple[str, str], Any]
    ) -> CompiledNode:
        for name in given:
            if name not in spec.input_map:
                suggestion = _closest(name, spec.input_map)
                self.add(
                    IssueCode.UNKNOWN_INPUT,
                    f"node {node_id!r} ({spec.name}) has no input {name!r}; its inputs: "
                    f"{', '.join(spec.input_map) or 'none'}",
                    node_id=node_id,
                    input=name,
                    location=f"nodes.{node_id}.inputs.{name}",
                    suggestion=suggestion,
                )
        constants: dict[str, Any] = {}
        links: dict[str, Link] = {}
        for input_spec in spec.inputs:
            name = input_spec.name
            if assigned and (node_id, name) in assigned:
                constants[name] = assigned[(node_id, name)]
                continue
            value = given.get(name, MISSING)
            if isinstance(value, Link):
                if self.check_link(node_id, input_spec, value):
                    links[name] = value
            elif value is not MISSING:
                try:
                    constants[name] = input_spec.check_constant(value)
                except ConstantError as error:
                    self.add(
                        IssueCode(error.code),
                        f"input {name!r} of node {node_id!r} ({spec.name}): {error}",
                        node_id=node_id,
                        input=name,
                        location=f"nodes.{node_id}.inputs.{name}",
                        expected=error.expected,
                        got=error.got,
                    )
            elif input_spec.default is not MISSING:
                constants[name] = input_spec.default
            elif input_spec.optional:
                constants[name] = None
            else:
                self.add(
                    IssueCode.MISSING_INPUT,
                    f"node {node_id!r} ({spec.name}) needs input {name!r} ({input_spec.type.name})",
                    node_id=node_id,
                    input=name,
                    location=f"nodes.{node_id}.inputs.{name}",
                    expected=input_spec.type.name,
                )
        return CompiledNode(node_id, spec, constants, links)

    # ---- whole graph ----------------------------------------------------------------

    def check_outputs(self) -> tuple[str, ...]:
        for name, link in self.workflow.outputs.items():
            self.check_link("", None, link, f"outputs.{name}")
        output_nodes = tuple(node_id for node_id, spec in self.specs.items() if spec is not None and spec.output_node)
        if not self.workflow.outputs and not output_nodes:
            self.add(
                IssueCode.NO_OUTPUTS,
                "the workflow produces nothing: list values under 'outputs' or add an output node "
                "(a node that saves or shows its input)",
                location="outputs",
            )
        return output_nodes

    def order(self, graph: nx.DiGraph) -> tuple[str, ...]:
        """A topological order of every node, or () after reporting each cycle."""
        try:
            return tuple(nx.topological_sort(graph))
        except nx.NetworkXUnfeasible:
            pass
        cycles = [sorted(component) for component in nx.strongly_connected_components(graph) if len(component) > 1]
        cycles += [[node] for node, _ in nx.selfloop_edges(graph)]
        for members in sorted(cycles):
            self.add(
                IssueCode.CYCLE,
                f"nodes {', '.join(members)} form a cycle; a workflow must be acyclic",
                node_id=members[0],
                location=f"nodes.{members[0]}",
                got=" -> ".join(members),
            )
        return ()


def _dependency_graph(workflow: Workflow) -> nx.DiGraph:
    """Producer -> consumer edges, added in sorted order.

    networkx's topological sort is deterministic for a given insertion order; sorting makes
    the run order depend only on node ids and links, not on how the file was written.
    """
    graph = nx.DiGraph()
    nodes = workflow.nodes
    graph.add_nodes_from(sorted(nodes))
    graph.add_edges_from(
        (value.node, node_id)
        for node_id in sorted(nodes)
        for _, value in sorted(nodes[node_id].inputs.items())
        if isinstance(value, Link) and value.node in nodes
    )
    return graph


def _apply_assignments(workflow: Workflow, assigned: Mapping[tuple[str, str], Any]) -> Workflow:
    if not assigned:
        return workflow
    nodes = dict(workflow.nodes)
    for (node_id, input_name), value in assigned.items():
        entry = nodes[node_id]
        nodes[node_id] = entry.model_copy(update={"inputs": {**entry.inputs, input_name: value}})
    return workflow.model_copy(update={"nodes": nodes})


def _entry_content(node_id: str, entry: NodeEntry) -> Hashable:
    """A hashable, type-exact form of a node entry (1, 1.0 and True stay distinct)."""
    inputs: list[tuple[Any, ...]] = []
    for name, value in entry.inputs.items():
        if isinstance(value, Link):
            inputs.append((name, "link", value.node, value.output))
        elif isinstance(value, list):
            inputs.append((name, "list", pickle.dumps(value, protocol=5)))
        else:
            inputs.append((name, type(value), value))
    return (node_id, entry.type, tuple(inputs))


@dataclass(frozen=True)
class ValidationMemo:
    """What an executor remembers from earlier successful validations (bounded tables).

    A node entry compiles to the same CompiledNode as long as its type resolves to the same
    spec and each producer still has the type it had (the link checks read the producers'
    outputs); the dependency graph and order depend only on every node's link sources.
    """

    nodes: BoundedMemo[Hashable, tuple[CompiledNode, tuple[str, ...]]]  # + producers' types
    structures: BoundedMemo[Hashable, tuple[nx.DiGraph, tuple[str, ...]]]

    @classmethod
    def bounded(cls, nodes: int, structures: int) -> ValidationMemo:
        return cls(BoundedMemo(nodes), BoundedMemo(structures))

    def reuse(self, content: Hashable, spec: NodeSpec, workflow: Workflow) -> CompiledNode | None:
        remembered = self.nodes.get(content)
        if remembered is None:
            return None
        node, producer_types = remembered
        if node.spec is not spec:
            return None
        entries = workflow.nodes
        for producer, producer_type in zip(node.producers, producer_types, strict=True):
            entry = entries.get(producer)
            if entry is None or entry.type != producer_type:
                return None
        return node

    def remember(self, content: Hashable, node: CompiledNode, workflow: Workflow) -> None:
        self.nodes.put(content, (node, tuple(workflow.nodes[producer].type for producer in node.producers)))


def validate_workflow(
    workflow: Workflow,
    registry: Registry,
    params: Mapping[str, Any] | None = None,
    *,
    params_as_text: bool = False,
    memo: ValidationMemo | None = None,
    contents: Mapping[str, Hashable] | None = None,
) -> CompiledWorkflow:
    """Check `workflow` with parameter values `params` (names or "node.input" paths).

    With `params_as_text`, values are command-line strings parsed by each target input's
    type ("7" -> 7 for an INT). Raises WorkflowValidationError with every issue found.
    With a `memo`, nodes compiled before (and not set by a param) are reused instead of
    re-checked, and so is the order of an unchanged structure; only a valid workflow's nodes
    are stored (a node compiled beside an error may lack a link that was reported elsewhere).
    `contents` gives a type-exact form of node entries (their JSON) where the caller has one;
    for other nodes it is derived from the entry.
    """
    checker = _Checker(workflow, registry)
    checker.resolve_types()
    assigned = checker.assignments(params or {}, params_as_text)
    assigned_nodes = {node_id for node_id, _ in assigned}
    nodes: dict[str, CompiledNode] = {}
    new: list[tuple[Hashable, CompiledNode]] = []  # remembered once the whole workflow is valid
    for node_id, entry in workflow.nodes.items():
        spec = checker.specs[node_id]
        if spec is None:
            continue
        if memo is None or node_id in assigned_nodes:
            nodes[node_id] = checker.compile_node(node_id, spec, entry.inputs, assigned)
            continue
        content = contents.get(node_id) if contents is not None else None
        if content is None:
            content = _entry_content(node_id, entry)
        compiled = memo.reuse(content, spec, workflow)
        if compiled is None:
            compiled = checker.compile_node(node_id, spec, entry.inputs, assigned)
            new.append((content, compiled))
        nodes[node_id] = compiled
    output_nodes = checker.check_outputs()
    effective = _apply_assignments(workflow, assigned)
    if memo is not None and not checker.issues:
        structure = tuple((node_id, node.link_sources) for node_id, node in nodes.items())
        remembered = memo.structures.get(structure)
        if remembered is None:
            graph = _dependency_graph(effective)
            order = checker.order(graph)
            if not checker.issues:
                memo.structures.put(structure, (graph, order))
        else:
            graph, order = remembered
    else:
        graph = _dependency_graph(effective)
        order = checker.order(graph)
    if checker.issues:
        raise WorkflowValidationError(checker.issues)
    if memo is not None:
        for content, compiled in new:
            memo.remember(content, compiled, workflow)
    return CompiledWorkflow(effective, nodes, dict(workflow.outputs), output_nodes, graph, order)
