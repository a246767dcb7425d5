"""The workflow document: the one JSON format the CLI, the server, the editor and the builder share.

```json
{
  "schema_version": 1,
  "name": "sum",
  "nodes": {
    "a":   {"type": "Const", "inputs": {"value": 2}},
    "sum": {"type": "Add", "inputs": {"x": {"from": "a", "output": "value"}, "y": 3}}
  },
  "params":  {"y": "sum.y"},
  "outputs": {"total": {"from": "sum", "output": "sum"}},
  "editor":  {"positions": {"a": [0, 0]}}
}
```

- Node ids are readable names (letters, digits, `_` and `-`); `/` separates the levels of
  ids that expansion gives the inner nodes of a workflow used as a node (`outer/inner`).
- A node of type `workflow:NAME` (a library workflow) or `workflow:PATH.json` runs another
  workflow as one node: its params are the node's inputs, its outputs the node's outputs.
  `pin` records the definition's content hash; a changed definition is then reported.
- An input is either a link `{"from": node_id, "output": output_name}` or a constant (a JSON
  scalar, null or an array; JSON objects are always links).
- `params` are the workflow's public knobs: a name mapped to one target "node.input", a
  list of targets, or `{"targets": [...], "default": value, "description": "..."}`.
- `outputs` names the values a run returns. Output nodes (sinks such as a file writer)
  run without being listed.
- `editor` is free-form layout metadata; the engine never reads it.

Serialisation is deterministic (sorted keys, two-space indent), so saving a loaded
document reproduces it and diffs stay small.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    JsonValue,
    PrivateAttr,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    StringConstraints,
    Tag,
)
from pydantic import ValidationError as PydanticValidationError

from graph_engine.embedded import embedded_workflow_text
from graph_engine.issues import IssueCode, ValidationIssue, WorkflowValidationError
from graph_engine.migrations import MIGRATIONS, SCHEMA_VERSION, Migrations

NODE_ID_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_\-]*(/[A-Za-z0-9_][A-Za-z0-9_\-]*)*$"
PARAM_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_\-]*$"

NodeId = Annotated[str, StringConstraints(pattern=NODE_ID_PATTERN)]
ParamName = Annotated[str, StringConstraints(pattern=PARAM_NAME_PATTERN)]


class Link(BaseModel):
    """A reference to a node's output by node id and output name."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    node: str = Field(alias="from", description="Id of the producing node.")
    output: str = Field(description="Name of the output on that node.")

    def __str__(self) -> str:
        return f"{self.node}.{self.output}"


Constant = StrictBool | StrictInt | StrictFloat | StrictStr | None | list[JsonValue]


def _input_kind(value: Any) -> str:
    return "link" if isinstance(value, (dict, Link)) else "constant"


InputValue = Annotated[
    Annotated[Link, Tag("link")] | Annotated[Constant, Tag("constant")],
    Discriminator(_input_kind),
]


class Placeholder(BaseModel):
    """Marks a node imported from another tool whose type no pack of ours provides.

    The node is kept (with its links) so that nothing is lost and validation can name what is
    missing; `original` holds what the importer could not express as inputs (e.g. positional
    widget values), so that an exporter can write the node back unchanged.
    """

    model_config = ConfigDict(extra="forbid")

    source: str = Field(description="The tool the node came from, e.g. 'ComfyUI'.")
    original_type: str = Field(description="The node type in that tool.")
    provided_by: str = Field(default="", description="Where to get the node type, if known (e.g. a node pack).")
    original: dict[str, JsonValue] = Field(default_factory=dict, description="Importer data kept for export.")


class NodeEntry(BaseModel):
    """One node of the workflow: its type and its inputs (links or constants)."""

    model_config = ConfigDict(extra="forbid")

    type: str = Field(
        description="Registered node type, e.g. 'KSampler' or 'mypack.Blur', or 'workflow:NAME' / "
        "'workflow:PATH.json' for another workflow used as a node."
    )
    inputs: dict[str, InputValue] = Field(default_factory=dict)
    pin: str | None = Field(
        default=None,
        description="For workflow nodes: the content hash of the definition this node was made with; "
        "validation reports a definition that changed since.",
    )
    placeholder: Placeholder | None = Field(
        default=None, description="Set on imported nodes of a type we do not have: validation reports them."
    )


class ParamSpec(BaseModel):
    """A public knob of the workflow in its long form."""

    model_config = ConfigDict(extra="forbid")

    targets: list[str] = Field(min_length=1, description="Inputs it sets, as 'node_id.input'.")
    default: Constant = Field(default=None, description="Value applied to every target unless overridden.")
    description: str = ""


Param = str | list[str] | ParamSpec


class Workflow(BaseModel):
    """A workflow document (current schema_version)."""

    model_config = ConfigDict(extra="forbid", title="graph-engine workflow")

    schema_version: int = Field(description="Document format version; older versions are migrated on load.")
    name: str = ""
    description: str = ""
    nodes: dict[NodeId, NodeEntry]
    params: dict[ParamName, Param] = Field(default_factory=dict)
    outputs: dict[str, Link] = Field(default_factory=dict)
    editor: dict[str, JsonValue] | None = Field(
        default=None, description="Editor layout metadata (positions, groups...); never affects execution."
    )
    # The file it was loaded from, if any: relative `workflow:PATH` references resolve against its folder.
    _source_path: Path | None = PrivateAttr(default=None)

    @property
    def source_path(self) -> Path | None:
        return self._source_path

    def __eq__(self, other: object) -> bool:
        # Where a document was loaded from is not part of what it says.
        if not isinstance(other, Workflow):
            return NotImplemented
        return self.__dict__ == other.__dict__

    def param_targets(self, name: str) -> list[str]:
        """The "node.input" paths a param sets, whatever form it was written in."""
        param = self.params[name]
        if isinstance(param, str):
            return [param]
        if isinstance(param, list):
            return list(param)
        return list(param.targets)

    def param_default(self, name: str) -> Constant:
        param = self.params[name]
        return param.default if isinstance(param, ParamSpec) else None

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_defaults=True)

    def to_json(self) -> str:
        """Canonical text: sorted keys, two-space indent, trailing newline."""
        return json.dumps(self.to_dict(), sort_keys=True, indent=2, ensure_ascii=False) + "\n"

    def save(self, path: Path | str) -> None:
        Path(path).write_text(self.to_json(), encoding="utf-8")


def _document_issues(error: PydanticValidationError) -> list[ValidationIssue]:
    issues = []
    for problem in error.errors():
        location = [str(part) for part in problem["loc"] if part not in ("link", "constant")]
        node_id = location[1] if len(location) > 1 and location[0] == "nodes" else None
        input_name = location[3] if len(location) > 3 and location[2] == "inputs" else None
        issues.append(
            ValidationIssue(
                code=IssueCode.INVALID_DOCUMENT,
                message=problem["msg"],
                node_id=node_id,
                input=input_name,
                location=".".join(location),
                got=repr(problem.get("input"))[:80],
            )
        )
    return issues


def parse_workflow(data: Mapping[str, Any], migrations: Migrations = MIGRATIONS) -> Workflow:
    """A Workflow from parsed JSON, migrated to the current version; raises WorkflowValidationError."""
    if not isinstance(data, Mapping):
        raise WorkflowValidationError(
            [ValidationIssue(code=IssueCode.INVALID_DOCUMENT, message="a workflow must be a JSON object")]
        )
    upgraded = migrations.upgrade(dict(data))
    try:
        return Workflow.model_validate(upgraded)
    except PydanticValidationError as error:
        raise WorkflowValidationError(_document_issues(error)) from None


def loads_workflow(text: str | bytes, migrations: Migrations = MIGRATIONS) -> Workflow:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise WorkflowValidationError(
            [
                ValidationIssue(
                    code=IssueCode.INVALID_JSON,
                    message=f"not valid JSON: {error.msg} at line {error.lineno} column {error.colno}",
                )
            ]
        ) from None
    return parse_workflow(data, migrations)


def load_workflow(source: Workflow | Mapping[str, Any] | Path | str, migrations: Migrations = MIGRATIONS) -> Workflow:
    """A Workflow from a model, a parsed dict, a path (a JSON file, or a PNG with the workflow
    embedded by a save node), or JSON text."""
    if isinstance(source, Workflow):
        return source
    if isinstance(source, Mapping):
        return parse_workflow(source, migrations)
    if isinstance(source, Path) or (isinstance(source, str) and not source.lstrip().startswith("{")):
        path = Path(source)
        try:
            embedded = embedded_workflow_text(path)
        except ValueError as error:
            raise WorkflowValidationError([ValidationIssue(code=IssueCode.INVALID_DOCUMENT, message=str(error))]) from None
        workflow = loads_workflow(embedded if embedded is not None else path.read_text(encoding="utf-8"), migrations)
        workflow._source_path = path.resolve()
        return workflow
    return loads_workflow(source, migrations)


def workflow_json_schema() -> dict[str, Any]:
    """The JSON Schema of the current workflow format (published as schema/workflow.schema.json)."""
    schema = Workflow.model_json_schema(by_alias=True, mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$comment"] = f"Generated from graph_engine.document.Workflow (schema_version {SCHEMA_VERSION})."
    return schema


def workflow_json_schema_text() -> str:
    return json.dumps(workflow_json_schema(), sort_keys=True, indent=2) + "\n"
