"""ComfyUI's API format (what its server runs): `{"id": {"class_type", "inputs", "_meta"}}`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graph_engine.importing import UnreadableDocument
from nodes.comfyui.graph import ComfyGraph, ComfyLink, ComfyNode


def is_api_document(document: Mapping[str, Any]) -> bool:
    return bool(document) and all(
        isinstance(node, Mapping) and isinstance(node.get("class_type"), str) for node in document.values()
    )


def _value(value: Any) -> Any:
    """A link ([node id, output slot]) or a constant (lists come wrapped as {"__value__": [...]})."""
    if isinstance(value, list) and len(value) == 2 and isinstance(value[0], str) and isinstance(value[1], int):
        return ComfyLink(str(value[0]), value[1])
    if isinstance(value, Mapping) and set(value) == {"__value__"}:
        return value["__value__"]
    return value


def parse_api(document: Mapping[str, Any]) -> ComfyGraph:
    nodes: dict[str, ComfyNode] = {}
    for node_id, node in document.items():
        inputs = node.get("inputs", {})
        if not isinstance(inputs, Mapping):
            raise UnreadableDocument(f"ComfyUI node {node_id!r} ({node['class_type']}): 'inputs' must be an object")
        meta = node.get("_meta")
        title = meta.get("title", "") if isinstance(meta, Mapping) else ""
        nodes[str(node_id)] = ComfyNode(
            str(node_id), node["class_type"], {name: _value(value) for name, value in inputs.items()}, str(title)
        )
    return ComfyGraph(nodes)
