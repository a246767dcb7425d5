"""Importing workflows written by other tools, and exporting ours to them.

`import_workflow(data, registry)` reads a JSON document or a PNG with documents in its text
chunks, recognises the format and returns our workflow. Our own format (also embedded in the
PNGs our save nodes write) is handled here; other formats come from node packs, which
contribute `WorkflowImporter`s and `WorkflowExporter`s (`NodePack(importers=..., exporters=...)`),
so the engine itself knows no other tool.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Protocol

from graph_engine.document import Workflow, parse_workflow
from graph_engine.embedded import PNG_SIGNATURE, WORKFLOW_KEY, png_text

if TYPE_CHECKING:
    from graph_engine.registry import Registry

NATIVE_FORMAT = "graph-engine"


class UnreadableDocument(ValueError):
    """The input is no workflow in any format we know (the message says what was expected)."""


@dataclass(frozen=True)
class ImportedWorkflow:
    workflow: Workflow
    format: str  # NATIVE_FORMAT or the importer's format name
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class ExportedDocument:
    document: dict[str, Any]
    format: str
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class ExportIssue:
    node_id: str
    node_type: str
    message: str

    def __str__(self) -> str:
        return f"node {self.node_id!r} ({self.node_type}): {self.message}"


@dataclass
class ExportError(Exception):
    """Some nodes cannot be written in the target format; `issues` names each of them."""

    format: str
    issues: list[ExportIssue] = field(default_factory=list)

    def __str__(self) -> str:
        lines = "\n".join(f"  - {issue}" for issue in self.issues)
        return f"cannot export to {self.format} ({len(self.issues)} node(s) do not map):\n{lines}"


class WorkflowImporter(Protocol):
    """Reads one foreign format. `recognises` must be cheap and never raise."""

    format: str  # e.g. "comfyui-api"

    def recognises(self, document: Mapping[str, Any]) -> bool: ...

    def convert(self, document: Mapping[str, Any], registry: Registry) -> ImportedWorkflow:
        """Our workflow; raises UnreadableDocument if the document is malformed."""
        ...


class WorkflowExporter(Protocol):
    format: str

    def export(self, workflow: Workflow, registry: Registry) -> ExportedDocument:
        """The document in this format; raises ExportError naming the nodes that do not map."""
        ...


def _is_native(document: Mapping[str, Any]) -> bool:
    return "schema_version" in document and isinstance(document.get("nodes"), Mapping)


def _png_documents(data: bytes) -> list[tuple[str, Any]]:
    """The JSON objects in a PNG's text chunks, the "workflow" chunk first (it keeps the most)."""
    from PIL import Image  # only PNG inputs pay for Pillow

    try:
        texts = png_text(io.BytesIO(data))
    except (Image.DecompressionBombError, OSError, SyntaxError, ValueError) as error:
        raise UnreadableDocument(f"not a readable PNG file: {error}") from None
    documents = []
    for key in sorted(texts, key=lambda name: name != WORKFLOW_KEY):
        try:
            value = json.loads(texts[key])
        except json.JSONDecodeError:
            continue
        if isinstance(value, Mapping):
            documents.append((f"the PNG's {key!r} text chunk", value))
    if not documents:
        keys = ", ".join(sorted(texts)) or "none"
        raise UnreadableDocument(f"the PNG carries no workflow (no JSON text chunk; its text chunks: {keys})")
    return documents


def _candidates(data: bytes | str) -> list[tuple[str, Any]]:
    if isinstance(data, bytes) and data.startswith(PNG_SIGNATURE):
        return _png_documents(data)
    try:
        return [("the document", json.loads(data))]
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise UnreadableDocument(f"neither JSON nor a PNG: {error}") from None


def import_workflow(
    data: bytes | str,
    registry: Registry,
    importers: Sequence[WorkflowImporter] | None = None,
    *,
    name: str = "",
) -> ImportedWorkflow:
    """Our workflow from `data` (JSON text or PNG bytes) in our format or any importer's.

    `importers` defaults to those of the registry's packs; `name` (e.g. the file's stem) names a
    workflow whose document gives it none, as other tools' files do. Raises UnreadableDocument
    when no format fits, WorkflowValidationError when a document in our format is malformed.
    """
    imported = _import(data, registry, importers)
    if imported.workflow.name or not name:
        return imported
    return replace(imported, workflow=imported.workflow.model_copy(update={"name": name}))


def _import(
    data: bytes | str, registry: Registry, importers: Sequence[WorkflowImporter] | None
) -> ImportedWorkflow:
    importers = list(registry.importers if importers is None else importers)
    candidates = _candidates(data)
    for _, document in candidates:
        if not isinstance(document, Mapping):
            continue
        if _is_native(document):
            return ImportedWorkflow(parse_workflow(document), NATIVE_FORMAT)
        for importer in importers:
            if importer.recognises(document):
                return importer.convert(document, registry)
    known = ", ".join([NATIVE_FORMAT, *(importer.format for importer in importers)])
    where = " or ".join(label for label, _ in candidates)
    raise UnreadableDocument(f"{where} is in no workflow format we can read (known formats: {known})")


def export_workflow(workflow: Workflow, format: str, registry: Registry) -> ExportedDocument:
    """`workflow` written in `format` by the registry's exporter for it."""
    for exporter in registry.exporters:
        if exporter.format == format:
            return exporter.export(workflow, registry)
    known = ", ".join(exporter.format for exporter in registry.exporters) or "none"
    raise ValueError(f"no exporter for {format!r} (available: {known})")


__all__ = [
    "NATIVE_FORMAT",
    "ExportError",
    "ExportIssue",
    "ExportedDocument",
    "ImportedWorkflow",
    "UnreadableDocument",
    "WorkflowExporter",
    "WorkflowImporter",
    "export_workflow",
    "import_workflow",
]
