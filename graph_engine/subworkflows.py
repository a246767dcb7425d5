"""Workflows used as nodes: resolving `workflow:REF` node types, their typed specs, and
expansion into one flat graph before a run.

A node `{"type": "workflow:txt2img", "inputs": {"prompt": "..."}, "pin": "..."}` stands for
the whole `txt2img` workflow. Compiling a document that has such nodes takes three steps:

1. resolve each definition (a library name, or a path relative to the referencing file),
   recursively, reporting unknown names, unreadable files, cycles between definitions and
   pins that no longer match; each definition becomes a `WorkflowNodeSpec` whose inputs are
   its params (type, range and choices from the inner inputs they set; default from the
   inner value) and whose outputs are its outputs;
2. validate the document as written against the registry plus those specs, so errors about
   a workflow node's inputs and links name that node;
3. expand every workflow node into its inner nodes under namespaced ids (`outer/inner`) and
   validate the flat graph, which the planner and executor then run like any other. Inner
   nodes are cached by their inputs like any node, so workflows sharing a sub-workflow share
   its results; events carry the enclosing workflow node as `parent`.

The content hash of a definition covers its nodes, params and outputs (not its name,
description or layout) and, recursively, the hashes of the definitions it uses.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from graph_engine.document import Constant, Link, NodeEntry, ParamSpec, Workflow, load_workflow
from graph_engine.issues import IssueCode, ValidationIssue, WorkflowValidationError
from graph_engine.library import LibraryEntry, LibraryProblem, WorkflowLibrary, file_version
from graph_engine.registry import Registry
from graph_engine.spec import MISSING, InputSpec, NodeSpec, OutputSpec, Range
from graph_engine.validation import CompiledWorkflow, ValidationMemo, validate_workflow

WORKFLOW_TYPE_PREFIX = "workflow:"
WORKFLOW_CATEGORY = "workflows"


def is_workflow_type(node_type: str) -> bool:
    return node_type.startswith(WORKFLOW_TYPE_PREFIX)


def has_workflow_nodes(workflow: Workflow) -> bool:
    """Whether compiling needs this module: workflow nodes, or pins to report as misplaced."""
    return any(is_workflow_type(entry.type) or entry.pin is not None for entry in workflow.nodes.values())


def is_path_reference(reference: str) -> bool:
    """`workflow:REF` names a file (rather than a library workflow) when REF looks like a path."""
    return "/" in reference or "\\" in reference or reference.endswith((".json", ".png"))


def _never_called(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("a workflow node is expanded into its inner nodes before a run; it never runs itself")


@dataclass(frozen=True)
class WorkflowNodeSpec(NodeSpec):
    """The spec of a workflow used as a node: typed inputs (its params) and outputs."""

    reference: str = ""  # what follows "workflow:" in the node type
    source: str = ""  # the library source ("user", a pack) or the file path
    definition_hash: str = ""

    def to_json(self) -> dict[str, Any]:
        data = super().to_json()
        data["workflow"] = {"reference": self.reference, "source": self.source, "hash": self.definition_hash}
        return data


class DefinitionError(Exception):
    """A workflow definition cannot be used as a node; `code` is the issue code."""

    def __init__(self, code: IssueCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Definition:
    """A resolved workflow definition, ready to expand."""

    spec: WorkflowNodeSpec
    flat: Workflow  # its own workflow nodes expanded (ids namespaced, param targets rewritten)
    groups: Mapping[str, str]  # flat id of each workflow node inside it -> its type
    hash: str
    files: tuple[tuple[Path, str], ...] = ()  # its file and those of the definitions it uses, with content digests


def _current_version(path: Path) -> str | None:
    try:
        return file_version(path)
    except OSError:
        return None


@dataclass(frozen=True)
class DefinitionSource:
    """What a compiled document's workflow node resolved to, to tell later whether it still would."""

    reference: str
    base_dir: Path
    path: Path
    files: tuple[tuple[Path, str], ...]


# ---- content hash ------------------------------------------------------------------------

_ENCODE = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode


def definition_hash(workflow: Workflow, used: Mapping[str, str]) -> str:
    """Hash of what a definition computes: nodes, param targets and defaults, outputs, and the
    hashes of the definitions its workflow nodes use (`used`, by node id)."""
    document = workflow.to_dict()
    params = {name: [workflow.param_targets(name), workflow.param_default(name)] for name in workflow.params}
    payload = _ENCODE([1, document["nodes"], params, document.get("outputs", {}), dict(used)])
    return hashlib.blake2b(payload.encode("utf-8"), digest_size=8).hexdigest()


# ---- the spec of a definition ----------------------------------------------------------------


def _inner_value(workflow: Workflow, param: str, node_id: str, input_spec: InputSpec) -> Any:
    """What the definition itself gives an input a param sets: the param's default, the
    constant in the node, `Link` (fed inside), or MISSING."""
    default = workflow.param_default(param)
    if default is not None:
        return default
    value = workflow.nodes[node_id].inputs.get(input_spec.name, MISSING)
    if isinstance(value, Link):
        return value
    if value is MISSING:
        return input_spec.default
    return value


def _merged_range(specs: list[InputSpec]) -> Range | None:
    ranges = [spec.range for spec in specs if spec.range is not None]
    if not ranges:
        return None
    lows = [item.min for item in ranges if item.min is not None]
    highs = [item.max for item in ranges if item.max is not None]
    steps = [item.step for item in ranges if item.step is not None]
    return Range(max(lows) if lows else None, min(highs) if highs else None, steps[0] if steps else None)


def _merged_choices(specs: list[InputSpec]) -> tuple[Any, ...] | None:
    lists = [spec.choices for spec in specs if spec.choices is not None]
    if not lists:
        return None
    return tuple(choice for choice in lists[0] if all(choice in other for other in lists[1:]))


def _param_input(workflow: Workflow, name: str, targets: list[tuple[str, InputSpec]]) -> InputSpec:
    """The input a param becomes: the type of the inputs it sets, the tightest of their
    constraints, and the definition's own value as default (optional when fed inside or when
    its targets hold different values)."""
    specs = [input_spec for _, input_spec in targets]
    values = [_inner_value(workflow, name, node_id, input_spec) for node_id, input_spec in targets]
    first = values[0]
    param = workflow.params[name]
    description = param.description if isinstance(param, ParamSpec) and param.description else specs[0].description
    default: Any = MISSING
    optional = False
    if all(value is MISSING for value in values):
        optional = all(spec.optional for spec in specs)
    elif isinstance(first, Link) or any(value != first for value in values[1:]):
        optional = True  # fed inside the definition, or set to several values: kept unless given
    else:
        default = first
    return InputSpec(
        name=name,
        type=specs[0].type,
        default=default,
        optional=optional,
        range=_merged_range(specs),
        choices=_merged_choices(specs),
        multiline=any(spec.multiline for spec in specs),
        placeholder=specs[0].placeholder,
        description=description,
    )


def definition_spec(
    reference: str, source: str, workflow: Workflow, specs: Mapping[str, NodeSpec], hash_: str
) -> WorkflowNodeSpec:
    """The node spec of a definition whose inner nodes have the specs `specs` (by node id)."""
    inputs = []
    for name in workflow.params:
        targets = []
        for path in workflow.param_targets(name):
            node_id, _, input_name = path.partition(".")
            spec = specs.get(node_id)
            input_spec = spec.input_map.get(input_name) if spec is not None else None
            if input_spec is None:
                raise DefinitionError(
                    IssueCode.BAD_WORKFLOW_DEFINITION,
                    f"its param {name!r} sets {path!r}, which is not an input of a node in it",
                )
            targets.append((node_id, input_spec))
        type_names = sorted({input_spec.type.name for _, input_spec in targets})
        if len(type_names) > 1:
            raise DefinitionError(
                IssueCode.BAD_WORKFLOW_DEFINITION,
                f"its param {name!r} sets inputs of different types ({', '.join(type_names)})",
            )
        inputs.append(_param_input(workflow, name, targets))
    outputs = []
    for name, link in workflow.outputs.items():
        producer = specs.get(link.node)
        output_spec = producer.output_map.get(link.output) if producer is not None else None
        if output_spec is None:
            raise DefinitionError(
                IssueCode.BAD_WORKFLOW_DEFINITION, f"its output {name!r} comes from {link}, which it does not have"
            )
        outputs.append(OutputSpec(name, output_spec.type, output_spec.description))
    sinks = any(spec.output_node for spec in specs.values())
    if not outputs and not sinks:
        raise DefinitionError(
            IssueCode.BAD_WORKFLOW_DEFINITION, "it has no outputs and no output nodes, so as a node it would do nothing"
        )
    return WorkflowNodeSpec(
        name=WORKFLOW_TYPE_PREFIX + reference,
        fn=_never_called,
        inputs=tuple(inputs),
        outputs=tuple(outputs),
        category=WORKFLOW_CATEGORY,
        display_name=workflow.name or reference,
        description=workflow.description,
        output_node=sinks,
        cacheable=False,
        takes_context=False,
        reference=reference,
        source=source,
        definition_hash=hash_,
    )


# ---- expansion ---------------------------------------------------------------------------


# Expansion builds entries and links from parts that are valid already (ids joined with
# "/"): constructing them without validation keeps it a fraction of the validation's cost.


def _link(node_id: str, output: str) -> Link:
    return Link.model_construct(node=node_id, output=output)


def _with_inputs(entry: NodeEntry, inputs: dict[str, Any]) -> NodeEntry:
    return NodeEntry.model_construct(type=entry.type, inputs=inputs, pin=entry.pin)


def _prefixed(entry: NodeEntry, prefix: str) -> NodeEntry:
    inputs = {
        name: _link(f"{prefix}/{value.node}", value.output) if isinstance(value, Link) else value
        for name, value in entry.inputs.items()
    }
    return _with_inputs(entry, inputs)


@dataclass
class Expansion:
    workflow: Workflow
    groups: dict[str, str]  # flat id of each expanded workflow node -> its type
    collisions: list[str] = field(default_factory=list)


def expand(workflow: Workflow, used: Mapping[str, Definition], *, keep_param_defaults: bool = True) -> Expansion:
    """`workflow` with each node in `used` replaced by its definition's nodes (ids "node/inner").

    A workflow node's inputs (constants or links) are written into the inner inputs its
    params set, after the definition's own param defaults; links to its outputs are
    redirected to the inner producers; params that set its inputs set the inner ones.
    """
    exits = {
        node_id: {name: _link(f"{node_id}/{link.node}", link.output) for name, link in d.flat.outputs.items()}
        for node_id, d in used.items()
    }

    def relink(value: Any) -> Any:
        if isinstance(value, Link) and value.node in exits:
            return exits[value.node].get(value.output, value)
        return value

    nodes: dict[str, NodeEntry] = {}
    groups: dict[str, str] = {}
    collisions: list[str] = []
    for node_id, entry in workflow.nodes.items():
        definition = used.get(node_id)
        if definition is None:
            inputs = {name: relink(value) for name, value in entry.inputs.items()}
            nodes[node_id] = _with_inputs(entry, inputs)
            continue
        groups[node_id] = entry.type
        groups.update({f"{node_id}/{inner}": kind for inner, kind in definition.groups.items()})
        inner_nodes = {f"{node_id}/{inner}": _prefixed(item, node_id) for inner, item in definition.flat.nodes.items()}
        flat = definition.flat
        assignments: list[tuple[str, Any]] = [
            (param, flat.param_default(param)) for param in flat.params if flat.param_default(param) is not None
        ]
        assignments += [(name, relink(value)) for name, value in entry.inputs.items() if name in flat.params]
        for param, value in assignments:
            for target in flat.param_targets(param):
                inner, _, input_name = target.partition(".")
                inner_entry = inner_nodes[f"{node_id}/{inner}"]
                inner_nodes[f"{node_id}/{inner}"] = _with_inputs(inner_entry, {**inner_entry.inputs, input_name: value})
        collisions += [flat_id for flat_id in inner_nodes if flat_id in workflow.nodes]
        nodes.update(inner_nodes)

    def targets(path: str) -> list[str]:
        node_id, _, input_name = path.partition(".")
        definition = used.get(node_id)
        if definition is None or input_name not in definition.flat.params:
            return [path]
        return [f"{node_id}/{target}" for target in definition.flat.param_targets(input_name)]

    params: dict[str, Any] = {}
    for name, written in workflow.params.items():
        paths = [flat_path for path in workflow.param_targets(name) for flat_path in targets(path)]
        default: Constant = workflow.param_default(name) if keep_param_defaults else None
        description = written.description if isinstance(written, ParamSpec) else ""
        params[name] = ParamSpec(targets=paths, default=default, description=description)
    flat = Workflow.model_construct(
        schema_version=workflow.schema_version,
        name=workflow.name,
        description=workflow.description,
        nodes=nodes,
        params=params,
        outputs={name: relink(link) for name, link in workflow.outputs.items()},
        editor=workflow.editor,
    )
    flat._source_path = workflow.source_path
    return Expansion(flat, groups, collisions)


# ---- resolution --------------------------------------------------------------------------


def locate_definition(
    reference: str, base_dir: Path, library: WorkflowLibrary | None, *, allow_paths: bool = True
) -> tuple[Path, str]:
    """The file of a reference and the source to show for it."""
    if is_path_reference(reference):
        if not allow_paths:
            raise DefinitionError(
                IssueCode.UNKNOWN_WORKFLOW,
                f"{reference!r} is a file path; here workflow nodes may only name library workflows",
            )
        path = Path(reference)
        path = (path if path.is_absolute() else base_dir / path).resolve()
        if not path.is_file():
            raise DefinitionError(IssueCode.UNKNOWN_WORKFLOW, f"there is no workflow file {str(path)!r}")
        return path, str(path)
    if library is None:
        raise DefinitionError(
            IssueCode.UNKNOWN_WORKFLOW,
            f"workflow {reference!r} is referenced by name, but no workflow library is configured "
            "(pass library= to the Executor, or --workflows DIR on the command line)",
        )
    entry = library.find(reference)
    if entry is None:
        suggestion = library.suggest(reference)
        hint = f"; did you mean {suggestion!r}?" if suggestion else ""
        known = ", ".join(library.names()) or "none"
        raise DefinitionError(
            IssueCode.UNKNOWN_WORKFLOW,
            f"there is no workflow {reference!r} in the library{hint} (library: {known})",
        )
    return entry.path, entry.source


class DefinitionResolver:
    """Resolves `workflow:` references for one compilation (each definition once)."""

    def __init__(self, registry: Registry, library: WorkflowLibrary | None, *, allow_paths: bool = True) -> None:
        self.registry = registry
        self.library = library
        # A server refuses path references: a client must not make it read arbitrary files.
        self.allow_paths = allow_paths
        self._resolved: dict[Path, Definition] = {}

    def locate(self, reference: str, base_dir: Path) -> tuple[Path, str]:
        """The file of a reference and the source to show for it."""
        return locate_definition(reference, base_dir, self.library, allow_paths=self.allow_paths)

    def _load(self, path: Path, reference: str) -> Workflow:
        try:
            return self.library.load(path) if self.library is not None else load_workflow(path)
        except OSError as error:
            raise DefinitionError(
                IssueCode.UNKNOWN_WORKFLOW, f"cannot read workflow {reference!r} ({path}): {error.strerror}"
            ) from None
        except WorkflowValidationError as error:
            raise DefinitionError(
                IssueCode.BAD_WORKFLOW_DEFINITION,
                f"workflow {reference!r} ({path}) is not a valid document: {error.issues[0]}",
            ) from None

    def resolve(self, reference: str, base_dir: Path, chain: tuple[tuple[Path, str], ...] = ()) -> Definition:
        """The definition `reference` names; raises DefinitionError. `chain`: the definitions
        being resolved that led here (file, reference), to report cycles."""
        path, source = self.locate(reference, base_dir)
        if any(path == seen for seen, _ in chain):
            start = next(index for index, (seen, _) in enumerate(chain) if seen == path)
            names = [name for _, name in chain[start:]] + [reference]
            raise DefinitionError(
                IssueCode.WORKFLOW_CYCLE, f"workflow definitions use each other in a cycle: {' -> '.join(names)}"
            )
        known = self._resolved.get(path)
        if known is not None:
            if known.spec.reference == reference:
                return known
            # The same file reached under another reference: the spec is named after the reference.
            renamed = dataclasses.replace(known.spec, name=WORKFLOW_TYPE_PREFIX + reference, reference=reference)
            return dataclasses.replace(known, spec=renamed)
        version = _current_version(path)
        workflow = self._load(path, reference)
        inner_chain = (*chain, (path, reference))
        specs: dict[str, NodeSpec] = {}
        used: dict[str, Definition] = {}
        for node_id, entry in workflow.nodes.items():
            try:
                if is_workflow_type(entry.type):
                    child = self.resolve(entry.type[len(WORKFLOW_TYPE_PREFIX):], path.parent, inner_chain)
                    check_pin(entry, child)
                    unknown = sorted(set(entry.inputs) - set(child.spec.input_map))
                    if unknown:
                        raise DefinitionError(
                            IssueCode.UNKNOWN_INPUT,
                            f"{entry.type} has no input {unknown[0]!r}; its inputs: "
                            f"{', '.join(child.spec.input_map) or 'none'}",
                        )
                    used[node_id] = child
                    specs[node_id] = child.spec
                else:
                    spec = self.registry.nodes.get(entry.type)
                    if spec is None:
                        suggestion = self.registry.suggest(entry.type)
                        hint = f"; did you mean {suggestion!r}?" if suggestion else ""
                        raise DefinitionError(IssueCode.UNKNOWN_NODE_TYPE, f"unknown node type {entry.type!r}{hint}")
                    specs[node_id] = spec
            except DefinitionError as error:
                message = f"in workflow {reference!r}, node {node_id!r}: {error.message}"
                raise DefinitionError(error.code, message) from None
        hash_ = definition_hash(workflow, {node_id: d.hash for node_id, d in used.items()})
        try:
            spec = definition_spec(reference, source, workflow, specs, hash_)
        except DefinitionError as error:
            raise DefinitionError(error.code, f"workflow {reference!r}: {error.message}") from None
        expansion = expand(workflow, used)
        if expansion.collisions:
            raise DefinitionError(
                IssueCode.BAD_WORKFLOW_DEFINITION,
                f"in workflow {reference!r}, node ids {', '.join(expansion.collisions)} clash with expanded "
                "inner nodes",
            )
        files = {path: version} if version is not None else {}
        for child in used.values():
            files.update(child.files)
        definition = Definition(spec, expansion.workflow, expansion.groups, hash_, tuple(sorted(files.items())))
        self._resolved[path] = definition
        return definition


def check_pin(entry: NodeEntry, definition: Definition) -> None:
    if entry.pin is not None and entry.pin != definition.hash:
        raise DefinitionError(
            IssueCode.WORKFLOW_CHANGED,
            f"{entry.type} changed since this node was pinned to it (pin {entry.pin}, definition now "
            f"{definition.hash}); check its params and outputs, then set \"pin\": \"{definition.hash}\" "
            "(`graph-engine pin FILE` updates every pin) or remove the pin to always use the current definition",
        )


# ---- compiling a document ------------------------------------------------------------------


def _issue(node_id: str, entry: NodeEntry, error: DefinitionError) -> ValidationIssue:
    return ValidationIssue(
        code=error.code,
        message=f"node {node_id!r} ({entry.type}): {error.message}",
        node_id=node_id,
        location=f"nodes.{node_id}.type",
        got=entry.type,
    )


def _inside(issue: ValidationIssue, groups: Mapping[str, str]) -> ValidationIssue:
    """An issue about an expanded inner node, reworded to name the workflow node(s) around it."""
    node_id = issue.node_id or ""
    parent = node_id.rpartition("/")[0]
    if parent not in groups:
        return issue
    outer = node_id.split("/", 1)[0]
    message = f"inside workflow node {outer!r} ({groups[outer]}), node {node_id!r}: {issue.message}"
    return issue.model_copy(update={"message": message})


def resolve_workflow_nodes(
    workflow: Workflow, registry: Registry, library: WorkflowLibrary | None, *, allow_paths: bool = True
) -> tuple[dict[str, Definition], list[ValidationIssue], list[DefinitionSource]]:
    """The definitions of the document's workflow nodes, the issues of those that fail, and
    where each distinct reference led."""
    resolver = DefinitionResolver(registry, library, allow_paths=allow_paths)
    base_dir = workflow.source_path.parent if workflow.source_path is not None else Path.cwd()
    used: dict[str, Definition] = {}
    by_type: dict[str, Definition] = {}
    sources: list[DefinitionSource] = []
    issues: list[ValidationIssue] = []
    for node_id, entry in workflow.nodes.items():
        if not is_workflow_type(entry.type):
            if entry.pin is not None:
                issues.append(
                    ValidationIssue(
                        code=IssueCode.MISPLACED_PIN,
                        message=f"node {node_id!r} ({entry.type}) has a pin, which only workflow nodes take",
                        node_id=node_id,
                        location=f"nodes.{node_id}.pin",
                    )
                )
            continue
        try:
            definition = by_type.get(entry.type)
            if definition is None:
                reference = entry.type[len(WORKFLOW_TYPE_PREFIX):]
                definition = by_type[entry.type] = resolver.resolve(reference, base_dir)
                path = resolver.locate(reference, base_dir)[0]
                sources.append(DefinitionSource(reference, base_dir, path, definition.files))
            check_pin(entry, definition)
        except DefinitionError as error:
            issues.append(_issue(node_id, entry, error))
            continue
        used[node_id] = definition
    return used, issues, sources


def compile_workflow(
    workflow: Workflow,
    registry: Registry,
    params: Mapping[str, Any] | None = None,
    *,
    params_as_text: bool = False,
    library: WorkflowLibrary | None = None,
    allow_paths: bool = True,
    memo: ValidationMemo | None = None,
) -> CompiledWorkflow:
    """Validate `workflow` like `validate_workflow`, expanding workflow nodes first (see the
    module docstring); raises WorkflowValidationError listing every issue. Without
    `allow_paths`, only library names may be referenced (`workflow:NAME`). `memo` serves the
    validation of the expanded graph (the workflow nodes' own specs are made per compilation)."""
    if not has_workflow_nodes(workflow):
        return validate_workflow(workflow, registry, params, params_as_text=params_as_text, memo=memo)
    used, issues, sources = resolve_workflow_nodes(workflow, registry, library, allow_paths=allow_paths)
    overlay = registry.with_nodes({workflow.nodes[node_id].type: d.spec for node_id, d in used.items()})
    try:
        outer = validate_workflow(workflow, overlay, params, params_as_text=params_as_text)
    except WorkflowValidationError as error:
        failed = {issue.node_id for issue in issues}
        issues += [
            issue
            for issue in error.issues
            if not (issue.code is IssueCode.UNKNOWN_NODE_TYPE and issue.node_id in failed)
        ]
        raise WorkflowValidationError(issues) from None
    if issues:
        raise WorkflowValidationError(issues)
    # Param values are written into the nodes by now: the flat document keeps its params
    # (re-targeted) without defaults, so that its embedded copy re-runs as it ran.
    expansion = expand(outer.workflow, used, keep_param_defaults=False)
    if expansion.collisions:
        raise WorkflowValidationError(
            [
                ValidationIssue(
                    code=IssueCode.INVALID_DOCUMENT,
                    message=f"node id {flat_id!r} clashes with an inner node of an expanded workflow node",
                    node_id=flat_id,
                    location=f"nodes.{flat_id}",
                )
                for flat_id in expansion.collisions
            ]
        )
    try:
        compiled = validate_workflow(expansion.workflow, registry, memo=memo)
    except WorkflowValidationError as error:
        raise WorkflowValidationError([_inside(issue, expansion.groups) for issue in error.issues]) from None
    return dataclasses.replace(compiled, groups=expansion.groups, definitions=tuple(sources))


def definitions_unchanged(
    compiled: CompiledWorkflow, library: WorkflowLibrary | None, *, allow_paths: bool = True
) -> bool:
    """Whether every workflow node of a compiled document would resolve to the same files,
    unchanged since (a compilation memo serves it again only then)."""
    for source in compiled.definitions:
        try:
            if locate_definition(source.reference, source.base_dir, library, allow_paths=allow_paths)[0] != source.path:
                return False
        except DefinitionError:
            return False
        if any(_current_version(path) != version for path, version in source.files):
            return False
    return True


# ---- the library as node types -------------------------------------------------------------


@dataclass(frozen=True)
class LibraryWorkflow:
    """A library workflow with its node spec, or why it cannot be used as a node."""

    entry: LibraryEntry
    spec: WorkflowNodeSpec | None
    problem: str | None = None


def library_workflows(registry: Registry, library: WorkflowLibrary) -> list[LibraryWorkflow]:
    """Every library workflow (sorted by name) with its node spec or its problem."""
    resolver = DefinitionResolver(registry, library)
    found = []
    for entry in library.entries():
        try:
            found.append(LibraryWorkflow(entry, resolver.resolve(entry.name, entry.path.parent).spec))
        except DefinitionError as error:
            found.append(LibraryWorkflow(entry, None, error.message))
    return found


def catalogue(registry: Registry, library: WorkflowLibrary | None) -> dict[str, Any]:
    """The registry's catalogue plus the library's workflows as node types (category "workflows")."""
    data = registry.catalogue()
    if library is None:
        return data
    found = library_workflows(registry, library)
    specs = [item.spec.to_json() for item in found if item.spec is not None]
    problems = [
        LibraryProblem(item.entry.source, f"workflow {item.entry.name!r}: {item.problem}")
        for item in found
        if item.problem is not None
    ]
    data["nodes"] = sorted([*data["nodes"], *specs], key=lambda node: node["type"])
    data["problems"] = [*data["problems"], *(problem.to_json() for problem in [*library.problems, *problems])]
    return data


def update_pins(workflow: Workflow, registry: Registry, library: WorkflowLibrary | None) -> tuple[Workflow, list[str]]:
    """`workflow` with every workflow node pinned to its current definition, and what changed."""
    resolver = DefinitionResolver(registry, library)
    base_dir = workflow.source_path.parent if workflow.source_path is not None else Path.cwd()
    nodes = dict(workflow.nodes)
    changes: list[str] = []
    issues: list[ValidationIssue] = []
    for node_id, entry in workflow.nodes.items():
        if not is_workflow_type(entry.type):
            continue
        try:
            definition = resolver.resolve(entry.type[len(WORKFLOW_TYPE_PREFIX):], base_dir)
        except DefinitionError as error:
            issues.append(_issue(node_id, entry, error))
            continue
        if entry.pin != definition.hash:
            changes.append(f"{node_id} ({entry.type}): {entry.pin or 'unpinned'} -> {definition.hash}")
            nodes[node_id] = entry.model_copy(update={"pin": definition.hash})
    if issues:
        raise WorkflowValidationError(issues)
    updated = workflow.model_copy(update={"nodes": nodes})
    return updated, changes
