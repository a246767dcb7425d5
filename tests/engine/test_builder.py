"""The Python builder: build-time checks, the exact JSON, in-process runs, loading and params."""

import json
from pathlib import Path
from typing import Any

import pytest

from engine.toy_nodes import Add, MakeVec
from graph_engine import BuildError, Registry, WorkflowBuilder, WorkflowValidationError, load_workflow


def small(registry: Registry) -> WorkflowBuilder:
    b = WorkflowBuilder(registry, name="sum", description="adds")
    a = b.add("Const", "a", value=2)
    total = b.add(Add, "total", x=a.value, y=3)
    b.param("y", total.input("y"))
    b.output("total", total)
    return b


def test_builds_the_document_the_cli_runs(registry: Registry) -> None:
    document = json.loads(small(registry).to_json())
    assert document == {
        "schema_version": 1,
        "name": "sum",
        "description": "adds",
        "nodes": {
            "a": {"type": "Const", "inputs": {"value": 2}},
            "total": {"type": "Add", "inputs": {"x": {"from": "a", "output": "value"}, "y": 3}},
        },
        "params": {"y": "total.y"},
        "outputs": {"total": {"from": "total", "output": "sum"}},
    }


def test_runs_in_process_with_params_and_events(registry: Registry) -> None:
    b = small(registry)
    events: list[Any] = []
    assert b.run({"y": 5}, on_event=events.append).outputs == {"total": 7}
    assert events[-1].type == "run_finished"
    again = b.run({"y": 5})
    assert again.ran == []  # the builder keeps its executor, and so its cache


def test_generated_ids_are_readable_and_unique(registry: Registry) -> None:
    b = WorkflowBuilder(registry)
    first = b.add("Const", value=1)
    second = b.add("Const", value=2)
    vec = b.add(MakeVec, n=3)
    assert (first.id, second.id, vec.id) == ("const", "const_2", "make_vec")


def test_build_time_checks(registry: Registry) -> None:
    b = WorkflowBuilder(registry)
    text = b.add("Concat", "text", a="x")
    vec = b.add("MakeVec", "vec", n=2)
    divmod_node = b.add("DivMod", "dm", a=7, b=2)
    with pytest.raises(BuildError, match=r"cannot connect text.text \(STRING\) to add.x \(INT\)"):
        b.add("Add", x=text)
    with pytest.raises(BuildError, match="did you mean 'x'"):
        b.add("Add", xx=1)
    with pytest.raises(BuildError, match="above the maximum"):
        b.add("Add", x=1, y=10_000)
    with pytest.raises(BuildError, match="has outputs quotient, remainder"):
        b.add("Add", x=divmod_node)
    with pytest.raises(BuildError, match="no output 'sum'"):
        divmod_node["sum"]
    with pytest.raises(BuildError, match="unknown node type 'Ad'; did you mean 'Add'"):
        b.add("Ad")
    with pytest.raises(BuildError, match="already a node 'vec'"):
        b.add("Const", "vec", value=1)
    with pytest.raises(BuildError, match="another workflow builder"):
        WorkflowBuilder(registry).add("SumVec", vec=vec)
    with pytest.raises(BuildError, match="not an input"):
        b.param("p", "text.nope")
    assert "add" not in b.build(validate=False).nodes  # failed adds leave nothing behind
    b.add("Add", "ok", x=divmod_node.remainder)


def test_build_validates_the_whole_document(registry: Registry) -> None:
    b = WorkflowBuilder(registry)
    b.add("Add", "incomplete")
    with pytest.raises(WorkflowValidationError) as caught:
        b.build()
    assert {issue.code.value for issue in caught.value.issues} == {"missing_input", "no_outputs"}


def test_load_edit_and_override(registry: Registry, tmp_path: Path) -> None:
    path = tmp_path / "wf.json"
    small(registry).save(path)
    b = WorkflowBuilder.load(path, registry)
    b.node("total").set(y=10)
    b.param("start", b.node("a").input("value"), default=1, description="first value")
    assert b.run().outputs == {"total": 11}
    assert b.run({"start": 5, "y": 1}).outputs == {"total": 6}
    assert load_workflow(b.to_json()).params["start"].description == "first value"
