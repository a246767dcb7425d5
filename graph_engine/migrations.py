"""Upgrading workflow documents written with an older `schema_version`.

A migration step turns a raw document (parsed JSON) of version v into version v + 1.
Documents are upgraded step by step to the current version before the pydantic model sees
them, so the model only ever describes the current format.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from graph_engine.issues import IssueCode, ValidationIssue, WorkflowValidationError

SCHEMA_VERSION = 1

MigrationStep = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class Migrations:
    """Steps by source version: `steps[v]` upgrades a version-v document to version v + 1."""

    current: int = SCHEMA_VERSION
    steps: Mapping[int, MigrationStep] = field(default_factory=lambda: MappingProxyType({}))
    oldest: int = 1

    def upgrade(self, document: dict[str, Any]) -> dict[str, Any]:
        """Return `document` upgraded to the current version; raise on versions we cannot read."""
        version = document.get("schema_version")
        if isinstance(version, bool) or not isinstance(version, int):
            raise _version_error(
                f"schema_version must be an integer (this engine writes {self.current}), got {version!r}",
                got=repr(version),
                expected=str(self.current),
            )
        if version > self.current:
            raise _version_error(
                f"the workflow has schema_version {version}, written by a newer graph-engine; "
                f"this one reads versions {self.oldest} to {self.current}",
                got=str(version),
                expected=f"<= {self.current}",
            )
        if version < self.oldest:
            raise _version_error(
                f"schema_version {version} is older than the oldest supported version {self.oldest}",
                got=str(version),
                expected=f">= {self.oldest}",
            )
        while version < self.current:
            step = self.steps.get(version)
            if step is None:
                raise _version_error(f"no migration from schema_version {version}", got=str(version))
            document = step(dict(document))
            version += 1
            document["schema_version"] = version
        return document


def _version_error(message: str, got: str, expected: str | None = None) -> WorkflowValidationError:
    return WorkflowValidationError(
        [
            ValidationIssue(
                code=IssueCode.UNSUPPORTED_SCHEMA_VERSION,
                message=message,
                location="schema_version",
                got=got,
                expected=expected,
            )
        ]
    )


# Version 1 is the first published format, so there is nothing to upgrade from yet; new
# versions add their step here.
MIGRATIONS = Migrations()
