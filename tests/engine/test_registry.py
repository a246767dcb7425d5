"""Registry: packs, namespacing, entry-point discovery, broken packs reported and skipped."""

import importlib.metadata

import pytest

from engine.toy_nodes import PACK, Add
from graph_engine import ENTRY_POINT_GROUP, NodePack, Out, Registry, SocketType, UnknownNodeType, node

MASK = SocketType("ext.MASK", "A mask.")


@node(category="ext")
def MakeMask(size: int) -> Out[MASK, "mask"]:
    return [1] * size


@node(category="ext")
def Orphan(x: Out[SocketType("UNDECLARED"), "x"]) -> Out[int, "v"]:
    return 1


EXT = NodePack("ext", types=[MASK], nodes=[MakeMask])


def test_builtin_pack_registers_plain_names_and_primitives() -> None:
    registry = Registry([PACK])
    assert registry.node("Add") is Add
    assert {"INT", "FLOAT", "STRING", "BOOLEAN", "ANY", "VEC"} <= set(registry.types)
    assert registry.problems == []


def test_non_builtin_pack_is_namespaced() -> None:
    registry = Registry([EXT])
    spec = registry.node("ext.MakeMask")
    assert spec.name == "ext.MakeMask"
    assert registry.resolve(MakeMask) is spec  # the object @node returned still resolves
    assert "MakeMask" not in registry.nodes


def test_type_without_namespace_skips_the_pack() -> None:
    bad = NodePack("bad", types=[SocketType("MASK")], nodes=[MakeMask])
    registry = Registry([bad])
    assert "bad.MakeMask" not in registry.nodes
    assert registry.problems[0].pack == "bad" and "bad.MASK" in registry.problems[0].message


def test_node_with_undeclared_type_is_skipped_alone() -> None:
    registry = Registry([NodePack("ext", types=[MASK], nodes=[MakeMask, Orphan])])
    assert "ext.MakeMask" in registry.nodes and "ext.Orphan" not in registry.nodes
    assert "UNDECLARED" in registry.problems[0].message


def test_duplicates_are_reported() -> None:
    registry = Registry([PACK, NodePack("again", nodes=[Add], builtin=True), NodePack("toy")])
    messages = [problem.message for problem in registry.problems]
    assert any("'Add' is already registered" in message for message in messages)
    assert any("already loaded" in message for message in messages)


def test_conflicting_type_definitions_are_reported() -> None:
    registry = Registry([NodePack("core2", types=[SocketType("INT")], builtin=True)])
    assert "different definition" in registry.problems[0].message


def test_entry_point_discovery_skips_broken_packs(monkeypatch: pytest.MonkeyPatch) -> None:
    def fake_entry_points(group: str) -> list[importlib.metadata.EntryPoint]:
        assert group == ENTRY_POINT_GROUP
        return [
            importlib.metadata.EntryPoint("toy", "engine.toy_nodes:PACK", group),
            importlib.metadata.EntryPoint("missing", "engine.no_such_module:PACK", group),
            importlib.metadata.EntryPoint("wrong", "engine.toy_nodes:Add", group),
        ]

    monkeypatch.setattr(importlib.metadata, "entry_points", fake_entry_points)
    registry = Registry.discover([EXT])
    assert "Add" in registry.nodes and "ext.MakeMask" in registry.nodes
    problems = {problem.pack: problem for problem in registry.problems}
    assert "ModuleNotFoundError" in problems["missing"].message and problems["missing"].detail
    assert "expected a NodePack" in problems["wrong"].message


def test_load_reference() -> None:
    registry = Registry()
    assert registry.load_reference("engine.toy_nodes:PACK")
    assert not registry.load_reference("engine.toy_nodes")
    assert not registry.load_reference("engine.toy_nodes:NOPE")
    assert "Add" in registry.nodes and len(registry.problems) == 2


def test_unknown_node_suggests_the_closest_name() -> None:
    registry = Registry([PACK, EXT])
    assert registry.suggest("add") == "Add"
    assert registry.suggest("Conct") == "Concat"
    assert registry.suggest("MakeMask") == "ext.MakeMask"
    with pytest.raises(UnknownNodeType, match="did you mean 'Add'"):
        registry.node("Ad")


def test_registries_are_independent() -> None:
    assert "Add" in Registry([PACK]).nodes and "Add" not in Registry().nodes


def test_catalogue_exports_types_with_compatibility_and_nodes() -> None:
    catalogue = Registry([PACK, EXT]).catalogue()
    types = {entry["name"]: entry for entry in catalogue["types"]}
    assert "INT" in types["FLOAT"]["accepts"] and "FLOAT" not in types["INT"]["accepts"]
    assert set(types["ANY"]["accepts"]) == set(types)
    assert types["ext.MASK"]["kind"] == "opaque"
    names = [entry["type"] for entry in catalogue["nodes"]]
    assert names == sorted(names) and "ext.MakeMask" in names
    assert [pack["name"] for pack in catalogue["packs"]] == ["core", "toy", "ext"]
