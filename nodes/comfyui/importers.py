"""The ComfyUI importers and exporter the diffusion pack contributes (see graph_engine.importing)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graph_engine import Registry, Workflow
from graph_engine.importing import ExportedDocument, ImportedWorkflow
from nodes.comfyui.api_format import is_api_document, parse_api
from nodes.comfyui.convert import graph_to_workflow
from nodes.comfyui.editor_format import is_editor_document, parse_editor
from nodes.comfyui.export import export_api

API_FORMAT = "comfyui-api"
EDITOR_FORMAT = "comfyui-editor"


class ComfyApiImporter:
    """ComfyUI's API format: `{"id": {"class_type", "inputs"}}` (what its server runs)."""

    format = API_FORMAT

    def recognises(self, document: Mapping[str, Any]) -> bool:
        return is_api_document(document)

    def convert(self, document: Mapping[str, Any], registry: Registry) -> ImportedWorkflow:
        return graph_to_workflow(parse_api(document), registry, self.format)


class ComfyEditorImporter:
    """ComfyUI's editor format (LiteGraph: `nodes`, `links`, `widgets_values`, groups, subgraphs)."""

    format = EDITOR_FORMAT

    def recognises(self, document: Mapping[str, Any]) -> bool:
        return is_editor_document(document)

    def convert(self, document: Mapping[str, Any], registry: Registry) -> ImportedWorkflow:
        return graph_to_workflow(parse_editor(document), registry, self.format)


class ComfyApiExporter:
    format = API_FORMAT

    def export(self, workflow: Workflow, registry: Registry) -> ExportedDocument:
        document, warnings = export_api(workflow, registry)
        return ExportedDocument(document, self.format, tuple(warnings))


IMPORTERS = (ComfyEditorImporter(), ComfyApiImporter())
EXPORTERS = (ComfyApiExporter(),)
