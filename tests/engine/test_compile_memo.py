"""The executor's compilation memo: equal documents are served from it, changed nodes are
re-checked (every issue still reported), unchanged nodes and structures are reused, and
every table stays bounded."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.conftest import link, workflow
from engine.test_properties import random_dags
from graph_engine import Executor, Registry, ResultCache, WorkflowValidationError, load_workflow
from graph_engine.compile_memo import CompileMemo
from graph_engine.memo import BoundedMemo
from graph_engine.validation import validate_workflow


def deep_chain(length: int = 8, y: Any = 1) -> dict[str, Any]:
    """a0 -> a1 -> ... with a side branch s1 off a2; `y` is a3's constant."""
    nodes: dict[str, Any] = {"a0": ("Const", {"value": 1})}
    for index in range(1, length):
        nodes[f"a{index}"] = ("Add", {"x": link(f"a{index - 1}", "sum" if index > 1 else "value"), "y": 1})
    nodes["a3"] = ("Add", {"x": link("a2", "sum"), "y": y})
    nodes["s1"] = ("Add", {"x": link("a2", "sum"), "y": 5})
    return workflow(nodes, {"end": link(f"a{length - 1}", "sum"), "side": link("s1", "sum")})


def test_a_constant_changed_deep_in_the_graph_reruns_exactly_its_descendants(executor: Executor) -> None:
    executor.run(deep_chain(y=1))
    result = executor.run(deep_chain(y=2))
    assert sorted(result.ran) == ["a3", "a4", "a5", "a6", "a7"]
    assert result.outputs == {"end": 9, "side": 8}
    again = executor.run(deep_chain(y=1))  # back to the first value: all from the cache
    assert again.ran == [] and again.outputs == {"end": 8, "side": 8}


def test_validation_reports_every_newly_invalid_value_after_memoised_runs(executor: Executor) -> None:
    executor.run(deep_chain(y=1))
    broken = deep_chain(y=5000)  # out of Add.y's range
    broken["nodes"]["a6"]["inputs"]["y"] = "text"  # not an INT
    with pytest.raises(WorkflowValidationError) as raised:
        executor.run(broken)
    found = {(issue.node_id, issue.input) for issue in raised.value.issues}
    assert found == {("a3", "y"), ("a6", "y")}


def test_type_exact_constants_are_not_conflated(executor: Executor) -> None:
    executor.run(deep_chain(y=1))
    with pytest.raises(WorkflowValidationError) as raised:
        executor.run(deep_chain(y=True))  # True == 1 in Python, but a BOOLEAN is not an INT
    assert [(issue.node_id, issue.input) for issue in raised.value.issues] == [("a3", "y")]
    with pytest.raises(WorkflowValidationError):
        executor.run(deep_chain(y=1.0))


def test_an_equal_document_is_served_from_the_memo_whatever_its_form(executor: Executor) -> None:
    document = deep_chain()
    compiled = executor.validate(document)
    assert executor.validate(copy.deepcopy(document)) is compiled
    text = json.dumps(document)
    assert executor.validate(text) is executor.validate(json.dumps(document))
    assert executor.validate(document, {"a3.y": 2}) is not compiled  # params are part of the digest
    assert executor.validate(document, {"a3.y": 2}).nodes["a3"].constants["y"] == 2


def test_an_equal_workflow_object_gets_its_own_document_back(executor: Executor, registry: Registry) -> None:
    first, second = load_workflow(deep_chain()), load_workflow(deep_chain())
    assert executor.validate(first).workflow is first
    assert executor.validate(second).workflow is second
    assert executor.run(second).workflow is second


def test_a_workflow_edited_in_place_is_compiled_again(executor: Executor) -> None:
    document = load_workflow(deep_chain())
    assert executor.run(document).outputs["end"] == 8
    document.nodes["a3"].inputs["y"] = 3
    assert executor.run(document).outputs["end"] == 10


def test_unchanged_nodes_reuse_their_compilation_changed_ones_do_not(executor: Executor) -> None:
    before = executor.validate(deep_chain(y=1))
    after = executor.validate(deep_chain(y=2))
    assert after is not before
    assert after.nodes["a3"] is not before.nodes["a3"]
    assert all(after.nodes[node_id] is before.nodes[node_id] for node_id in before.nodes if node_id != "a3")
    assert after.order == before.order


def test_a_producer_changing_type_rechecks_its_consumers(executor: Executor) -> None:
    valid = workflow({"p": ("Const", {"value": 3}), "c": ("Add", {"x": link("p", "value")})}, {"o": link("c", "sum")})
    executor.validate(valid)
    # MakeVec has no output "value"; the unchanged consumer's link must be checked again.
    changed = workflow({"p": ("MakeVec", {"n": 3}), "c": ("Add", {"x": link("p", "value")})}, {"o": link("c", "sum")})
    with pytest.raises(WorkflowValidationError) as raised:
        executor.validate(changed)
    assert [(issue.code, issue.node_id) for issue in raised.value.issues] == [("unknown_output", "c")]


def test_nodes_compiled_beside_an_error_are_not_remembered(executor: Executor) -> None:
    # With its producer's type unknown, the consumer compiles without that link (the error is
    # reported on the producer); remembering it would drop the link once the producer is fixed.
    broken = workflow({"p": ("Nope", {}), "c": ("Add", {"x": link("p", "value")})}, {"o": link("c", "sum")})
    with pytest.raises(WorkflowValidationError):
        executor.validate(broken)
    fixed = workflow({"p": ("Const", {"value": 3}), "c": ("Add", {"x": link("p", "value")})}, {"o": link("c", "sum")})
    assert executor.validate(fixed).nodes["c"].producers == ("p",)
    assert executor.run(fixed).outputs == {"o": 3}


def test_a_param_set_node_is_compiled_with_its_value(executor: Executor) -> None:
    document = {**deep_chain(), "params": {"step": "a3.y"}}
    assert executor.run(document, {"step": 4}).outputs["end"] == 11
    assert executor.run(document, {"step": 2}).outputs["end"] == 9
    assert executor.run(document).outputs["end"] == 8  # the document's own value


def test_file_fingerprints_are_checked_on_every_run_of_a_memoised_document(executor: Executor, tmp_path: Path) -> None:
    source = tmp_path / "in.txt"
    source.write_text("one")
    document = workflow({"r": ("ReadText", {"path": str(source)})}, {"text": link("r", "text")})
    assert executor.run(document).outputs == {"text": "one"}
    assert executor.run(document).ran == []
    source.write_text("two!")
    result = executor.run(document)
    assert result.ran == ["r"] and result.outputs == {"text": "two!"}


def test_uncacheable_nodes_run_on_every_run_of_a_memoised_document(executor: Executor) -> None:
    document = workflow(
        {"t": ("Clock", {}), "c": ("Const", {"value": 1})}, {"ns": link("t", "ns"), "one": link("c", "value")}
    )
    executor.run(document)
    assert executor.run(document).ran == ["t"]


def test_identical_subgraphs_still_share_results_between_executors_memos(registry: Registry) -> None:
    cache = ResultCache(max_bytes=None)
    Executor(registry, cache=cache, device="cpu").run(deep_chain())
    renamed = json.loads(json.dumps(deep_chain()).replace('"a', '"b'))
    assert Executor(registry, cache=cache, device="cpu").run(renamed).ran == []


def test_every_memo_table_is_bounded(registry: Registry, tmp_path: Path) -> None:
    memo = CompileMemo(documents=2, nodes=5, structures=1)
    executor = Executor(registry, device="cpu", output_dir=tmp_path, compile_memo=memo)
    for y in range(6):
        assert executor.run(deep_chain(y=y)).outputs["end"] == 8 + y - 1
    assert len(memo._documents) == 2
    assert len(memo.validation.nodes) == 5
    assert len(memo.validation.structures) == 1


def test_bounded_memo_drops_the_least_recently_used_entry() -> None:
    memo: BoundedMemo[str, int] = BoundedMemo(2)
    memo.put("a", 1)
    memo.put("b", 2)
    assert memo.get("a") == 1  # "b" is now the least recently used
    memo.put("c", 3)
    assert (memo.get("a"), memo.get("b"), memo.get("c")) == (1, None, 3)
    with pytest.raises(ValueError):
        BoundedMemo(0)


def test_a_changed_json_document_reuses_the_parsed_entries_of_unchanged_nodes(executor: Executor) -> None:
    before = executor.validate(json.dumps(deep_chain(y=1)))
    after = executor.validate(deep_chain(y=2))
    assert after.workflow.nodes["a3"] is not before.workflow.nodes["a3"]
    assert all(
        after.workflow.nodes[node_id] is before.workflow.nodes[node_id] for node_id in after.nodes if node_id != "a3"
    )
    assert list(after.workflow.nodes) == list(deep_chain()["nodes"])  # the document's order


def test_document_errors_in_a_changed_node_are_reported_as_without_the_memo(executor: Executor) -> None:
    executor.validate(deep_chain())
    broken = deep_chain()
    broken["nodes"]["a5"]["colour"] = "red"  # not a field of a node
    broken["nodes"]["bad id!"] = {"type": "Const", "inputs": {"value": 1}}
    with pytest.raises(WorkflowValidationError) as with_memo:
        executor.validate(broken)
    with pytest.raises(WorkflowValidationError) as without:
        load_workflow(broken)
    assert with_memo.value.issues == without.value.issues
    assert {issue.node_id for issue in with_memo.value.issues} >= {"a5"}


CONSTANT_EDITS = st.sampled_from([0, 3, -7, 5000, True, 1.5, "text", None, [1]])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(documents=st.lists(random_dags(), min_size=1, max_size=3), data=st.data())
def test_memoised_compilation_matches_compiling_from_scratch(
    documents: list[dict[str, Any]], data: st.DataObject, registry: Registry
) -> None:
    """A run of random documents and random edits (valid or not) on one executor compiles
    each exactly as a memo-free validation does, or fails with the same issues."""
    executor = Executor(registry, device="cpu")
    for document in documents:
        for _ in range(data.draw(st.integers(1, 4))):
            edited = copy.deepcopy(document)
            node_id = data.draw(st.sampled_from(sorted(edited["nodes"])))
            entry = edited["nodes"][node_id]
            if data.draw(st.booleans()):
                entry["type"] = data.draw(st.sampled_from(["Const", "Add", "Fail", "Clock", "MakeVec", "Unknown"]))
            else:
                entry["inputs"][data.draw(st.sampled_from(["value", "y", "x"]))] = data.draw(CONSTANT_EDITS)
            source = json.dumps(edited) if data.draw(st.booleans()) else edited
            try:
                expected = validate_workflow(load_workflow(edited), registry)
            except WorkflowValidationError as error:
                with pytest.raises(WorkflowValidationError) as raised:
                    executor.validate(source)
                assert raised.value.issues == error.issues
                continue
            compiled = executor.validate(source)
            assert compiled.order == expected.order
            assert compiled.workflow.to_dict() == expected.workflow.to_dict()
            assert compiled.outputs == expected.outputs and compiled.output_nodes == expected.output_nodes
            assert {key: (node.spec, node.constants, node.links) for key, node in compiled.nodes.items()} == {
                key: (node.spec, node.constants, node.links) for key, node in expected.nodes.items()
            }
            assert all(node.key_base == expected.nodes[key].key_base for key, node in compiled.nodes.items())
            document = edited
