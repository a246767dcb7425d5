"""Validation issues: one error model used by the CLI, the Python API and the server.

Every problem found before a run is a `ValidationIssue` with a machine-readable `code`, a
human `message`, and where it is (`node_id`, `input`, and a `location` path into the
document). `WorkflowValidationError` carries all of them at once.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from pydantic import BaseModel, ConfigDict


class IssueCode(str, Enum):
    INVALID_JSON = "invalid_json"
    INVALID_DOCUMENT = "invalid_document"
    UNSUPPORTED_SCHEMA_VERSION = "unsupported_schema_version"
    UNKNOWN_NODE_TYPE = "unknown_node_type"
    MISSING_NODE_TYPE = "missing_node_type"  # a placeholder for an imported node type we lack
    UNKNOWN_INPUT = "unknown_input"
    MISSING_INPUT = "missing_input"
    UNKNOWN_NODE = "unknown_node"
    UNKNOWN_OUTPUT = "unknown_output"
    TYPE_MISMATCH = "type_mismatch"
    WRONG_TYPE = "wrong_type"
    OUT_OF_RANGE = "out_of_range"
    NOT_A_CHOICE = "not_a_choice"
    LINK_REQUIRED = "link_required"
    CYCLE = "cycle"
    NO_OUTPUTS = "no_outputs"
    BAD_PARAM_TARGET = "bad_param_target"
    PARAM_TYPE_CONFLICT = "param_type_conflict"
    UNKNOWN_PARAM = "unknown_param"
    UNKNOWN_WORKFLOW = "unknown_workflow"
    BAD_WORKFLOW_DEFINITION = "bad_workflow_definition"
    WORKFLOW_CYCLE = "workflow_cycle"
    WORKFLOW_CHANGED = "workflow_changed"
    MISPLACED_PIN = "misplaced_pin"


class ValidationIssue(BaseModel):
    """One problem with a workflow (or with the parameter values given for a run)."""

    model_config = ConfigDict(frozen=True)

    code: IssueCode
    message: str
    node_id: str | None = None
    input: str | None = None
    location: str = ""
    expected: str | None = None
    got: str | None = None
    suggestion: str | None = None

    def __str__(self) -> str:
        where = self.location or "workflow"
        text = f"{where}: {self.message} [{self.code.value}]"
        if self.suggestion:
            text += f" (did you mean {self.suggestion!r}?)"
        return text


class WorkflowValidationError(Exception):
    """A workflow failed validation; `issues` lists every problem found."""

    def __init__(self, issues: list[ValidationIssue]) -> None:
        self.issues = issues
        count = len(issues)
        lines = "\n".join(f"  - {issue}" for issue in issues)
        super().__init__(f"workflow is invalid ({count} problem{'s' if count != 1 else ''}):\n{lines}")

    def to_json(self) -> list[dict[str, Any]]:
        return [issue.model_dump(mode="json") for issue in self.issues]
