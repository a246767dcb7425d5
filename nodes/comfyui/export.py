"""Our workflow -> ComfyUI's API format, for the nodes that map (and placeholders, written back as they came).

Param defaults are written in first, so the document runs as `graph-engine run` would without
--set. A node that does not map, or an input of ours set to a value ComfyUI cannot express,
fails the export with every such node named (ExportError).
"""

from __future__ import annotations

from typing import Any

from graph_engine import Link, NodeEntry, Registry, Workflow
from graph_engine.importing import ExportError, ExportIssue
from graph_engine.spec import MISSING
from graph_engine.validation import assign_params
from nodes.comfyui.convert import SOURCE
from nodes.comfyui.mapping import BY_OUR_TYPE, NodeMapping

FORMAT = "comfyui-api"


class _Exporter:
    def __init__(self, workflow: Workflow, registry: Registry) -> None:
        self.workflow = workflow
        self.registry = registry
        self.issues: list[ExportIssue] = []
        self.warnings: list[str] = []

    def fail(self, node_id: str, entry: NodeEntry, message: str) -> None:
        self.issues.append(ExportIssue(node_id, entry.type, message))

    def slot(self, link: Link, node_id: str, entry: NodeEntry) -> list[Any] | None:
        source = self.workflow.nodes.get(link.node)
        if source is None:
            self.fail(node_id, entry, f"links to node {link.node!r}, which is not in the workflow")
            return None
        if source.placeholder is not None:
            names = source.placeholder.original.get("outputs")
            if isinstance(names, list) and link.output in names:
                return [link.node, names.index(link.output)]
            prefix, _, index = link.output.partition("_")
            if prefix == "output" and index.isdigit():
                return [link.node, int(index)]
        mapping = BY_OUR_TYPE.get(source.type)
        if mapping is not None and link.output in mapping.outputs:
            return [link.node, mapping.outputs.index(link.output)]
        if mapping is not None:  # the source itself is reported; this is about the link
            self.fail(node_id, entry, f"links to output {link.output!r} of {link.node!r}, which ComfyUI lacks")
        return None

    def placeholder(self, node_id: str, entry: NodeEntry) -> dict[str, Any] | None:
        placeholder = entry.placeholder
        assert placeholder is not None
        if placeholder.source != SOURCE:
            self.fail(node_id, entry, f"a placeholder for a {placeholder.source} node; ComfyUI cannot run it")
            return None
        inputs: dict[str, Any] = dict(placeholder.original.get("inputs") or {})  # type: ignore[arg-type]
        for name, value in entry.inputs.items():
            if isinstance(value, Link):
                inputs[name] = self.slot(value, node_id, entry)
            else:
                inputs[name] = {"__value__": value} if isinstance(value, list) else value
        return {"class_type": placeholder.original_type, "inputs": inputs}

    def mapped(self, node_id: str, entry: NodeEntry, mapping: NodeMapping) -> dict[str, Any] | None:
        spec = self.registry.nodes[entry.type]
        links = {ours: comfy for comfy, ours in mapping.links.items()}
        widgets = mapping.ours_to_widget()
        inputs: dict[str, Any] = dict(mapping.comfy_only)
        before = len(self.issues)

        def warn(message: str) -> None:
            self.warnings.append(f"node {node_id!r} ({entry.type}): {message}")

        for input_spec in spec.inputs:
            name = input_spec.name
            value = entry.inputs.get(name, input_spec.default)
            if isinstance(value, Link):
                comfy_name = links.get(name) or (widgets[name].comfy if name in widgets else None)
                if comfy_name is None and not (mapping.vae_from_graph and name == "vae"):
                    self.fail(node_id, entry, f"input {name!r} is linked, and ComfyUI's {mapping.comfy} lacks it")
                elif comfy_name is not None:
                    inputs[comfy_name] = self.slot(value, node_id, entry)
            elif name in widgets:
                widget = widgets[name]
                try:
                    inputs[widget.comfy] = widget.to_comfy(value, warn) if widget.to_comfy else value
                except ValueError as error:
                    self.fail(node_id, entry, f"input {name!r}: {error}")
            elif value is not MISSING and value != input_spec.default:
                self.fail(node_id, entry, f"input {name!r} = {value!r}: ComfyUI's {mapping.comfy} has no such input")
        if mapping.before_export is not None:
            mapping.before_export(inputs)
        return inputs if len(self.issues) == before else None

    def node(self, node_id: str, entry: NodeEntry) -> dict[str, Any] | None:
        if entry.placeholder is not None:
            return self.placeholder(node_id, entry)
        mapping = BY_OUR_TYPE.get(entry.type)
        if mapping is None or entry.type not in self.registry.nodes:
            self.fail(node_id, entry, "no ComfyUI counterpart")
            return None
        inputs = self.mapped(node_id, entry, mapping)
        return None if inputs is None else {"class_type": mapping.comfy, "inputs": inputs}

    def document(self) -> dict[str, Any]:
        titles = (self.workflow.editor or {}).get("titles") or {}
        document: dict[str, Any] = {}
        for node_id, entry in self.workflow.nodes.items():
            exported = self.node(node_id, entry)
            if exported is not None:
                title = titles.get(node_id) if isinstance(titles, dict) else None
                exported["_meta"] = {"title": title if isinstance(title, str) else node_id}
                document[node_id] = exported
        sinks = [node_id for node_id, entry in self.workflow.nodes.items()
                 if entry.type in self.registry.nodes and self.registry.nodes[entry.type].output_node]
        if self.workflow.outputs and not sinks:
            names = ", ".join(self.workflow.outputs)
            self.warnings.append(f"ComfyUI runs output nodes only and this workflow has none: outputs {names} are lost")
        return document


def export_api(workflow: Workflow, registry: Registry) -> tuple[dict[str, Any], list[str]]:
    """The API-format document and warnings; raises ExportError naming every node that does not map."""
    exporter = _Exporter(assign_params(workflow, registry, {}), registry)
    document = exporter.document()
    if exporter.issues:
        raise ExportError(FORMAT, exporter.issues)
    return document, exporter.warnings
