"""A ComfyUI graph as both of its file formats describe it, before it becomes our workflow."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ComfyLink:
    node: str
    slot: int


@dataclass
class ComfyNode:
    id: str
    class_type: str
    inputs: dict[str, Any]  # ComfyUI input name -> constant or ComfyLink
    title: str = ""
    widgets_values: Any = None  # the editor's raw values, kept for node types we cannot name them for
    output_names: list[str] = field(default_factory=list)  # by slot, when the editor format says
    registry_id: str = ""  # the editor's properties.cnr_id: the pack the node comes from


@dataclass
class ComfyGraph:
    nodes: dict[str, ComfyNode]
    positions: dict[str, list[float]] = field(default_factory=dict)
    groups: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # Values the editor's primitive widgets share: param name -> [(node id, ComfyUI input name)].
    shared_values: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


_NOT_ID = re.compile(r"[^A-Za-z0-9_\-]")


def our_node_id(comfy_id: str) -> str:
    """A node id of ours for a ComfyUI id: kept where valid ("12:5", a node inside a subgraph, -> "12_5")."""
    cleaned = _NOT_ID.sub("_", comfy_id.strip())
    return cleaned if cleaned and not cleaned.startswith("-") else f"n{cleaned}"


def param_name(text: str) -> str:
    """A param name from a title or input name ("Seed (shared)" -> "seed_shared")."""
    cleaned = re.sub(r"[^A-Za-z0-9_]+", "_", text.strip().lower()).strip("_")
    return cleaned if cleaned and not cleaned[0].isdigit() else f"p_{cleaned}"
