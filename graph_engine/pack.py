"""Node packs: a named bundle of socket types and nodes that a registry loads."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING

from graph_engine.resources import ResourceFactory
from graph_engine.spec import NodeSpec
from graph_engine.types import PRIMITIVE_TYPES, SocketType

if TYPE_CHECKING:
    from graph_engine.importing import WorkflowExporter, WorkflowImporter


@dataclass(frozen=True, init=False)
class NodePack:
    """A bundle of types and nodes.

    Names in a non-builtin pack are namespaced by the pack: its type names must start with
    "<pack name>." (write them so, e.g. `SocketType("mypack.MASK")`), and its nodes are
    registered as "<pack name>.<node name>". A builtin pack registers plain names.
    Third-party packs are found through the entry point group `graph_engine.node_packs`,
    whose entry points resolve to a NodePack. `resources` maps service types its nodes
    look up with `ctx.resource(Type)` to factories (see graph_engine.resources).
    `importers` and `exporters` read and write other tools' workflow formats
    (see graph_engine.importing).
    """

    name: str
    types: tuple[SocketType, ...]
    nodes: tuple[NodeSpec, ...]
    builtin: bool
    description: str
    resources: Mapping[type, ResourceFactory]
    importers: tuple[WorkflowImporter, ...]
    exporters: tuple[WorkflowExporter, ...]

    def __init__(
        self,
        name: str,
        types: Iterable[SocketType] = (),
        nodes: Iterable[NodeSpec] = (),
        *,
        builtin: bool = False,
        description: str = "",
        resources: Mapping[type, ResourceFactory] | None = None,
        importers: Iterable[WorkflowImporter] = (),
        exporters: Iterable[WorkflowExporter] = (),
    ) -> None:
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "types", tuple(types))
        object.__setattr__(self, "nodes", tuple(nodes))
        object.__setattr__(self, "builtin", builtin)
        object.__setattr__(self, "description", description)
        object.__setattr__(self, "resources", MappingProxyType(dict(resources or {})))
        object.__setattr__(self, "importers", tuple(importers))
        object.__setattr__(self, "exporters", tuple(exporters))


CORE_PACK = NodePack("core", types=PRIMITIVE_TYPES, builtin=True, description="The engine's primitive socket types.")
