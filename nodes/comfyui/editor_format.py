"""ComfyUI's editor format (LiteGraph serialisation, versions 0.4 and 1) -> a ComfyGraph.

What the frontend's graphToPrompt does before ComfyUI runs a workflow, done here: positional
`widgets_values` become named inputs (frontend-only entries dropped), reroutes and primitive
nodes are resolved (a primitive shared by several inputs becomes a param), muted nodes are
left out, bypassed nodes pass their inputs through by type, subgraphs are flattened with
"instance:inner" ids, and the layout (positions, groups, notes) is kept for the editor.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from graph_engine.importing import UnreadableDocument
from nodes.comfyui.graph import ComfyGraph, ComfyLink, ComfyNode, param_name
from nodes.comfyui.mapping import BY_COMFY_TYPE, NodeMapping

MUTED, BYPASSED = 2, 4
SUBGRAPH_INPUT_NODE, SUBGRAPH_OUTPUT_NODE = -10, -20
VIRTUAL_TYPES = {"Reroute", "PrimitiveNode", "Note", "MarkdownNote"}
MAX_SUBGRAPH_DEPTH = 32


@dataclass(frozen=True)
class Constant:
    value: Any


Source = ComfyLink | Constant | None
InputResolver = Callable[[int], Source]


def is_editor_document(document: Mapping[str, Any]) -> bool:
    return isinstance(document.get("nodes"), list) and isinstance(document.get("links"), list)


def _links(raw_links: list[Any]) -> dict[int, tuple[int, int, int, int]]:
    """link id -> (origin node, origin slot, target node, target slot), from lists (v0.4) or objects (v1)."""
    links = {}
    for raw in raw_links:
        if isinstance(raw, list) and len(raw) >= 5:
            link_id, origin, origin_slot, target, target_slot = raw[:5]
        elif isinstance(raw, Mapping):
            link_id, origin, origin_slot = raw.get("id"), raw.get("origin_id"), raw.get("origin_slot")
            target, target_slot = raw.get("target_id"), raw.get("target_slot")
        else:
            raise UnreadableDocument(f"ComfyUI link {raw!r} is neither a list nor an object")
        try:
            links[int(link_id)] = (int(origin), int(origin_slot), int(target), int(target_slot))
        except (TypeError, ValueError):
            raise UnreadableDocument(f"ComfyUI link {raw!r} has a non-numeric id, node or slot") from None
    return links


@dataclass
class _Level:
    """One graph: the root, or a subgraph definition instantiated under `prefix`."""

    nodes: dict[int, Mapping[str, Any]]
    links: dict[int, tuple[int, int, int, int]]
    prefix: str
    instance_input: InputResolver | None = None
    definition: Mapping[str, Any] = field(default_factory=dict)

    def comfy_id(self, node_id: int) -> str:
        return f"{self.prefix}{node_id}"


def _position(node: Mapping[str, Any]) -> list[float] | None:
    pos = node.get("pos")
    if isinstance(pos, Mapping):
        pos = [pos.get("0"), pos.get("1")]
    if isinstance(pos, list) and len(pos) >= 2 and all(isinstance(v, (int, float)) for v in pos[:2]):
        return [float(pos[0]), float(pos[1])]
    return None


class _Parser:
    def __init__(self, document: Mapping[str, Any]) -> None:
        definitions = document.get("definitions")
        subgraphs = definitions.get("subgraphs", []) if isinstance(definitions, Mapping) else []
        self.subgraphs = {str(sub.get("id")): sub for sub in subgraphs if isinstance(sub, Mapping)}
        self.graph = ComfyGraph({})
        self.root = self.level(document, "", None, {})

    def level(
        self, document: Mapping[str, Any], prefix: str, inputs: InputResolver | None, definition: Mapping[str, Any]
    ) -> _Level:
        nodes = {}
        for node in document.get("nodes", []):
            if not isinstance(node, Mapping) or not isinstance(node.get("type"), str) or "id" not in node:
                raise UnreadableDocument(f"ComfyUI editor node {str(node)[:80]} has no 'id' and 'type'")
            nodes[int(node["id"])] = node
        return _Level(nodes, _links(document.get("links", [])), prefix, inputs, definition)

    def warn(self, level: _Level, node: Mapping[str, Any], message: str) -> None:
        self.graph.warnings.append(f"ComfyUI node {level.comfy_id(node['id'])} ({node['type']}): {message}")

    # ---- following links to the node that really produces a value ------------------------------

    def source(self, level: _Level, link_id: Any) -> Source:
        if link_id is None:
            return None
        link = level.links.get(int(link_id))
        if link is None:
            return None
        return self.output(level, link[0], link[1])

    def output(self, level: _Level, node_id: int, slot: int) -> Source:
        if node_id == SUBGRAPH_INPUT_NODE:
            return level.instance_input(slot) if level.instance_input else None
        node = level.nodes.get(node_id)
        if node is None:
            return None
        kind, mode = node["type"], node.get("mode", 0)
        if kind == "Reroute":
            return self.source(level, (node.get("inputs") or [{}])[0].get("link"))
        if kind == "PrimitiveNode":
            values = node.get("widgets_values") or [None]
            return Constant(values[0])
        if mode == MUTED:
            return None
        if mode == BYPASSED:
            return self.bypassed(level, node, slot)
        if kind in self.subgraphs:
            return self.subgraph_output(level, node, slot)
        return ComfyLink(level.comfy_id(node_id), slot)

    def bypassed(self, level: _Level, node: Mapping[str, Any], slot: int) -> Source:
        """A bypassed node hands on the input of the output's type (the same slot first)."""
        outputs = node.get("outputs") or []
        wanted = outputs[slot].get("type") if slot < len(outputs) else None
        inputs = node.get("inputs") or []
        ordered = ([inputs[slot]] if slot < len(inputs) else []) + inputs
        for entry in ordered:
            if entry.get("type") == wanted and entry.get("link") is not None:
                return self.source(level, entry["link"])
        return None

    def subgraph_output(self, level: _Level, node: Mapping[str, Any], slot: int) -> Source:
        inner = self.instance(level, node)
        outputs = inner.definition.get("outputs") or []
        link_ids = outputs[slot].get("linkIds") if slot < len(outputs) else None
        return self.source(inner, link_ids[0]) if link_ids else None

    def instance(self, level: _Level, node: Mapping[str, Any]) -> _Level:
        depth = level.prefix.count(":")
        if depth >= MAX_SUBGRAPH_DEPTH:
            raise UnreadableDocument(f"ComfyUI subgraphs nested deeper than {MAX_SUBGRAPH_DEPTH} (a cycle?)")
        definition = self.subgraphs[node["type"]]
        instance_inputs = node.get("inputs") or []
        names = [entry.get("name") for entry in definition.get("inputs") or []]

        def instance_input(slot: int) -> Source:
            name = names[slot] if slot < len(names) else None
            entry = next((item for item in instance_inputs if item.get("name") == name), None)
            if entry is None and slot < len(instance_inputs):
                entry = instance_inputs[slot]
            return self.source(level, entry.get("link")) if entry else None

        return self.level(definition, f"{level.comfy_id(node['id'])}:", instance_input, definition)

    # ---- real nodes -------------------------------------------------------------------------------

    def walk(self, level: _Level) -> None:
        for node_id, node in level.nodes.items():
            kind, mode = node["type"], node.get("mode", 0)
            if kind in ("Note", "MarkdownNote"):
                text = (node.get("widgets_values") or [""])[0]
                if isinstance(text, str) and text:
                    self.graph.notes.append(text)
            elif kind == "PrimitiveNode":
                self.share(level, node)
            elif kind == "Reroute" or mode == BYPASSED:
                continue
            elif mode == MUTED:
                self.warn(level, node, "muted in ComfyUI; left out")
            elif kind in self.subgraphs:
                self.walk(self.instance(level, node))
            else:
                self.add(level, node_id, node)

    def add(self, level: _Level, node_id: int, node: Mapping[str, Any]) -> None:
        comfy_id = level.comfy_id(node_id)
        inputs: dict[str, Any] = {}
        for entry in node.get("inputs") or []:
            source = self.source(level, entry.get("link"))
            if isinstance(source, ComfyLink):
                inputs[entry["name"]] = source
            elif isinstance(source, Constant):
                inputs[(entry.get("widget") or {}).get("name", entry["name"])] = source.value
        mapping = BY_COMFY_TYPE.get(node["type"])
        raw_widgets = node.get("widgets_values")
        if mapping is not None and isinstance(raw_widgets, list):
            for name, value in self.widget_values(level, node, mapping, raw_widgets).items():
                inputs.setdefault(name, value)  # a widget turned into a linked input keeps the link
        properties = node.get("properties")
        if not isinstance(properties, Mapping):
            properties = {}
        self.graph.nodes[comfy_id] = ComfyNode(
            comfy_id,
            node["type"],
            inputs,
            title=str(node.get("title") or ""),
            widgets_values=None if mapping else raw_widgets,
            output_names=[str(output.get("name", "")) for output in node.get("outputs") or []],
            registry_id=str(properties.get("cnr_id") or ""),
        )
        position = _position(node)
        if position is not None and not level.prefix:
            self.graph.positions[comfy_id] = position

    def widget_values(
        self, level: _Level, node: Mapping[str, Any], mapping: NodeMapping, values: list[Any]
    ) -> dict[str, Any]:
        """Name the positional widget values; files saved without the frontend-only entries work too."""
        widgets = list(mapping.widgets)
        if len(values) != len(widgets):
            real = [widget for widget in widgets if widget.ours is not None]
            if len(values) == len(real):
                widgets = real
            else:
                self.warn(level, node, f"expected {len(widgets)} widget values, got {len(values)}; matched in order")
        return {widget.comfy: value for widget, value in zip(widgets, values) if widget.ours is not None}

    def share(self, level: _Level, node: Mapping[str, Any]) -> None:
        """A primitive node feeding several inputs: they share one value, i.e. a param."""
        outputs = node.get("outputs") or []
        if not outputs:
            return
        targets = []
        for link_id in outputs[0].get("links") or []:
            link = level.links.get(int(link_id))
            target = level.nodes.get(link[2]) if link else None
            if link is None or target is None or target["type"] in VIRTUAL_TYPES or target["type"] in self.subgraphs:
                continue
            entries = target.get("inputs") or []
            entry = entries[link[3]] if link[3] < len(entries) else {}
            name = (entry.get("widget") or {}).get("name") or entry.get("name")
            if name:
                targets.append((level.comfy_id(target["id"]), name))
        if targets:
            title = node.get("title") or (outputs[0].get("widget") or {}).get("name") or targets[0][1]
            name = param_name(str(title))
            while name in self.graph.shared_values:
                name += "_"
            self.graph.shared_values[name] = targets

    def groups(self, document: Mapping[str, Any]) -> None:
        for group in document.get("groups") or []:
            bounding = group.get("bounding")
            if not (isinstance(bounding, list) and len(bounding) == 4):
                continue
            x, y, width, height = bounding
            inside = sorted(
                node_id for node_id, pos in self.graph.positions.items()
                if x <= pos[0] <= x + width and y <= pos[1] <= y + height
            )
            self.graph.groups.append(
                {"title": str(group.get("title", "")), "bounding": bounding, "color": group.get("color"),
                 "nodes": inside}
            )


def parse_editor(document: Mapping[str, Any]) -> ComfyGraph:
    parser = _Parser(document)
    parser.walk(parser.root)
    parser.groups(document)
    return parser.graph
