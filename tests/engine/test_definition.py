"""The @node decorator: annotations become input/output specs, bad definitions fail early."""

from typing import Annotated, Literal, NamedTuple

import pytest

from engine.toy_nodes import VEC, Add, Concat, DivMod, SaveText, Vec
from graph_engine import (
    FLOAT,
    INT,
    STRING,
    Choices,
    Context,
    Description,
    EnumType,
    InputFile,
    Multiline,
    NodeDefinitionError,
    Out,
    Range,
    node,
)
from graph_engine.spec import MISSING

SAMPLER = EnumType("SAMPLER", choices=("euler", "heun"))


def test_inputs_from_annotations_and_defaults() -> None:
    x, y = Add.inputs
    assert (x.name, x.type, x.required, x.default) == ("x", INT, True, MISSING)
    assert (y.name, y.type, y.required, y.default) == ("y", INT, False, 0)
    assert y.range == Range(-1000, 1000)
    assert Add.outputs[0].name == "sum" and Add.outputs[0].type == INT
    assert Add.description == "Add two integers." and Add.category == "math" and Add.version == 1
    assert not Add.takes_context and Concat.takes_context


def test_literal_choices_multiline_and_named_tuple_outputs() -> None:
    mode = Concat.input_map["mode"]
    assert mode.type == STRING and mode.choices == ("plain", "upper")
    assert Concat.input_map["b"].multiline
    assert [(out.name, out.type) for out in DivMod.outputs] == [("quotient", INT), ("remainder", INT)]
    assert DivMod.outputs[1].description == "what is left over"


def test_socket_types_optional_inputs_and_default_output_names() -> None:
    @node
    def Pick(
        ctx: Context,
        vec: Vec | None,
        sampler: Annotated[str, SAMPLER] = "euler",
        weight: Annotated[float, Range(0.0, 1.0, step=0.1), Description("how much")] = 0.5,
        label: Annotated[str, Choices("a", "b"), Multiline("type here")] = "a",
    ) -> Vec:
        return vec

    vec, sampler, weight, label = Pick.inputs
    assert vec.type == VEC and vec.optional and not vec.required
    assert sampler.type == SAMPLER
    assert weight.description == "how much" and weight.range.step == 0.1 and weight.type == FLOAT
    assert label.choices == ("a", "b") and label.placeholder == "type here"
    assert Pick.outputs[0].name == "vec"  # named after the type


def test_output_name_long_form_for_type_checkers() -> None:
    @node
    def Named(x: int) -> Annotated[int, Out("doubled"), Description("twice x")]:
        return 2 * x

    assert [(out.name, out.type, out.description) for out in Named.outputs] == [("doubled", INT, "twice x")]


def test_spec_exports_json_schema() -> None:
    schema = Add.to_json()
    assert schema["type"] == "Add" and schema["display_name"] == "Add"
    assert schema["inputs"][1] == {
        "name": "y",
        "type": "INT",
        "required": False,
        "optional": False,
        "description": "",
        "default": 0,
        "min": -1000,
        "max": 1000,
        "step": None,
    }
    assert schema["outputs"] == [{"name": "sum", "type": "INT", "description": ""}]
    assert SaveText.to_json()["output_node"] and not SaveText.to_json()["cacheable"]


def test_spec_is_still_callable() -> None:
    assert Add(2, 3) == 5


@pytest.mark.parametrize(
    ("definition", "message"),
    [
        ("def N(x) -> Out[int, 'v']: ...", "needs a type annotation"),
        ("def N(x: list) -> Out[int, 'v']: ...", "cannot map"),
        ("def N(x: int | str) -> Out[int, 'v']: ...", "unions"),
        ("def N(x: Annotated[int, Range(0, 5)] = 9) -> Out[int, 'v']: ...", "bad default"),
        ("def N(x: int) -> None: ...", "declares no outputs"),
        ("def N(*xs: int) -> Out[int, 'v']: ...", r"\*args"),
        ("def N(x: Annotated[int, Multiline()]) -> Out[int, 'v']: ...", "Multiline"),
        ("def N(x: Literal['a', 1]) -> Out[int, 'v']: ...", "Literal"),
        ("def N(x: Annotated[int, InputFile('image')]) -> Out[int, 'v']: ...", "InputFile"),
    ],
)
def test_bad_definitions_fail_with_a_clear_message(definition: str, message: str) -> None:
    namespace = {"Out": Out, "Annotated": Annotated, "Range": Range, "Multiline": Multiline, "Literal": Literal,
                 "InputFile": InputFile}
    exec(definition, namespace)
    with pytest.raises(NodeDefinitionError, match=message) as caught:
        node(namespace["N"])
    assert "node N" in str(caught.value)


def test_versions_and_flags() -> None:
    @node(version=3, cacheable=False, name="Renamed", display_name="A B", category="c")
    def original() -> Out[int, "v"]:
        return 1

    assert (original.name, original.version, original.cacheable, original.display_name) == ("Renamed", 3, False, "A B")
    with pytest.raises(NodeDefinitionError, match="version"):

        @node(version=0)
        def Unversioned() -> Out[int, "v"]:
            return 1


class Pair(NamedTuple):
    left: str
    right: str


def test_module_level_named_tuple_with_postponed_annotations() -> None:
    @node
    def Split(text: str) -> Pair:
        left, _, right = text.partition(",")
        return Pair(left, right)

    assert [out.name for out in Split.outputs] == ["left", "right"]


def test_input_files_tell_editors_what_to_offer_and_nodes_where_to_look(tmp_path) -> None:
    from graph_engine import Executor, NodePack, Registry

    found: list[str] = []

    @node(fingerprint=lambda constants, files: str(files.input_dirs))
    def ReadName(ctx: Context, path: Annotated[str, InputFile("image")]) -> Out[str, "folders"]:
        found.append(str(ctx.input_dirs))
        return path

    assert ReadName.inputs[0].to_json()["file"] == "image"
    assert "file" not in Add.inputs[0].to_json()
    executor = Executor(Registry([NodePack("t", nodes=[ReadName])]), output_dir=tmp_path, input_dirs=[tmp_path / "in"])
    document = {"schema_version": 1, "nodes": {"r": {"type": "t.ReadName", "inputs": {"path": "x.png"}}},
                "outputs": {"o": {"from": "r", "output": "folders"}}}
    assert executor.run(document).status == "success"
    assert found == [str((tmp_path / "in",))] and executor.files.input_dirs == (tmp_path / "in",)
