"""Property tests on random DAGs: caching never changes results; event order invariants hold."""

from pathlib import Path
from typing import Any

import networkx as nx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.conftest import link, workflow
from engine.toy_nodes import PACK
from graph_engine import Executor, Registry, ResultCache

REGISTRY = Registry([PACK])
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@st.composite
def random_dags(draw: st.DrawFn) -> dict[str, Any]:
    """Const/Add/Fail/Clock nodes n0..nk, each linking only to earlier nodes; some outputs."""
    count = draw(st.integers(1, 12))
    nodes: dict[str, tuple[str, dict[str, Any]]] = {}
    for index in range(count):
        node_id = f"n{index}"
        kind = "Const" if index == 0 else draw(st.sampled_from(["Const", "Add", "Add", "Add", "Fail", "Clock"]))
        if kind == "Const":
            nodes[node_id] = ("Const", {"value": draw(st.integers(-5, 5))})
        elif kind == "Clock":
            nodes[node_id] = ("Clock", {})
        else:
            source = f"n{draw(st.integers(0, index - 1))}"
            output = "value" if nodes[source][0] != "Add" else "sum"
            output = "ns" if nodes[source][0] == "Clock" else output
            inputs: dict[str, Any] = {"x": link(source, output)}
            if kind == "Add" and draw(st.booleans()):
                other = f"n{draw(st.integers(0, index - 1))}"
                other_output = {"Const": "value", "Add": "sum", "Fail": "value", "Clock": "ns"}[nodes[other][0]]
                inputs["y"] = link(other, other_output)
            elif kind == "Add":
                inputs["y"] = draw(st.integers(-5, 5))
            nodes[node_id] = (kind, inputs)
    chosen = draw(st.lists(st.sampled_from(sorted(nodes)), min_size=1, unique=True))
    outputs = {
        f"out_{node_id}": link(
            node_id, {"Const": "value", "Add": "sum", "Fail": "value", "Clock": "ns"}[nodes[node_id][0]]
        )
        for node_id in chosen
    }
    return workflow(nodes, outputs)


def dependency_graph(document: dict[str, Any]) -> nx.DiGraph:
    graph = nx.DiGraph()
    for node_id, entry in document["nodes"].items():
        graph.add_node(node_id)
        for value in entry["inputs"].values():
            if isinstance(value, dict):
                graph.add_edge(value["from"], node_id)
    return graph


def clock_dependents(document: dict[str, Any]) -> set[str]:
    """Clocks and everything downstream of one: these legitimately differ on every run."""
    graph = dependency_graph(document)
    clocks = {node_id for node_id, entry in document["nodes"].items() if entry["type"] == "Clock"}
    return clocks.union(*(nx.descendants(graph, clock) for clock in clocks))


def deterministic_outputs(document: dict[str, Any], outputs: dict[str, Any]) -> dict[str, Any]:
    """Outputs that do not depend on a Clock (whose value differs on every run)."""
    tainted = clock_dependents(document)
    return {name: value for name, value in outputs.items() if document["outputs"][name]["from"] not in tainted}


def fresh_executor(tmp_path: Path, enabled: bool = True) -> Executor:
    return Executor(REGISTRY, cache=ResultCache(enabled=enabled), device="cpu", output_dir=tmp_path)


@SETTINGS
@given(document=random_dags())
def test_cached_runs_give_the_same_outputs_as_uncached_ones(document: dict[str, Any], tmp_path: Path) -> None:
    uncached = fresh_executor(tmp_path, enabled=False).run(document)
    cached_executor = fresh_executor(tmp_path)
    cold = cached_executor.run(document)
    warm = cached_executor.run(document)
    for result in (cold, warm):
        assert result.status == uncached.status
        assert set(result.outputs) == set(uncached.outputs)
        assert deterministic_outputs(document, result.outputs) == deterministic_outputs(document, uncached.outputs)
        assert set(result.failures) == set(uncached.failures)
    assert set(warm.ran) <= clock_dependents(document)  # only what depends on a clock runs again


@SETTINGS
@given(document=random_dags(), data=st.data())
def test_changing_one_constant_reruns_only_its_descendants(
    document: dict[str, Any], data: st.DataObject, tmp_path: Path
) -> None:
    consts = sorted(node_id for node_id, entry in document["nodes"].items() if entry["type"] == "Const")
    changed = data.draw(st.sampled_from(consts))
    edited = {**document, "nodes": {**document["nodes"]}}
    edited["nodes"][changed] = {
        "type": "Const",
        "inputs": {"value": document["nodes"][changed]["inputs"]["value"] + 100},
    }

    executor = fresh_executor(tmp_path)
    executor.run(document)
    rerun = executor.run(edited)
    reference = fresh_executor(tmp_path, enabled=False).run(edited)
    assert deterministic_outputs(edited, rerun.outputs) == deterministic_outputs(edited, reference.outputs)

    may_run = {changed} | nx.descendants(dependency_graph(edited), changed) | clock_dependents(edited)
    assert set(rerun.ran) <= may_run


TERMINAL_NODE_EVENTS = {"node_cached", "node_skipped", "node_finished", "node_failed"}


@SETTINGS
@given(document=random_dags(), warm=st.booleans())
def test_event_order_invariants(document: dict[str, Any], warm: bool, tmp_path: Path) -> None:
    executor = fresh_executor(tmp_path)
    if warm:
        executor.run(document)
    events: list[Any] = []
    result = executor.run(document, on_event=events.append)

    assert [event.seq for event in events] == list(range(len(events)))
    assert len({event.run_id for event in events}) == 1
    assert events[0].type == "run_started"
    assert events[-1].type == {"success": "run_finished", "failed": "run_failed"}[result.status]
    planned = events[0].nodes
    assert set(planned) == set(result.explanations)

    finished_at: dict[str, int] = {}
    running: str | None = None
    for position, event in enumerate(events[1:-1], start=1):
        if event.type == "node_started":
            assert running is None  # one node at a time
            running = event.node_id
        elif event.type == "node_progress":
            assert event.node_id == running
        else:
            assert event.type in TERMINAL_NODE_EVENTS
            assert event.node_id not in finished_at  # exactly one outcome per node
            if event.type in ("node_finished", "node_failed"):
                assert running == event.node_id
                running = None
            else:
                assert running is None
            finished_at[event.node_id] = position
    assert set(finished_at) == set(planned)
    for node_id, entry in document["nodes"].items():
        if node_id not in finished_at:
            continue
        for value in entry["inputs"].values():
            if isinstance(value, dict):
                assert finished_at[value["from"]] < finished_at[node_id]  # producers first
