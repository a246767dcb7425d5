"""A ComfyUI graph (from either file format) -> our workflow document, with warnings.

Mapped nodes get our type, input names and values; the rest become placeholders that keep
their links and values and that validation reports by name (with the pack they come from).
ComfyUI ids are kept as node ids, so its error messages and ours name the same nodes.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from graph_engine import Link, NodeEntry, Registry, Workflow
from graph_engine.document import Placeholder
from graph_engine.importing import ImportedWorkflow
from graph_engine.migrations import SCHEMA_VERSION
from nodes.comfyui.graph import ComfyGraph, ComfyLink, ComfyNode, our_node_id
from nodes.comfyui.mapping import BY_COMFY_TYPE, NodeMapping
from nodes.comfyui.packs import provided_by

SOURCE = "ComfyUI"
PLACEHOLDER_PREFIX = "comfyui:"
# Params made for the usual knobs when the graph has exactly one node they belong to.
CONVENTIONAL_PARAMS: dict[str, tuple[tuple[str, ...], str]] = {
    "checkpoint": (("CheckpointLoader",), "checkpoint"),
    "seed": (("KSampler", "KSamplerAdvanced"), "seed"),
    "steps": (("KSampler", "KSamplerAdvanced"), "steps"),
    "cfg": (("KSampler", "KSamplerAdvanced"), "cfg"),
    "sampler": (("KSampler", "KSamplerAdvanced"), "sampler"),
    "scheduler": (("KSampler", "KSamplerAdvanced"), "scheduler"),
    "denoise": (("KSampler",), "denoise"),
    "width": (("EmptyLatent",), "width"),
    "height": (("EmptyLatent",), "height"),
    "batch": (("EmptyLatent",), "batch"),
    "image": (("LoadImage",), "image"),
}
VAE_SOURCES = {"CheckpointLoader": "vae", "VAELoader": "vae"}


def _is_constant(value: Any) -> bool:
    if isinstance(value, list):
        return all(_is_constant(item) for item in value)
    return value is None or isinstance(value, (bool, int, float, str))


class _Converter:
    def __init__(self, graph: ComfyGraph, registry: Registry) -> None:
        self.graph = graph
        self.registry = registry
        self.warnings: list[str] = list(graph.warnings)
        self.ids = {comfy_id: our_node_id(comfy_id) for comfy_id in graph.nodes}
        self.nodes: dict[str, NodeEntry] = {}

    def warn_for(self, node: ComfyNode) -> Callable[[str], None]:
        return lambda message: self.warnings.append(f"node {self.ids[node.id]} ({node.class_type}): {message}")

    def output_name(self, link: ComfyLink, consumer: ComfyNode, input_name: str) -> str | None:
        source = self.graph.nodes.get(link.node)
        if source is None:
            self.warn_for(consumer)(f"input {input_name!r} links to node {link.node!r}, which is not in the document")
            return None
        mapping = BY_COMFY_TYPE.get(source.class_type)
        if mapping is None:  # a placeholder: the editor's output name, else the slot
            names = source.output_names
            return names[link.slot] if link.slot < len(names) and names[link.slot] else f"output_{link.slot}"
        if link.slot >= len(mapping.outputs):
            self.warn_for(consumer)(
                f"input {input_name!r} links to output {link.slot} of node {link.node!r} ({source.class_type}), "
                f"which has {len(mapping.outputs)} output(s)"
            )
            return None
        return mapping.outputs[link.slot]

    def link(self, link: ComfyLink, consumer: ComfyNode, input_name: str) -> dict[str, str] | None:
        output = self.output_name(link, consumer, input_name)
        return None if output is None else {"from": self.ids[link.node], "output": output}

    def mapped(self, node: ComfyNode, mapping: NodeMapping) -> NodeEntry:
        warn = self.warn_for(node)
        if mapping.note:
            warn(mapping.note)
        inputs: dict[str, Any] = {}
        for name, value in node.inputs.items():
            widget = mapping.widget(name)
            ours = mapping.links.get(name) or (widget.ours if widget else None)
            if ours is None:
                if not (widget and widget.ours is None):  # a frontend-only widget is expected; others are news
                    warn(f"input {name!r} has no counterpart here; left out")
                continue
            if isinstance(value, ComfyLink):
                link = self.link(value, node, name)
                if link is not None:
                    inputs[ours] = link
            elif widget is not None and widget.to_ours is not None:
                inputs[ours] = widget.to_ours(value, warn)
            else:
                inputs[ours] = value
        if mapping.after_import is not None:
            mapping.after_import(inputs, warn)
        if mapping.file_input is not None:
            self.check_file(node, inputs, *mapping.file_input)
        return NodeEntry(type=mapping.ours, inputs=inputs)

    def check_file(self, node: ComfyNode, inputs: Mapping[str, Any], name: str, folder: str) -> None:
        value = inputs.get(name)
        # ComfyUI names files with their extension, relative to its folders; names without one are
        # ours (a bundled model, a Hub id), and an existing path needs nothing.
        if isinstance(value, str) and Path(value).suffix and not Path(value).exists():
            self.warn_for(node)(
                f"{name} {value!r} names a file in ComfyUI's {folder} folder: give its path here "
                f"(--set {self.ids[node.id]}.{name}=PATH)"
            )

    def placeholder(self, node: ComfyNode) -> NodeEntry:
        inputs: dict[str, Any] = {}
        kept: dict[str, Any] = {}
        for name, value in node.inputs.items():
            if isinstance(value, ComfyLink):
                link = self.link(value, node, name)
                if link is not None:
                    inputs[name] = link
            elif _is_constant(value):
                inputs[name] = value
            else:
                kept[name] = value
        original: dict[str, Any] = {}
        if kept:
            original["inputs"] = kept
        if node.widgets_values is not None:
            original["widgets_values"] = node.widgets_values
        if node.output_names:
            original["outputs"] = list(node.output_names)
        where = provided_by(node.class_type, node.registry_id)
        self.warnings.append(
            f"node {self.ids[node.id]} ({node.class_type}) has no counterpart here"
            + (f": it comes from {where}" if where else "")
        )
        return NodeEntry(
            type=PLACEHOLDER_PREFIX + node.class_type,
            inputs=inputs,
            placeholder=Placeholder(
                source=SOURCE, original_type=node.class_type, provided_by=where, original=original
            ),
        )

    def convert_nodes(self) -> None:
        for comfy_id, node in self.graph.nodes.items():
            mapping = BY_COMFY_TYPE.get(node.class_type)
            if mapping is not None and mapping.ours not in self.registry.nodes:
                mapping = None  # e.g. a registry without the diffusion pack: keep the node as it is
            self.nodes[self.ids[comfy_id]] = self.mapped(node, mapping) if mapping else self.placeholder(node)
        for comfy_id, node in self.graph.nodes.items():
            mapping = BY_COMFY_TYPE.get(node.class_type)
            if mapping is not None and mapping.vae_from_graph and "vae" not in self.nodes[self.ids[comfy_id]].inputs:
                self.add_vae(self.ids[comfy_id])

    # ---- the VAE that ComfyUI's latent nodes do without -------------------------------------------

    def consumers(self) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {node_id: [] for node_id in self.nodes}
        for node_id in sorted(self.nodes):
            for value in self.nodes[node_id].inputs.values():
                if isinstance(value, Link) and value.node in found:
                    found[value.node].append(node_id)
        return found

    def add_vae(self, node_id: str) -> None:
        """Link the VAE that decodes (or encoded) this latent: the nearest VAE input downstream,
        else the graph's only VAE source."""
        consumers = self.consumers()
        queue, seen = deque([node_id]), {node_id}
        while queue:
            current = queue.popleft()
            vae = self.nodes[current].inputs.get("vae")
            if current != node_id and isinstance(vae, Link):
                self.set_input(node_id, "vae", vae)
                return
            for consumer in consumers[current]:
                if consumer not in seen:
                    seen.add(consumer)
                    queue.append(consumer)
        sources = [
            (source_id, VAE_SOURCES[entry.type]) for source_id, entry in sorted(self.nodes.items())
            if entry.type in VAE_SOURCES
        ]
        if not sources:
            self.warnings.append(f"node {node_id} ({self.nodes[node_id].type}): needs a VAE and the graph has none")
            return
        if len(sources) > 1:
            self.warnings.append(
                f"node {node_id} ({self.nodes[node_id].type}): took the VAE of node {sources[0][0]}, one of "
                f"{len(sources)} in the graph (its size in latents depends on the VAE)"
            )
        self.set_input(node_id, "vae", Link.model_validate({"from": sources[0][0], "output": sources[0][1]}))

    def set_input(self, node_id: str, name: str, value: Any) -> None:
        entry = self.nodes[node_id]
        self.nodes[node_id] = entry.model_copy(update={"inputs": {**entry.inputs, name: value}})

    # ---- params ---------------------------------------------------------------------------------------

    def params(self) -> dict[str, Any]:
        params: dict[str, Any] = {}
        for name, targets in self.graph.shared_values.items():
            paths = []
            for comfy_id, comfy_input in targets:
                node = self.graph.nodes.get(comfy_id)
                mapping = BY_COMFY_TYPE.get(node.class_type) if node else None
                widget = mapping.widget(comfy_input) if mapping else None
                ours = widget.ours if widget else (comfy_input if node else None)
                if ours is not None:
                    paths.append(f"{self.ids[comfy_id]}.{ours}")
            if paths:
                params[name] = {"targets": paths, "description": "a value shared in ComfyUI by a primitive node"}
        taken = {target for param in params.values() for target in param["targets"]}
        for name, (types, input_name) in CONVENTIONAL_PARAMS.items():
            owners = [node_id for node_id, entry in sorted(self.nodes.items()) if entry.type in types]
            if len(owners) == 1 and name not in params and f"{owners[0]}.{input_name}" not in taken:
                params[name] = {"targets": [f"{owners[0]}.{input_name}"]}
        params.update(self.prompt_params(params, taken))
        return params

    def prompt_params(self, params: Mapping[str, Any], taken: set[str]) -> dict[str, Any]:
        """prompt / negative: the text of the encoders feeding the only sampler."""
        samplers = [entry for entry in self.nodes.values() if entry.type in ("KSampler", "KSamplerAdvanced")]
        if len(samplers) != 1:
            return {}
        found = {}
        for name, side in (("prompt", "positive"), ("negative", "negative")):
            link = samplers[0].inputs.get(side)
            encoder = self.nodes.get(link.node) if isinstance(link, Link) else None
            if isinstance(link, Link) and encoder is not None and encoder.type == "TextEncode" and name not in params:
                target = f"{link.node}.text"
                if target not in taken:
                    found[name] = {"targets": [target]}
        return found

    def editor(self) -> dict[str, Any] | None:
        editor: dict[str, Any] = {}
        positions = {self.ids[i]: pos for i, pos in self.graph.positions.items() if i in self.ids}
        if positions:
            editor["positions"] = positions
        if self.graph.groups:
            editor["groups"] = self.graph.groups
        if self.graph.notes:
            editor["notes"] = self.graph.notes
        titles = {self.ids[i]: node.title for i, node in self.graph.nodes.items() if node.title}
        if titles:
            editor["titles"] = titles
        return editor or None


def graph_to_workflow(graph: ComfyGraph, registry: Registry, format: str, name: str = "") -> ImportedWorkflow:
    converter = _Converter(graph, registry)
    converter.convert_nodes()
    workflow = Workflow(
        schema_version=SCHEMA_VERSION,
        name=name,
        description=f"Imported from ComfyUI ({format}).",
        nodes=converter.nodes,
        params=converter.params(),
        editor=converter.editor(),
    )
    return ImportedWorkflow(Workflow.model_validate(workflow.to_dict()), format, tuple(converter.warnings))
