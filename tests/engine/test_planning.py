"""Planning: pruning to what the outputs need, deterministic order, no per-node recursion."""

import inspect
import sys
from pathlib import Path

from engine.conftest import link, workflow
from graph_engine import Executor, Registry, ResultCache, load_workflow
from graph_engine.planning import plan_run
from graph_engine.validation import validate_workflow


def branches() -> dict:
    return workflow(
        {
            "a": ("Const", {"value": 1}),
            "b": ("Add", {"x": link("a", "value")}),
            "unused": ("Add", {"x": link("a", "value")}),
            "c": ("Const", {"value": 2}),
            "d": ("Add", {"x": link("c", "value"), "y": 1}),
            "save": ("SaveText", {"text": "x"}),
        },
        {"b": link("b", "sum"), "d": link("d", "sum")},
    )


def test_plan_keeps_only_what_the_outputs_need(registry: Registry) -> None:
    compiled = validate_workflow(load_workflow(branches()), registry)
    assert set(plan_run(compiled).order) == {"a", "b", "c", "d", "save"}
    only_b = plan_run(compiled, ["b"])
    assert only_b.order == ("a", "b") and set(only_b.outputs) == {"b"}
    assert plan_run(compiled, ["save"]).order == ("save",)


def test_order_depends_on_ids_and_links_not_on_file_order(registry: Registry) -> None:
    document = branches()
    reordered = {**document, "nodes": dict(reversed(list(document["nodes"].items())))}
    first = plan_run(validate_workflow(load_workflow(document), registry)).order
    second = plan_run(validate_workflow(load_workflow(reordered), registry)).order
    assert first == second
    position = {node_id: index for index, node_id in enumerate(first)}
    assert position["a"] < position["b"] and position["c"] < position["d"]


def test_long_chains_run_without_recursion(registry: Registry, tmp_path: Path) -> None:
    count = 3000
    nodes = {"n0": ("Const", {"value": 0})}
    nodes.update(
        {
            f"n{index}": ("Add", {"x": link(f"n{index - 1}", "sum" if index > 1 else "value"), "y": 1})
            for index in range(1, count)
        }
    )
    # every node an output: the worst case for pruning
    document = workflow(nodes, {f"o{index}": link(f"n{index}", "sum") for index in range(1, count)})
    executor = Executor(registry, cache=ResultCache(), output_dir=tmp_path)
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(len(inspect.stack()) + 150)  # far fewer frames than nodes
    try:
        first = executor.run(document)
        cached = executor.run(document)
    finally:
        sys.setrecursionlimit(limit)
    assert first.ok and first.outputs[f"o{count - 1}"] == count - 1
    assert cached.ran == []
