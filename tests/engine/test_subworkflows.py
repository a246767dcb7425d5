"""Workflows used as nodes: typed specs, expansion, pins, cycles, caching across the boundary,
events, failures and the library-backed builder, with toy nodes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from engine.conftest import link, workflow
from graph_engine import (
    Executor,
    Registry,
    ResultCache,
    WorkflowBuilder,
    WorkflowFolder,
    WorkflowLibrary,
    WorkflowValidationError,
    load_workflow,
)
from graph_engine.builder import BuildError
from graph_engine.events import Event
from graph_engine.subworkflows import catalogue, update_pins

# x + y (y ranged -1000..1000 by Add), then scaled; params name the inner inputs they set.
ADD_SCALE = workflow(
    {
        "add": ("Add", {"x": 1, "y": 2}),
        "scale": ("Scale", {"x": link("add", "sum"), "factor": 3.0}),
    },
    {"scaled": link("scale", "value"), "sum": link("add", "sum")},
    params={"x": "add.x", "y": {"targets": ["add.y"], "description": "what to add"}, "factor": "scale.factor"},
    name="add_scale",
    description="Add two numbers, then scale the sum.",
)


def write(folder: Path, name: str, document: dict[str, Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    path.write_text(json.dumps(document))
    return path


@pytest.fixture
def library_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "library"
    write(folder, "add_scale", ADD_SCALE)
    return folder


@pytest.fixture
def library(library_dir: Path) -> WorkflowLibrary:
    return WorkflowLibrary([WorkflowFolder(library_dir, "user")])


@pytest.fixture
def executor(registry: Registry, library: WorkflowLibrary, tmp_path: Path) -> Executor:
    return Executor(
        registry, cache=ResultCache(max_bytes=None), device="cpu", output_dir=tmp_path / "out", library=library
    )


def codes(error: pytest.ExceptionInfo[WorkflowValidationError]) -> list[str]:
    return [issue.code.value for issue in error.value.issues]


def spec_of(registry: Registry, library: WorkflowLibrary, name: str) -> dict[str, Any]:
    nodes = catalogue(registry, library)["nodes"]
    return next(node for node in nodes if node["type"] == f"workflow:{name}")


# ---- the node a workflow becomes -------------------------------------------------------------


def test_params_become_typed_inputs_and_outputs_typed_outputs(registry: Registry, library: WorkflowLibrary) -> None:
    spec = spec_of(registry, library, "add_scale")
    inputs = {item["name"]: item for item in spec["inputs"]}
    assert [item["name"] for item in spec["inputs"]] == ["x", "y", "factor"]
    assert inputs["x"]["type"] == "INT" and inputs["x"]["default"] == 1
    # Constraints and descriptions come from the inner input (Add.y is ranged) or the param.
    assert (inputs["y"]["min"], inputs["y"]["max"], inputs["y"]["description"]) == (-1000, 1000, "what to add")
    assert inputs["factor"]["type"] == "FLOAT" and inputs["factor"]["default"] == 3.0
    assert [(item["name"], item["type"]) for item in spec["outputs"]] == [("scaled", "FLOAT"), ("sum", "INT")]
    assert spec["category"] == "workflows" and spec["description"] == ADD_SCALE["description"]
    assert len(spec["workflow"]["hash"]) == 16 and spec["workflow"]["source"] == "user"


def test_a_param_fed_inside_is_an_optional_input_and_a_link_replaces_the_inner_one(
    registry: Registry, library_dir: Path, executor: Executor
) -> None:
    # `vec` is fed by MakeVec inside; used as a node, an outer link replaces that source.
    write(
        library_dir,
        "total",
        workflow(
            {"make": ("MakeVec", {"n": 2, "fill": 1.0}), "sum": ("SumVec", {"vec": link("make", "vec")})},
            {"total": link("sum", "total")},
            params={"vec": "sum.vec"},
        ),
    )
    vec_input = spec_of(registry, executor.library, "total")["inputs"][0]  # type: ignore[arg-type]
    assert (vec_input["type"], vec_input["required"], vec_input["optional"]) == ("VEC", False, True)
    outer = workflow(
        {
            "v": ("MakeVec", {"n": 4, "fill": 2.5}),
            "own": ("workflow:total", {}),
            "fed": ("workflow:total", {"vec": link("v", "vec")}),
        },
        {"own": link("own", "total"), "fed": link("fed", "total")},
    )
    assert executor.run(outer).outputs == {"own": 2.0, "fed": 10.0}


def test_runs_like_the_inner_workflow_with_constants_links_and_params(executor: Executor) -> None:
    outer = workflow(
        {
            "c": ("Const", {"value": 10}),
            "w": ("workflow:add_scale", {"x": link("c", "value"), "factor": 2}),
        },
        {"scaled": link("w", "scaled"), "sum": link("w", "sum")},
        params={"y": "w.y"},
    )
    result = executor.run(outer, {"y": 5})
    assert result.status == "success" and result.outputs == {"scaled": 30.0, "sum": 15}
    # A "node.input" path of the workflow node works as an override too.
    assert executor.run(outer, {"w.factor": "0.5"}, params_as_text=True).outputs["scaled"] == 6.0
    assert sorted(result.explanations) == ["c", "w/add", "w/scale"]


def test_a_path_reference_resolves_against_the_referencing_file(
    registry: Registry, tmp_path: Path, library_dir: Path
) -> None:
    blocks = tmp_path / "project" / "blocks"
    write(blocks, "double", workflow({"s": ("Scale", {"x": 1.0})}, {"value": link("s", "value")}, params={"x": "s.x"}))
    outer_path = write(
        tmp_path / "project",
        "main",
        workflow({"d": ("workflow:blocks/double.json", {"x": 4.0})}, {"value": link("d", "value")}),
    )
    executor = Executor(registry, device="cpu")  # no library needed for paths
    assert executor.run(outer_path).outputs == {"value": 8.0}
    # Loaded from text there is no file to be relative to: the reference is looked up from the cwd.
    with pytest.raises(WorkflowValidationError) as error:
        executor.run(json.loads(outer_path.read_text()))
    assert codes(error) == ["unknown_workflow"] and "double.json" in error.value.issues[0].message


def test_nesting_to_any_depth(registry: Registry, library_dir: Path, executor: Executor) -> None:
    write(
        library_dir,
        "level1",
        workflow({"inner": ("workflow:add_scale", {"factor": 1.0})}, {"v": link("inner", "scaled")},
                 params={"x": "inner.x"}),
    )  # fmt: skip
    write(
        library_dir,
        "level2",
        workflow({"mid": ("workflow:level1", {})}, {"v": link("mid", "v")}, params={"x": "mid.x"}),
    )
    events: list[Event] = []
    outer = workflow({"top": ("workflow:level2", {"x": 40})}, {"v": link("top", "v")})
    result = executor.run(outer, on_event=events.append)
    assert result.outputs == {"v": 42.0}
    started = {event.node_id: event for event in events if event.type == "node_started"}
    assert set(started) == {"top/mid/inner/add", "top/mid/inner/scale"}
    deepest = started["top/mid/inner/add"]
    assert (deepest.parent, deepest.parent_type) == ("top/mid/inner", "workflow:add_scale")


# ---- errors ---------------------------------------------------------------------------------


def test_cycles_between_definitions_name_the_chain(library_dir: Path, executor: Executor) -> None:
    write(library_dir, "ping", workflow({"p": ("workflow:pong", {})}, {"v": link("p", "v")}))
    write(library_dir, "pong", workflow({"p": ("workflow:ping", {})}, {"v": link("p", "v")}))
    write(library_dir, "selfish", workflow({"s": ("workflow:selfish", {})}, {"v": link("s", "v")}))
    with pytest.raises(WorkflowValidationError) as error:
        executor.validate(workflow({"a": ("workflow:ping", {}), "b": ("workflow:selfish", {})},
                                   {"a": link("a", "v"), "b": link("b", "v")}))  # fmt: skip
    assert codes(error) == ["workflow_cycle", "workflow_cycle"]
    first, second = error.value.issues
    assert first.node_id == "a" and "ping -> pong -> ping" in first.message
    assert second.node_id == "b" and "selfish -> selfish" in second.message


def test_bad_references_inputs_and_inner_problems_name_the_outer_node(
    library_dir: Path, executor: Executor
) -> None:
    write(library_dir, "broken", workflow({"a": ("Add", {"x": "not a number"})}, {"v": link("a", "sum")}))
    outer = workflow(
        {
            "typo": ("workflow:add_scal", {}),
            "w": ("workflow:add_scale", {"promt": 1, "y": 5000}),
            "b": ("workflow:broken", {}),
        },
        {"t": link("typo", "v"), "w": link("w", "sum"), "b": link("b", "v")},
    )
    with pytest.raises(WorkflowValidationError) as error:
        executor.validate(outer)
    issues = {issue.code.value: issue for issue in error.value.issues}
    assert set(issues) == {"unknown_workflow", "unknown_input", "out_of_range"}
    assert issues["unknown_workflow"].node_id == "typo" and issues["unknown_workflow"].message.count("add_scale")
    assert issues["unknown_input"].node_id == "w" and issues["unknown_input"].input == "promt"
    assert issues["out_of_range"].node_id == "w" and issues["out_of_range"].input == "y"
    # Problems inside a definition are only found once the outer ones are fixed; they name both nodes.
    with pytest.raises(WorkflowValidationError) as inner:
        executor.validate(workflow({"b": ("workflow:broken", {})}, {"b": link("b", "v")}))
    issue = inner.value.issues[0]
    assert issue.code.value == "wrong_type" and issue.node_id == "b/a"
    assert "inside workflow node 'b' (workflow:broken)" in issue.message


def test_a_name_without_a_library_and_a_pin_on_a_plain_node_are_reported(registry: Registry) -> None:
    document = workflow({"w": ("workflow:add_scale", {})}, {"v": link("w", "sum")})
    document["nodes"]["c"] = {"type": "Const", "inputs": {"value": 1}, "pin": "0123"}
    with pytest.raises(WorkflowValidationError) as error:
        Executor(registry).validate(document)
    assert codes(error) == ["unknown_workflow", "misplaced_pin"]
    assert "no workflow library is configured" in error.value.issues[0].message


# ---- pins -------------------------------------------------------------------------------------


def test_a_changed_definition_is_detected_through_its_pin(
    registry: Registry, library_dir: Path, executor: Executor, tmp_path: Path
) -> None:
    user = write(tmp_path, "user", workflow({"w": ("workflow:add_scale", {})}, {"v": link("w", "scaled")}))
    pinned, changes = update_pins(load_workflow(user), registry, executor.library)
    assert len(changes) == 1 and "unpinned ->" in changes[0]
    pin = pinned.nodes["w"].pin
    assert load_workflow(pinned.to_json()).to_json() == pinned.to_json() and f'"pin": "{pin}"' in pinned.to_json()
    assert executor.run(pinned).outputs == {"v": 9.0}
    # Cosmetic edits (name, description, layout) keep the hash.
    write(library_dir, "add_scale", {**ADD_SCALE, "description": "reworded", "editor": {"positions": {}}})
    assert executor.run(pinned).outputs == {"v": 9.0}
    changed = json.loads(json.dumps(ADD_SCALE))
    changed["nodes"]["scale"]["inputs"]["factor"] = 4.0
    write(library_dir, "add_scale", changed)
    with pytest.raises(WorkflowValidationError) as error:
        executor.run(pinned)
    issue = error.value.issues[0]
    assert issue.code.value == "workflow_changed" and issue.node_id == "w"
    assert pin in issue.message and "graph-engine pin" in issue.message
    repinned, _ = update_pins(pinned, registry, executor.library)
    assert repinned.nodes["w"].pin != pin and executor.run(repinned).outputs == {"v": 12.0}
    # Unpinned nodes follow the current definition.
    assert executor.run(user).outputs == {"v": 12.0}


def test_the_hash_covers_nested_definitions(registry: Registry, library_dir: Path, library: WorkflowLibrary) -> None:
    write(library_dir, "outer", workflow({"i": ("workflow:add_scale", {})}, {"v": link("i", "sum")}))
    before = spec_of(registry, library, "outer")["workflow"]["hash"]
    changed = json.loads(json.dumps(ADD_SCALE))
    changed["nodes"]["add"]["inputs"]["y"] = 7
    write(library_dir, "add_scale", changed)
    assert spec_of(registry, library, "outer")["workflow"]["hash"] != before


# ---- caching, events, failures ----------------------------------------------------------------------


def test_workflows_sharing_a_sub_workflow_share_its_results(executor: Executor) -> None:
    first = workflow({"a": ("workflow:add_scale", {"x": 5})}, {"v": link("a", "scaled")})
    second = workflow(
        {"other": ("workflow:add_scale", {"x": 5}), "plus": ("Scale", {"x": link("other", "scaled"), "factor": 1.0})},
        {"v": link("plus", "value")},
    )
    assert executor.run(first).outputs == {"v": 21.0}
    result = executor.run(second)
    assert result.outputs == {"v": 21.0}
    assert {node: item.status.value for node, item in result.explanations.items()} == {
        "other/add": "cached", "other/scale": "cached", "plus": "ran",
    }  # fmt: skip


def test_one_sub_workflow_used_twice_in_a_run_computes_once(executor: Executor) -> None:
    twice = workflow(
        {"a": ("workflow:add_scale", {"x": 5}), "b": ("workflow:add_scale", {"x": 5, "factor": 1.0})},
        {"a": link("a", "scaled"), "b": link("b", "scaled")},
    )
    result = executor.run(twice)
    assert result.outputs == {"a": 21.0, "b": 7.0}
    assert result.explanations["a/add"].status.value == "ran"
    assert result.explanations["b/add"].status.value == "cached"
    assert "a/add" in result.explanations["b/add"].message
    assert result.explanations["b/scale"].status.value == "ran"  # its factor differs


def test_events_name_the_outer_and_the_inner_node(executor: Executor) -> None:
    events: list[Event] = []
    outer = workflow(
        {"c": ("Const", {"value": 1}), "w": ("workflow:add_scale", {"x": link("c", "value")})},
        {"v": link("w", "scaled")},
    )
    executor.run(outer, on_event=events.append)
    node_events = [event for event in events if event.type.startswith("node_")]
    by_id = {(event.node_id, event.type): event for event in node_events}
    assert by_id[("c", "node_finished")].parent is None
    inner = by_id[("w/add", "node_finished")]
    assert (inner.node_type, inner.parent, inner.parent_type) == ("Add", "w", "workflow:add_scale")
    assert json.loads(inner.model_dump_json())["parent"] == "w"


def test_a_failure_inside_fails_only_what_depends_on_it(library_dir: Path, executor: Executor) -> None:
    write(
        library_dir,
        "fragile",
        workflow(
            {"f": ("Fail", {"x": 1, "message": "inner trouble"}), "ok": ("Const", {"value": 3})},
            {"bad": link("f", "value"), "ok": link("ok", "value")},
        ),
    )
    outer = workflow(
        {"w": ("workflow:fragile", {}), "after": ("Add", {"x": link("w", "bad")})},
        {"after": link("after", "sum"), "ok": link("w", "ok")},
    )
    result = executor.run(outer)
    assert result.status == "failed" and result.outputs == {"ok": 3}
    failure = result.failures["w/f"]
    assert failure.message == "inner trouble" and failure.node_type == "Fail"
    assert result.explanations["after"].message == "not run: w/f failed"


def test_the_run_document_is_flat_and_reruns_without_the_library(registry: Registry, executor: Executor) -> None:
    outer = workflow({"w": ("workflow:add_scale", {"x": 2})}, {"v": link("w", "scaled")}, params={"f": "w.factor"})
    result = executor.run(outer, {"f": 10})
    flat = load_workflow(result.workflow.to_json())  # what a save node embeds
    assert set(flat.nodes) == {"w/add", "w/scale"} and flat.param_targets("f") == ["w/scale.factor"]
    standalone = Executor(registry, device="cpu")
    assert standalone.run(flat).outputs == result.outputs == {"v": 40.0}
    assert standalone.run(flat, {"f": 1}).outputs == {"v": 4.0}


def test_an_output_node_inside_runs(library_dir: Path, executor: Executor, tmp_path: Path) -> None:
    write(
        library_dir,
        "note",
        workflow({"save": ("SaveText", {"text": "hello", "prefix": "note"})}, {}, params={"text": "save.text"}),
    )
    result = executor.run(workflow({"n": ("workflow:note", {"text": "from outside"})}, {}))
    assert [Path(path).read_text() for path in result.files] == ["from outside"]
    # Asking for the workflow node runs the output nodes inside it (and nothing else).
    both = workflow({"n": ("workflow:note", {"text": "one"}), "m": ("SaveText", {"text": "two"})}, {})
    only = executor.run(both, outputs=["n"])
    assert [Path(path).read_text() for path in only.files] == ["one"] and list(only.explanations) == ["n/save"]


# ---- library, builder ---------------------------------------------------------------------------


def test_library_folders_packs_and_changes_on_disk(tmp_path: Path, library_dir: Path) -> None:
    mine = tmp_path / "mine"
    write(mine, "add_scale", {**ADD_SCALE, "description": "my own"})
    write(tmp_path / "pack", "extra", ADD_SCALE)
    library = WorkflowLibrary([WorkflowFolder(mine, "user"), WorkflowFolder(library_dir, "shipped"),
                               WorkflowFolder(tmp_path / "pack", "mypack", "mypack.")])  # fmt: skip
    assert [(entry.name, entry.source) for entry in library.entries()] == [
        ("add_scale", "user"), ("mypack.extra", "mypack"),
    ]  # fmt: skip
    assert library.get("add_scale").description == "my own"
    assert library.suggest("add_scal") == "add_scale" and "extra" not in library
    assert library.find("../library/add_scale") is None and library.find("mypack./etc") is None
    write(mine, "add_scale", {**ADD_SCALE, "description": "edited, and longer"})
    assert library.get("add_scale").description == "edited, and longer"


def test_discover_reads_the_environment_and_entry_points(
    tmp_path: Path, library_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from importlib.metadata import EntryPoint

    import graph_engine.library as library_module

    points = [
        EntryPoint("broken", "no_such_module_anywhere:PACK", "graph_engine.workflow_packs"),
        EntryPoint("shipped", "workflows:PACK", "graph_engine.workflow_packs"),
    ]
    monkeypatch.setattr(library_module.importlib.metadata, "entry_points", lambda group: points)
    library = WorkflowLibrary.discover(environ={"GRAPH_ENGINE_WORKFLOWS": str(library_dir)})
    assert [folder.source for folder in library.folders] == ["user", "shipped"]
    assert "add_scale" in library and "txt2img" in library
    assert [problem.source for problem in library.problems] == ["broken"]


def test_builder_adds_pinned_workflow_nodes(registry: Registry, library: WorkflowLibrary) -> None:
    builder = WorkflowBuilder(registry, "uses", library=library)
    assert [entry.name for entry in builder.workflows()] == ["add_scale"]
    const = builder.add("Const", value=4)
    inner = builder.add("workflow:add_scale", x=const, factor=0.5)
    builder.output("half", inner["scaled"])
    assert inner.id == "add_scale"
    document = builder.build()
    assert document.nodes["add_scale"].pin == spec_of(registry, library, "add_scale")["workflow"]["hash"]
    assert builder.run().outputs == {"half": 3.0}
    with pytest.raises(BuildError, match="factor"):
        builder.add("workflow:add_scale", factor="fast")
    with pytest.raises(BuildError, match="did you mean 'add_scale'"):
        builder.add("workflow:add_scal")
    reloaded = WorkflowBuilder.load(document, registry, library=library)
    assert reloaded.node("add_scale").spec.name == "workflow:add_scale"


def test_an_interrupt_inside_stops_the_run_there(library_dir: Path, executor: Executor) -> None:
    write(
        library_dir,
        "slow",
        workflow({"s": ("Sleep", {"x": 1, "seconds": 30.0, "steps": 3000})}, {"v": link("s", "value")},
                 params={"x": "s.x"}),
    )  # fmt: skip
    outer = workflow(
        {"w": ("workflow:slow", {}), "after": ("Add", {"x": link("w", "v")})}, {"v": link("after", "sum")}
    )

    def interrupt_when_inside(event: Event) -> None:
        if event.type == "node_progress" and event.parent == "w":
            executor.interrupt()

    result = executor.run(outer, on_event=interrupt_when_inside)
    assert result.status == "interrupted"
    assert result.explanations["w/s"].status.value == "interrupted"
    assert result.explanations["after"].status.value == "not_run"


def test_the_compilation_memo_serves_a_document_only_while_its_definitions_are_unchanged(
    library_dir: Path, registry: Registry, tmp_path: Path
) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    library = WorkflowLibrary([WorkflowFolder(mine, "user"), WorkflowFolder(library_dir, "shipped")])
    executor = Executor(registry, device="cpu", library=library)
    outer = workflow({"w": ("workflow:add_scale", {"x": 1})}, {"v": link("w", "scaled")})
    first = executor.validate(outer)
    assert executor.validate(outer) is first  # served again: nothing changed
    changed = json.loads(json.dumps(ADD_SCALE))
    changed["nodes"]["scale"]["inputs"]["factor"] = 4.0  # same length: only the content tells
    write(library_dir, "add_scale", changed)
    second = executor.validate(outer)
    assert second is not first and second.nodes["w/scale"].constants["factor"] == 4.0
    write(mine, "add_scale", ADD_SCALE)  # now an earlier folder holds the name
    assert executor.validate(outer).nodes["w/scale"].constants["factor"] == 3.0
