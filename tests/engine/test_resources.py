"""Services declared by packs: created once per executor, shared across runs, never global."""

from __future__ import annotations

import pytest

from graph_engine import Context, Executor, NodePack, Registry, Resources, node


class Counter:
    """A stand-in for a model manager: state that must survive across runs."""

    def __init__(self) -> None:
        self.calls = 0


@node(category="test", cacheable=False)
def Tick(ctx: Context) -> int:
    counter = ctx.resource(Counter)
    counter.calls += 1
    return counter.calls


def workflow() -> dict:
    return {
        "schema_version": 1,
        "nodes": {"tick": {"type": "Tick", "inputs": {}}},
        "outputs": {"count": {"from": "tick", "output": "int"}},
    }


def test_pack_resource_is_created_once_per_executor_and_kept_across_runs() -> None:
    registry = Registry([NodePack("test", nodes=[Tick], builtin=True, resources={Counter: Counter})])
    executor = Executor(registry, device="cpu")
    assert executor.run(workflow()).outputs["count"] == 1
    assert executor.run(workflow()).outputs["count"] == 2
    other = Executor(registry, device="cpu")
    assert other.run(workflow()).outputs["count"] == 1
    assert list(executor.resources.created()) == [Counter]


def test_provided_instance_is_shared_and_missing_resource_fails_the_node_clearly() -> None:
    shared = Resources()
    shared.provide(Counter, Counter())
    registry = Registry([NodePack("test", nodes=[Tick], builtin=True)])
    first = Executor(registry, device="cpu", resources=shared)
    second = Executor(registry, device="cpu", resources=shared)
    first.run(workflow())
    assert second.run(workflow()).outputs["count"] == 2

    bare = Executor(registry, device="cpu")
    result = bare.run(workflow())
    assert result.status == "failed"
    assert "no resource of type Counter" in result.failures["tick"].message
    with pytest.raises(LookupError):
        Resources().get(Counter)
