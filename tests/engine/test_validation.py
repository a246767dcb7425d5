"""Validation: every kind of error, reported together, with node, input, code and message."""

from typing import Any

import pytest

from engine.conftest import link, workflow
from graph_engine import Registry, ValidationIssue, WorkflowValidationError, load_workflow
from graph_engine.validation import validate_workflow


def issues(
    registry: Registry, document: dict[str, Any], params: dict[str, Any] | None = None, text: bool = False
) -> list[ValidationIssue]:
    with pytest.raises(WorkflowValidationError) as caught:
        validate_workflow(load_workflow(document), registry, params, params_as_text=text)
    return caught.value.issues


def only(registry: Registry, document: dict[str, Any], **kwargs: Any) -> ValidationIssue:
    found = issues(registry, document, **kwargs)
    assert len(found) == 1, found
    return found[0]


OUT = {"out": link("a", "value")}


def test_valid_workflow_compiles_with_defaults_filled(registry: Registry) -> None:
    compiled = validate_workflow(
        load_workflow(
            workflow({"a": ("Const", {"value": 1}), "b": ("Add", {"x": link("a", "value")})}, {"o": link("b", "sum")})
        ),
        registry,
    )
    assert compiled.nodes["b"].constants == {"y": 0}
    assert compiled.nodes["b"].links["x"].node == "a"


def test_unknown_node_type_suggests_closest(registry: Registry) -> None:
    issue = only(registry, workflow({"a": ("Cnst", {"value": 1})}, OUT))
    assert (issue.code.value, issue.node_id, issue.suggestion) == ("unknown_node_type", "a", "Const")
    assert "did you mean 'Const'" in issue.message


def test_unknown_input(registry: Registry) -> None:
    issue = only(registry, workflow({"a": ("Const", {"value": 1, "valeu": 2})}, OUT))
    assert (issue.code.value, issue.node_id, issue.input, issue.suggestion) == ("unknown_input", "a", "valeu", "value")


def test_missing_input(registry: Registry) -> None:
    issue = only(registry, workflow({"a": ("Const", {})}, OUT))
    assert (issue.code.value, issue.node_id, issue.input, issue.expected) == ("missing_input", "a", "value", "INT")


def test_link_to_missing_node(registry: Registry) -> None:
    document = workflow({"a": ("Const", {"value": 1}), "b": ("Add", {"x": link("ghost", "value")})}, OUT)
    issue = only(registry, document)
    assert (issue.code.value, issue.node_id, issue.input, issue.got) == ("unknown_node", "b", "x", "ghost")


def test_link_to_missing_output(registry: Registry) -> None:
    document = workflow({"a": ("Const", {"value": 1}), "b": ("Add", {"x": link("a", "sum")})}, OUT)
    issue = only(registry, document)
    assert (issue.code.value, issue.input, issue.got, issue.suggestion) == ("unknown_output", "x", "sum", None)
    assert "its outputs: value" in issue.message


def test_type_mismatch_names_both_types(registry: Registry) -> None:
    document = workflow({"a": ("Concat", {"a": "x"}), "b": ("Add", {"x": link("a", "text")})}, {"o": link("b", "sum")})
    issue = only(registry, document)
    assert (issue.code.value, issue.node_id, issue.input, issue.expected, issue.got) == (
        "type_mismatch",
        "b",
        "x",
        "INT",
        "STRING",
    )


def test_int_output_may_feed_a_float_input(registry: Registry) -> None:
    document = workflow(
        {"a": ("Const", {"value": 1}), "s": ("Scale", {"x": link("a", "value")})}, {"o": link("s", "value")}
    )
    validate_workflow(load_workflow(document), registry)


def test_constant_of_the_wrong_type(registry: Registry) -> None:
    issue = only(registry, workflow({"a": ("Const", {"value": "1"})}, OUT))
    assert (issue.code.value, issue.node_id, issue.input, issue.expected) == ("wrong_type", "a", "value", "INT")


def test_constant_out_of_range(registry: Registry) -> None:
    document = workflow({"a": ("Const", {"value": 1}), "b": ("Add", {"x": link("a", "value"), "y": 5000})}, OUT)
    issue = only(registry, document)
    assert (issue.code.value, issue.input, issue.got) == ("out_of_range", "y", "5000")
    assert "above the maximum 1000" in issue.message


def test_constant_not_among_choices(registry: Registry) -> None:
    issue = only(registry, workflow({"a": ("Concat", {"a": "x", "mode": "lower"})}, {"o": link("a", "text")}))
    assert (issue.code.value, issue.input) == ("not_a_choice", "mode")
    assert "'plain', 'upper'" in issue.message


def test_constant_for_a_link_only_type(registry: Registry) -> None:
    issue = only(registry, workflow({"a": ("SumVec", {"vec": [1.0, 2.0]})}, {"o": link("a", "total")}))
    assert (issue.code.value, issue.input, issue.expected) == ("link_required", "vec", "a link to a VEC output")


def test_cycle_names_the_nodes(registry: Registry) -> None:
    document = workflow(
        {
            "a": ("Add", {"x": link("c", "sum")}),
            "b": ("Add", {"x": link("a", "sum")}),
            "c": ("Add", {"x": link("b", "sum")}),
            "d": ("Add", {"x": link("d", "sum")}),
        },
        {"o": link("c", "sum")},
    )
    found = issues(registry, document)
    assert [(issue.code.value, issue.got) for issue in found] == [("cycle", "a -> b -> c"), ("cycle", "d")]
    assert "a, b, c form a cycle" in found[0].message


def test_nothing_to_output(registry: Registry) -> None:
    issue = only(registry, workflow({"a": ("Const", {"value": 1})}, {}))
    assert issue.code.value == "no_outputs"


def test_output_node_counts_as_output(registry: Registry) -> None:
    validate_workflow(load_workflow(workflow({"s": ("SaveText", {"text": "x"})}, {})), registry)


def test_workflow_output_to_missing_output(registry: Registry) -> None:
    issue = only(registry, workflow({"a": ("Const", {"value": 1})}, {"o": link("a", "nope")}))
    assert (issue.code.value, issue.location) == ("unknown_output", "outputs.o")


def test_bad_param_targets(registry: Registry) -> None:
    document = workflow(
        {"a": ("Const", {"value": 1})},
        OUT,
        params={"p": "a", "q": "ghost.value", "r": "a.valeu"},
    )
    found = issues(registry, document)
    assert [(issue.code.value, issue.location) for issue in found] == [
        ("bad_param_target", "params.p"),
        ("bad_param_target", "params.q"),
        ("bad_param_target", "params.r"),
    ]
    assert found[2].suggestion == "value"


def test_param_targets_of_different_types(registry: Registry) -> None:
    document = workflow(
        {"a": ("Const", {"value": 1}), "c": ("Concat", {"a": "x"})}, OUT, params={"p": ["a.value", "c.a"]}
    )
    issue = only(registry, document)
    assert (issue.code.value, issue.got) == ("param_type_conflict", "INT, STRING")


def test_param_values_are_coerced_from_text_by_the_target_type(registry: Registry) -> None:
    document = load_workflow(workflow({"a": ("Const", {"value": 1})}, OUT, params={"v": "a.value"}))
    compiled = validate_workflow(document, registry, {"v": "7"}, params_as_text=True)
    assert compiled.nodes["a"].constants["value"] == 7
    assert compiled.workflow.nodes["a"].inputs["value"] == 7  # written into the document that runs
    assert document.nodes["a"].inputs["value"] == 1  # the original is untouched
    issue = only(
        registry,
        workflow({"a": ("Const", {"value": 1})}, OUT, params={"v": "a.value"}),
        params={"v": "seven"},
        text=True,
    )
    assert (issue.code.value, issue.node_id, issue.input, issue.location) == ("wrong_type", "a", "value", "params.v")


def test_unknown_param_and_node_input_paths(registry: Registry) -> None:
    document = workflow({"a": ("Const", {"value": 1})}, OUT, params={"value": "a.value"})
    issue = only(registry, document, params={"vaule": 3})
    assert (issue.code.value, issue.suggestion) == ("unknown_param", "value")
    compiled = validate_workflow(load_workflow(document), registry, {"a.value": 5})
    assert compiled.nodes["a"].constants["value"] == 5


def test_param_default_applies_to_every_target(registry: Registry) -> None:
    document = workflow(
        {"a": ("Const", {"value": 1}), "b": ("Add", {"x": link("a", "value"), "y": 1}), "c": ("Add", {"x": 1})},
        {"o": link("b", "sum")},
        params={"y": {"targets": ["b.y", "c.y"], "default": 9}},
    )
    compiled = validate_workflow(load_workflow(document), registry)
    assert compiled.nodes["b"].constants["y"] == compiled.nodes["c"].constants["y"] == 9
    compiled = validate_workflow(load_workflow(document), registry, {"y": 2})
    assert compiled.nodes["c"].constants["y"] == 2


def test_several_errors_are_reported_together(registry: Registry) -> None:
    document = workflow(
        {
            "a": ("Cnst", {"value": 1}),
            "b": ("Add", {"x": link("ghost", "value"), "y": "2", "z": 1}),
            "c": ("Concat", {"mode": "lower"}),
        },
        {"o": link("b", "sum")},
        params={"p": "nowhere.x"},
    )
    found = issues(registry, document, params={"q": 1})
    codes = sorted(issue.code.value for issue in found)
    assert codes == sorted(
        [
            "unknown_node_type",
            "bad_param_target",
            "unknown_param",
            "unknown_input",
            "unknown_node",
            "wrong_type",
            "missing_input",
            "not_a_choice",
        ]
    )
    assert all(issue.message for issue in found)
    error = WorkflowValidationError(found)
    assert "8 problems" in str(error)
    assert error.to_json()[0].keys() >= {"code", "message", "node_id", "input", "location"}
