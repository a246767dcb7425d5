"""Execution: failure isolation, interrupts, output selection, outputs checking, context."""

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from engine.conftest import link, workflow
from engine.toy_nodes import PACK
from graph_engine import (
    Context,
    Executor,
    NodePack,
    NodeStatus,
    Out,
    Registry,
    ResultCache,
    WorkflowValidationError,
    node,
)


def failing_workflow() -> dict:
    return workflow(
        {
            "a": ("Const", {"value": 1}),
            "boom": ("Fail", {"x": link("a", "value"), "message": "kaput"}),
            "after": ("Add", {"x": link("boom", "value")}),
            "after2": ("Add", {"x": link("after", "sum")}),
            "other": ("Add", {"x": link("a", "value"), "y": 5}),
        },
        {"after": link("after2", "sum"), "other": link("other", "sum")},
    )


def test_a_failure_blocks_only_its_dependents(executor: Executor) -> None:
    events: list[Any] = []
    result = executor.run(failing_workflow(), on_event=events.append)
    assert result.status == "failed" and not result.ok
    assert result.outputs == {"other": 6}
    failure = result.failures["boom"]
    assert (failure.node_type, failure.error_type, failure.message) == ("Fail", "RuntimeError", "kaput")
    assert "raise RuntimeError(message)" in failure.traceback
    assert result.explanations["after"].status is NodeStatus.SKIPPED
    assert result.explanations["after2"].message == "not run: boom failed"
    skipped = [event for event in events if event.type == "node_skipped"]
    assert [(event.node_id, event.cause) for event in skipped] == [("after", "boom"), ("after2", "boom")]
    assert events[-1].type == "run_failed" and events[-1].failed_nodes == ["boom"] and events[-1].outputs == ["other"]


def test_failed_nodes_are_not_cached(executor: Executor) -> None:
    executor.run(failing_workflow())
    again = executor.run(failing_workflow())
    assert again.ran == [] and set(again.failures) == {"boom"}


def test_outputs_are_checked_against_the_declaration(tmp_path: Path) -> None:
    from typing import NamedTuple

    class Pair(NamedTuple):
        left: int
        right: int

    @node
    def BadPair(x: int) -> Pair:
        return (x,)  # one value for two outputs

    @node
    def BadDict(x: int) -> Pair:
        return {"left": x, "rigth": x}

    @node
    def BadType(x: int) -> Out[int, "v"]:
        return "not an int"

    @node
    def GoodDict(x: int) -> Pair:
        return {"left": x, "right": x + 1}

    registry = Registry([PACK, NodePack("extra", nodes=[BadPair, BadDict, BadType, GoodDict], builtin=True)])
    executor = Executor(registry, output_dir=tmp_path)
    nodes = {name: (name, {"x": 1}) for name in ("BadPair", "BadDict", "BadType", "GoodDict")}
    outputs = {name: link(name, "left" if name != "BadType" else "v") for name in nodes}
    result = executor.run(workflow(nodes, outputs))
    assert result.outputs == {"GoodDict": 1}
    assert "expected a tuple or dict of 2 values" in result.failures["BadPair"].message
    assert "rigth" in result.failures["BadDict"].message
    assert "output 'v' (INT): expected an integer" in result.failures["BadType"].message


def sleepy_workflow(seconds: float) -> dict:
    return workflow(
        {
            "a": ("Const", {"value": 1}),
            "b": ("Add", {"x": link("a", "value"), "y": 1}),
            "s": ("Sleep", {"x": link("b", "sum"), "seconds": seconds, "steps": max(1, int(seconds * 100))}),
            "t": ("Add", {"x": link("s", "value"), "y": 1}),
        },
        {"o": link("t", "sum")},
    )


def test_interrupt_between_nodes_leaves_the_executor_healthy(executor: Executor) -> None:
    stop = threading.Event()
    events: list[Any] = []

    def listener(event: Any) -> None:
        events.append(event)
        if event.type == "node_finished" and event.node_id == "b":
            stop.set()

    result = executor.run(sleepy_workflow(0.01), on_event=listener, interrupt=stop)
    assert result.status == "interrupted" and result.outputs == {}
    assert [result.explanations[n].status for n in ("a", "b", "s", "t")] == [
        NodeStatus.RAN,
        NodeStatus.RAN,
        NodeStatus.NOT_RUN,
        NodeStatus.NOT_RUN,
    ]
    assert events[-1].type == "run_interrupted" and events[-1].node_id is None
    resumed = executor.run(sleepy_workflow(0.01))
    assert resumed.ok and resumed.ran == ["s", "t"] and resumed.outputs == {"o": 3}


def test_interrupt_inside_a_long_node(executor: Executor) -> None:
    timer = threading.Timer(0.2, executor.interrupt)
    timer.start()
    started = time.perf_counter()
    events: list[Any] = []
    result = executor.run(sleepy_workflow(20.0), on_event=events.append)
    assert time.perf_counter() - started < 5
    assert result.status == "interrupted"
    assert result.explanations["s"].status is NodeStatus.INTERRUPTED
    assert result.explanations["t"].status is NodeStatus.NOT_RUN
    assert events[-1].type == "run_interrupted" and events[-1].node_id == "s"
    assert any(event.type == "node_progress" and event.node_id == "s" for event in events)
    assert executor.run(sleepy_workflow(0.01)).ok


def test_keyboard_interrupt_in_a_node_ends_the_run_as_interrupted(tmp_path: Path) -> None:
    @node
    def CtrlC(x: int) -> Out[int, "v"]:
        raise KeyboardInterrupt

    executor = Executor(Registry([PACK, NodePack("k", nodes=[CtrlC], builtin=True)]), output_dir=tmp_path)
    result = executor.run(
        workflow(
            {"c": ("CtrlC", {"x": 1}), "d": ("Const", {"value": 2})}, {"c": link("c", "v"), "d": link("d", "value")}
        )
    )
    assert result.status == "interrupted"
    assert result.explanations["c"].status is NodeStatus.INTERRUPTED


def test_requested_outputs_prune_the_plan(executor: Executor) -> None:
    events: list[Any] = []
    result = executor.run(failing_workflow(), outputs=["other"], on_event=events.append)
    assert result.ok and result.outputs == {"other": 6}
    assert events[0].nodes == ["a", "other"]
    with pytest.raises(WorkflowValidationError, match="neither a workflow output nor an output node"):
        executor.run(failing_workflow(), outputs=["nope"])


def test_output_nodes_write_files_with_fresh_names(executor: Executor, tmp_path: Path) -> None:
    document = workflow({"save": ("SaveText", {"text": "hi", "prefix": "note"})}, {})
    first = executor.run(document)
    second = executor.run(document)
    assert [path.name for path in first.files + second.files] == ["note_00001.txt", "note_00002.txt"]
    assert first.files[0].read_text() == "hi" and first.files[0].parent == tmp_path / "out"
    assert second.ran == ["save"]  # output nodes run every time


def test_context_gives_device_ids_and_seeded_rngs(tmp_path: Path) -> None:
    seen: dict[str, Any] = {}

    @node
    def Inspect(ctx: Context, seed: int) -> Out[float, "v"]:
        seen.update(device=ctx.device, run=ctx.run_id, node=ctx.node_id, workflow=ctx.workflow)
        return float(ctx.rng(seed).random())

    executor = Executor(
        Registry([NodePack("i", nodes=[Inspect], builtin=True)]), cache=ResultCache(), device="cpu", output_dir=tmp_path
    )
    document = workflow({"i": ("Inspect", {"seed": 3})}, {"v": link("i", "v")}, params={"seed": "i.seed"})
    first = executor.run(document, {"seed": 4}, run_id="run-1")
    executor.cache.clear()
    second = executor.run(document, {"seed": 4})
    assert first.outputs == second.outputs
    assert (seen["device"], seen["node"]) == ("cpu", "i") and first.run_id == "run-1"
    assert seen["workflow"].nodes["i"].inputs["seed"] == 4  # the document as run, param applied
