"""Build workflows in Python; get exactly the JSON the CLI and the server run.

```python
b = WorkflowBuilder(registry, name="sum")
a = b.add("Const", "a", value=2)
total = b.add("Add", "total", x=a.value, y=3)   # a.value: the output named "value"
b.param("y", total.input("y"))
b.output("total", total)                         # a single-output node stands for its output
print(b.to_json())
result = b.run(params={"y": 5})                  # result.outputs["total"] == 7
```

Links are type-checked and constants validated as they are added (BuildError says what is
wrong); `build()` then validates the whole document like the CLI would.

Library workflows are node types too: with `WorkflowBuilder(registry, library=library)`,
`b.add("workflow:txt2img", prompt="...")` adds one (pinned to its current content hash) and
`b.workflows()` lists them.
"""

from __future__ import annotations

import difflib
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graph_engine.document import Link, NodeEntry, ParamSpec, Workflow, load_workflow
from graph_engine.executor import EventCallback, Executor, RunResult
from graph_engine.library import LibraryEntry, WorkflowLibrary
from graph_engine.migrations import SCHEMA_VERSION
from graph_engine.registry import Registry, UnknownNodeType
from graph_engine.spec import NodeSpec
from graph_engine.subworkflows import (
    WORKFLOW_TYPE_PREFIX,
    DefinitionError,
    DefinitionResolver,
    WorkflowNodeSpec,
    compile_workflow,
    is_workflow_type,
)
from graph_engine.types import ConstantError, SocketType, check_compatible


class BuildError(ValueError):
    """A node, link, constant, param or output that cannot be added; the message says why."""


@dataclass(frozen=True)
class OutputRef:
    """One output of a node in a builder, usable as an input value of another node."""

    builder: WorkflowBuilder
    node_id: str
    output: str
    type: SocketType

    def link(self) -> Link:
        return Link.model_validate({"from": self.node_id, "output": self.output})

    def __repr__(self) -> str:
        return f"<{self.node_id}.{self.output}: {self.type.name}>"


class NodeHandle:
    """A node added to a builder: `handle.name` / `handle["name"]` are its outputs."""

    def __init__(self, builder: WorkflowBuilder, node_id: str, spec: NodeSpec) -> None:
        self._builder = builder
        self.id = node_id
        self.spec = spec

    def __getitem__(self, output: str) -> OutputRef:
        spec = self.spec.output_map.get(output)
        if spec is None:
            names = ", ".join(self.spec.output_map) or "none"
            raise BuildError(f"node {self.id!r} ({self.spec.name}) has no output {output!r}; its outputs: {names}")
        return OutputRef(self._builder, self.id, output, spec.type)

    def __getattr__(self, output: str) -> OutputRef:
        if output.startswith("_"):
            raise AttributeError(output)
        return self[output]

    def only_output(self) -> OutputRef:
        if len(self.spec.outputs) != 1:
            names = ", ".join(self.spec.output_map) or "none"
            raise BuildError(f'node {self.id!r} ({self.spec.name}) has outputs {names}: pick one, e.g. node["name"]')
        return self[self.spec.outputs[0].name]

    def input(self, name: str) -> str:
        """The "node_id.input" path of one of this node's inputs (for params)."""
        if name not in self.spec.input_map:
            raise BuildError(f"node {self.id!r} ({self.spec.name}) has no input {name!r}")
        return f"{self.id}.{name}"

    def set(self, **inputs: Any) -> NodeHandle:
        """Set or replace inputs (constants, outputs or nodes), with the same checks as add()."""
        self._builder._set_inputs(self.id, inputs)
        return self

    def __repr__(self) -> str:
        return f"<node {self.id}: {self.spec.name}>"


def _snake(name: str) -> str:
    """A default node id from a type: "mypack.BlurImage" -> "blur_image", "workflow:blocks/up.json" -> "up"."""
    base = re.split(r"[.:/\\]", re.sub(r"\.(json|png)$", "", name))[-1]
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", base).lower()
    return re.sub(r"[^a-z0-9_\-]", "_", snake) or "node"


class WorkflowBuilder:
    """A mutable workflow under construction, checked against a registry as it grows."""

    def __init__(
        self, registry: Registry, name: str = "", description: str = "", *, library: WorkflowLibrary | None = None
    ) -> None:
        self.registry = registry
        self.library = library
        self.name = name
        self.description = description
        self._nodes: dict[str, NodeEntry] = {}
        self._specs: dict[str, NodeSpec] = {}
        self._params: dict[str, str | list[str] | ParamSpec] = {}
        self._outputs: dict[str, Link] = {}
        self._editor: dict[str, Any] | None = None
        self._executor: Executor | None = None
        self._executor_lock = threading.Lock()

    # ---- loading --------------------------------------------------------------------

    @classmethod
    def load(
        cls,
        source: Workflow | Mapping[str, Any] | Path | str,
        registry: Registry,
        *,
        library: WorkflowLibrary | None = None,
    ) -> WorkflowBuilder:
        """A builder holding an existing workflow (a path, JSON text, dict or Workflow)."""
        workflow = load_workflow(source)
        builder = cls(registry, workflow.name, workflow.description, library=library)
        base_dir = workflow.source_path.parent if workflow.source_path is not None else Path.cwd()
        for node_id, entry in workflow.nodes.items():
            try:
                spec = builder._spec(entry.type, base_dir)
            except BuildError as error:
                raise BuildError(f"node {node_id!r}: {error}") from None
            builder._nodes[node_id] = entry
            builder._specs[node_id] = spec
        builder._params = dict(workflow.params)
        builder._outputs = dict(workflow.outputs)
        builder._editor = workflow.editor
        return builder

    # ---- nodes ----------------------------------------------------------------------

    def _spec(self, node_type: str | NodeSpec, base_dir: Path) -> NodeSpec:
        if isinstance(node_type, str) and is_workflow_type(node_type):
            try:
                resolver = DefinitionResolver(self.registry, self.library)
                return resolver.resolve(node_type[len(WORKFLOW_TYPE_PREFIX):], base_dir).spec
            except DefinitionError as error:
                raise BuildError(f"{node_type}: {error.message}") from None
        try:
            return self.registry.resolve(node_type)
        except UnknownNodeType as error:
            raise BuildError(str(error)) from None

    def workflows(self) -> list[LibraryEntry]:
        """The library's workflows, each usable as `add("workflow:NAME", ...)`."""
        return self.library.entries() if self.library is not None else []

    def add(self, node_type: str | NodeSpec, node_id: str | None = None, /, **inputs: Any) -> NodeHandle:
        """Add a node; inputs are constants, OutputRefs, or single-output NodeHandles.

        A workflow node ("workflow:NAME") is pinned to the current hash of its definition."""
        spec = self._spec(node_type, Path.cwd())
        if node_id is None:
            node_id = self._fresh_id(_snake(spec.name))
        elif node_id in self._nodes:
            raise BuildError(f"there is already a node {node_id!r}")
        elif not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_\-]*", node_id):
            raise BuildError(f"node id {node_id!r} must be letters, digits, '_' and '-'")
        self._specs[node_id] = spec
        pin = spec.definition_hash if isinstance(spec, WorkflowNodeSpec) else None
        self._nodes[node_id] = NodeEntry(type=spec.name, pin=pin)
        try:
            self._set_inputs(node_id, inputs)
        except BuildError:
            del self._specs[node_id], self._nodes[node_id]
            raise
        return NodeHandle(self, node_id, spec)

    def node(self, node_id: str) -> NodeHandle:
        """The handle of an existing node (e.g. after load())."""
        if node_id not in self._nodes:
            raise BuildError(f"no node {node_id!r}; nodes: {', '.join(self._nodes) or 'none'}")
        return NodeHandle(self, node_id, self._specs[node_id])

    def _fresh_id(self, base: str) -> str:
        if base not in self._nodes:
            return base
        number = 2
        while f"{base}_{number}" in self._nodes:
            number += 1
        return f"{base}_{number}"

    def _set_inputs(self, node_id: str, inputs: Mapping[str, Any]) -> None:
        spec = self._specs[node_id]
        entry = self._nodes[node_id]
        values = dict(entry.inputs)
        for name, value in inputs.items():
            input_spec = spec.input_map.get(name)
            if input_spec is None:
                close = difflib.get_close_matches(name, list(spec.input_map), n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise BuildError(
                    f"node {node_id!r} ({spec.name}) has no input {name!r}{hint} "
                    f"(inputs: {', '.join(spec.input_map) or 'none'})"
                )
            if isinstance(value, NodeHandle):
                value = value.only_output()
            if isinstance(value, OutputRef):
                if value.builder is not self:
                    raise BuildError(f"input {name!r}: {value!r} belongs to another workflow builder")
                reason = check_compatible(value.type, input_spec.type)
                if reason is not None:
                    raise BuildError(
                        f"cannot connect {value.node_id}.{value.output} ({value.type.name}) to "
                        f"{node_id}.{name} ({input_spec.type.name}): {reason}"
                    )
                values[name] = value.link()
            else:
                try:
                    values[name] = input_spec.check_constant(value)
                except ConstantError as error:
                    raise BuildError(f"input {node_id}.{name} ({input_spec.type.name}): {error}") from None
        self._nodes[node_id] = entry.model_copy(update={"inputs": values})

    # ---- params and outputs ---------------------------------------------------------

    def param(self, name: str, *targets: str, default: Any = None, description: str = "") -> None:
        """Expose inputs (given as "node.input" paths, e.g. `node.input("seed")`) as a param."""
        if not targets:
            raise BuildError(f"param {name!r} needs at least one target")
        for target in targets:
            node_id, _, input_name = target.partition(".")
            if node_id not in self._nodes or input_name not in self._specs[node_id].input_map:
                raise BuildError(f"param {name!r}: {target!r} is not an input of a node in this workflow")
        if default is None and not description:
            self._params[name] = targets[0] if len(targets) == 1 else list(targets)
        else:
            self._params[name] = ParamSpec(targets=list(targets), default=default, description=description)

    def output(self, name: str, source: OutputRef | NodeHandle) -> None:
        """Name a value the workflow returns."""
        if isinstance(source, NodeHandle):
            source = source.only_output()
        if source.builder is not self:
            raise BuildError(f"output {name!r}: {source!r} belongs to another workflow builder")
        self._outputs[name] = source.link()

    # ---- results --------------------------------------------------------------------

    def build(self, validate: bool = True) -> Workflow:
        """The workflow document; with `validate`, raises WorkflowValidationError if incomplete."""
        workflow = Workflow(
            schema_version=SCHEMA_VERSION,
            name=self.name,
            description=self.description,
            nodes=dict(self._nodes),
            params=dict(self._params),
            outputs=dict(self._outputs),
            editor=self._editor,
        )
        if validate:
            compile_workflow(workflow, self.registry, library=self.library)
        return workflow

    def to_json(self) -> str:
        return self.build().to_json()

    def save(self, path: Path | str) -> None:
        self.build().save(path)

    @property
    def executor(self) -> Executor:
        """The in-process executor this builder runs on (created on first use; keeps its cache)."""
        with self._executor_lock:
            if self._executor is None:
                self._executor = Executor(self.registry, library=self.library)
            return self._executor

    def run(
        self,
        params: Mapping[str, Any] | None = None,
        *,
        executor: Executor | None = None,
        outputs: Sequence[str] | None = None,
        on_event: EventCallback | Iterable[EventCallback] | None = None,
    ) -> RunResult:
        """Run in-process; `result.outputs` holds the workflow outputs as Python objects."""
        runner = executor if executor is not None else self.executor
        return runner.run(self.build(validate=False), params, outputs=outputs, on_event=on_event)
