"""The ComfyUI importers and exporter the diffusion pack contributes (see graph_engine.importing)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from graph_engine import Registry, Workflow
from graph_engine.importing import ExportedDocument, ImportedWorkflow
from nodes.comfyui.api_format import is_api_document, parse_api
from nodes.comfyui.convert import graph_to_workflow
from nodes.comfyui.editor_format import is_editor_document, parse_editor
from nodes.comfyui.export import export_api
from nodes.comfyui.graph import ComfyGraph

API_FORMAT = "comfyui-api"
EDITOR_FORMAT = "comfyui-editor"


@dataclass(frozen=True)
class ComfyImporter:
    """One of ComfyUI's formats: how to recognise a document in it, and how to parse it into the
    graph that both formats share before conversion to our workflow."""

    format: str
    is_document: Callable[[Mapping[str, Any]], bool]
    parse: Callable[[Mapping[str, Any]], ComfyGraph]

    def recognises(self, document: Mapping[str, Any]) -> bool:
        return self.is_document(document)

    def convert(self, document: Mapping[str, Any], registry: Registry) -> ImportedWorkflow:
        return graph_to_workflow(self.parse(document), registry, self.format)


class ComfyApiExporter:
    format = API_FORMAT

    def export(self, workflow: Workflow, registry: Registry) -> ExportedDocument:
        document, warnings = export_api(workflow, registry)
        return ExportedDocument(document, self.format, tuple(warnings))


IMPORTERS = (
    # The editor format (LiteGraph: `nodes`, `links`, `widgets_values`, groups, subgraphs) is tried first.
    ComfyImporter(EDITOR_FORMAT, is_editor_document, parse_editor),
    # The API format: `{"id": {"class_type", "inputs"}}` (what ComfyUI's server runs).
    ComfyImporter(API_FORMAT, is_api_document, parse_api),
)
EXPORTERS = (ComfyApiExporter(),)
