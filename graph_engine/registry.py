"""The registry: the socket types and nodes available to a workflow, loaded from packs.

A Registry is an ordinary object (there is no process-wide registry): build one from the
packs you want, optionally plus the packs installed through the entry point group
`graph_engine.node_packs`. A pack that fails to import, or a node that does not fit, is
recorded in `registry.problems` and skipped; loading never raises.
"""

from __future__ import annotations

import copy
import difflib
import importlib
import importlib.metadata
import traceback
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from graph_engine.pack import CORE_PACK, NodePack
from graph_engine.resources import ResourceFactory
from graph_engine.spec import NodeSpec
from graph_engine.types import SocketType, is_compatible

if TYPE_CHECKING:
    from graph_engine.importing import WorkflowExporter, WorkflowImporter

ENTRY_POINT_GROUP = "graph_engine.node_packs"


@dataclass(frozen=True)
class PackProblem:
    """Why a pack (or one node of it) was skipped."""

    pack: str
    message: str
    detail: str = ""

    def to_json(self) -> dict[str, str]:
        return {"pack": self.pack, "message": self.message, "detail": self.detail}


class UnknownNodeType(KeyError):
    def __init__(self, name: str, suggestion: str | None) -> None:
        hint = f"; did you mean {suggestion!r}?" if suggestion else ""
        super().__init__(f"unknown node type {name!r}{hint}")
        self.name = name
        self.suggestion = suggestion

    def __str__(self) -> str:
        return str(self.args[0])


class Registry:
    """Socket types and node specs by name, plus the problems met while loading packs."""

    def __init__(self, packs: Iterable[NodePack] = ()) -> None:
        self._types: dict[str, SocketType] = {}
        self._nodes: dict[str, NodeSpec] = {}
        self._names_by_fn: dict[Any, str] = {}
        self.packs: list[NodePack] = []
        self.problems: list[PackProblem] = []
        self.add_packs([CORE_PACK, *packs])

    @classmethod
    def discover(cls, packs: Iterable[NodePack] = (), group: str = ENTRY_POINT_GROUP) -> Registry:
        """A registry with `packs` plus every pack installed under the entry point `group`."""
        registry = cls(packs)
        registry.load_entry_points(group)
        return registry

    # ---- loading -------------------------------------------------------------------

    def load_entry_points(self, group: str = ENTRY_POINT_GROUP) -> None:
        found: list[NodePack] = []
        for entry_point in sorted(importlib.metadata.entry_points(group=group), key=lambda ep: ep.name):
            pack = self._load_object(entry_point.name, entry_point.load)
            if pack is not None:
                found.append(pack)
        self.add_packs(found)

    def load_reference(self, reference: str) -> bool:
        """Load a pack given as "module:ATTRIBUTE" (the CLI's --pack); False if it failed."""
        module_name, _, attribute = reference.partition(":")
        if not module_name or not attribute:
            self.problems.append(PackProblem(reference, "expected a pack reference of the form module:ATTRIBUTE"))
            return False

        def load() -> Any:
            return getattr(importlib.import_module(module_name), attribute)

        pack = self._load_object(reference, load)
        if pack is None:
            return False
        before = len(self.packs)
        self.add_packs([pack])
        return len(self.packs) > before

    def _load_object(self, label: str, load: Any) -> NodePack | None:
        try:
            loaded = load()
        except Exception as error:
            self.problems.append(
                PackProblem(label, f"failed to import: {type(error).__name__}: {error}", traceback.format_exc())
            )
            return None
        if not isinstance(loaded, NodePack):
            self.problems.append(PackProblem(label, f"expected a NodePack, got {type(loaded).__name__}"))
            return None
        return loaded

    def add_packs(self, packs: Iterable[NodePack]) -> None:
        """Register packs: all their types first, so packs may use each other's types."""
        accepted: list[NodePack] = []
        for pack in packs:
            if any(loaded.name == pack.name for loaded in [*self.packs, *accepted]):
                self.problems.append(PackProblem(pack.name, "a pack with this name is already loaded"))
            elif self._add_types(pack):
                accepted.append(pack)
        for pack in accepted:
            for spec in pack.nodes:
                self._add_node(pack, spec)
            self.packs.append(pack)

    @property
    def resource_factories(self) -> dict[type, ResourceFactory]:
        """Service factories declared by the loaded packs (the first pack declaring a type wins)."""
        factories: dict[type, ResourceFactory] = {}
        for pack in self.packs:
            for kind, factory in pack.resources.items():
                factories.setdefault(kind, factory)
        return factories

    @property
    def importers(self) -> list[WorkflowImporter]:
        """Readers of other tools' workflow formats, from the loaded packs (in load order)."""
        return [importer for pack in self.packs for importer in pack.importers]

    @property
    def exporters(self) -> list[WorkflowExporter]:
        return [exporter for pack in self.packs for exporter in pack.exporters]

    def _add_types(self, pack: NodePack) -> bool:
        problems = []
        for socket_type in pack.types:
            if not pack.builtin and not socket_type.name.startswith(pack.name + "."):
                problems.append(f"type {socket_type.name!r} must be namespaced as '{pack.name}.{socket_type.name}'")
            existing = self._types.get(socket_type.name)
            if existing is not None and existing != socket_type:
                problems.append(f"type {socket_type.name!r} is already registered with a different definition")
        if problems:
            self.problems.extend(PackProblem(pack.name, message) for message in problems)
            return False
        for socket_type in pack.types:
            self._types[socket_type.name] = socket_type
        return True

    def _add_node(self, pack: NodePack, spec: NodeSpec) -> None:
        if not isinstance(spec, NodeSpec):
            self.problems.append(PackProblem(pack.name, f"expected a node declared with @node, got {spec!r}"))
            return
        name = spec.name if pack.builtin or spec.name.startswith(pack.name + ".") else f"{pack.name}.{spec.name}"
        if name in self._nodes:
            self.problems.append(PackProblem(pack.name, f"node {name!r} is already registered; skipped"))
            return
        for socket_type in spec.socket_types():
            registered = self._types.get(socket_type.name)
            if registered is None:
                self.problems.append(
                    PackProblem(
                        pack.name,
                        f"node {name!r} uses type {socket_type.name!r}, which no loaded pack declares; "
                        "add it to the pack's types",
                    )
                )
                return
            if registered != socket_type:
                self.problems.append(
                    PackProblem(pack.name, f"node {name!r} uses a different definition of type {socket_type.name!r}")
                )
                return
        self._nodes[name] = spec if name == spec.name else replace(spec, name=name)
        self._names_by_fn[spec.fn] = name

    # ---- lookup --------------------------------------------------------------------

    @property
    def nodes(self) -> Mapping[str, NodeSpec]:
        return MappingProxyType(self._nodes)

    @property
    def types(self) -> Mapping[str, SocketType]:
        return MappingProxyType(self._types)

    def node(self, name: str) -> NodeSpec:
        """The spec of node type `name`; raises UnknownNodeType with a suggestion."""
        spec = self._nodes.get(name)
        if spec is None:
            raise UnknownNodeType(name, self.suggest(name))
        return spec

    def resolve(self, node_type: str | NodeSpec) -> NodeSpec:
        """A registered spec from a type name or from the object `@node` returned."""
        if isinstance(node_type, NodeSpec):
            name = self._names_by_fn.get(node_type.fn)
            if name is None:
                raise UnknownNodeType(node_type.name, None)
            return self._nodes[name]
        return self.node(node_type)

    def with_nodes(self, specs: Mapping[str, NodeSpec]) -> Registry:
        """A copy that also knows `specs` by name (e.g. workflow nodes while a workflow is compiled)."""
        extended = copy.copy(self)
        extended._nodes = {**self._nodes, **specs}
        return extended

    def suggest(self, name: str) -> str | None:
        """The registered node type closest to `name` (typos, wrong case, missing namespace)."""
        lowered = {known.lower(): known for known in self._nodes}
        if name.lower() in lowered:
            return lowered[name.lower()]
        suffix_matches = [known for known in self._nodes if known.rsplit(".", 1)[-1] == name]
        if len(suffix_matches) == 1:
            return suffix_matches[0]
        close = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.6)
        return lowered[close[0]] if close else None

    def catalogue(self) -> dict[str, Any]:
        """Every type and node as JSON, for the editor and the docs.

        Each type lists the registered types whose outputs it accepts (`accepts`), computed
        with the same compatibility rule the validator uses.
        """
        types = []
        for target in sorted(self._types.values(), key=lambda item: item.name):
            entry = target.to_json()
            entry["accepts"] = sorted(source.name for source in self._types.values() if is_compatible(source, target))
            types.append(entry)
        return {
            "types": types,
            "nodes": [self._nodes[name].to_json() for name in sorted(self._nodes)],
            "packs": [
                {"name": pack.name, "description": pack.description, "builtin": pack.builtin} for pack in self.packs
            ],
            "problems": [problem.to_json() for problem in self.problems],
        }
