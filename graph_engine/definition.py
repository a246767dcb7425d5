"""The `@node` decorator: turns a typed Python function into a NodeSpec.

Type hints drive everything: `int`, `float`, `str`, `bool` and `Literal[...]` map to the
primitive socket types, a SocketType object (directly or inside `Annotated`) names any
other type, and `Annotated` metadata (Range, Choices, Multiline, Description) adds
constraints and help. The return annotation names the outputs: `Out[Type, "name"]` for one
output, a NamedTuple class for several, nothing (or None) for a sink.
"""

from __future__ import annotations

import inspect
import re
import types
import typing
from collections.abc import Callable
from typing import Annotated, Any, Literal, Union

from graph_engine.context import Context
from graph_engine.spec import (
    MISSING,
    Choices,
    Description,
    FingerprintFn,
    InputFile,
    InputSpec,
    Multiline,
    NodeSpec,
    Out,
    OutputSpec,
    Range,
)
from graph_engine.types import BOOLEAN, FLOAT, INT, STRING, ConstantError, SocketType


class NodeDefinitionError(TypeError):
    """A node function cannot be turned into a node; the message names node and parameter."""


_PYTHON_TYPES: dict[Any, SocketType] = {int: INT, float: FLOAT, str: STRING, bool: BOOLEAN}


class _Hint:
    """A parsed annotation: socket type, optionality and the Annotated metadata."""

    def __init__(self, socket_type: SocketType, optional: bool, metadata: list[Any], choices: tuple[Any, ...] | None):
        self.socket_type = socket_type
        self.optional = optional
        self.metadata = metadata
        self.choices = choices

    def first(self, kind: type) -> Any:
        return next((item for item in self.metadata if isinstance(item, kind)), None)


def _parse_hint(hint: Any, where: str) -> _Hint:
    optional = False
    metadata: list[Any] = []
    # Peel Annotated and Optional in any nesting order: Optional[Annotated[...]] and
    # Annotated[Optional[...], ...] both occur in practice.
    while True:
        origin = typing.get_origin(hint)
        if origin is Annotated:
            metadata.extend(hint.__metadata__)
            hint = hint.__origin__
        elif origin in (Union, types.UnionType):
            members = [arg for arg in typing.get_args(hint) if arg is not type(None)]
            if len(members) != 1 or len(members) == len(typing.get_args(hint)):
                raise NodeDefinitionError(f"{where}: unions of several types are not supported ({hint!r})")
            optional = True
            hint = members[0]
        else:
            break

    declared = [item for item in metadata if isinstance(item, SocketType)]
    if len(declared) > 1:
        raise NodeDefinitionError(f"{where}: more than one socket type in the annotation")
    choices = None
    if declared:
        socket_type = declared[0]
    elif isinstance(hint, SocketType):
        socket_type = hint
    elif typing.get_origin(hint) is Literal:
        choices = typing.get_args(hint)
        if all(isinstance(choice, str) for choice in choices):
            socket_type = STRING
        elif all(isinstance(choice, int) and not isinstance(choice, bool) for choice in choices):
            socket_type = INT
        else:
            raise NodeDefinitionError(f"{where}: Literal choices must be all strings or all integers")
    elif hint in _PYTHON_TYPES:
        socket_type = _PYTHON_TYPES[hint]
    else:
        raise NodeDefinitionError(
            f"{where}: cannot map {hint!r} to a socket type; use int, float, str, bool, Literal[...], "
            "a SocketType, or Annotated[YourPythonType, A_SOCKET_TYPE]"
        )
    return _Hint(socket_type, optional, metadata, choices)


def _input_spec(parameter: inspect.Parameter, hint: Any, node_name: str) -> InputSpec:
    where = f"node {node_name}, input {parameter.name!r}"
    parsed = _parse_hint(hint, where)
    default = parameter.default if parameter.default is not inspect.Parameter.empty else MISSING
    optional = parsed.optional or default is None
    explicit_choices = parsed.first(Choices)
    choices = explicit_choices.values if explicit_choices is not None else parsed.choices
    multiline = parsed.first(Multiline)
    description = parsed.first(Description)
    input_file = parsed.first(InputFile)
    if multiline is not None and parsed.socket_type is not STRING:
        raise NodeDefinitionError(f"{where}: Multiline only applies to str inputs")
    if input_file is not None and parsed.socket_type is not STRING:
        raise NodeDefinitionError(f"{where}: InputFile only applies to str inputs")
    spec = InputSpec(
        name=parameter.name,
        type=parsed.socket_type,
        default=default,
        optional=optional,
        range=parsed.first(Range),
        choices=choices,
        multiline=multiline is not None,
        placeholder=multiline.placeholder if multiline is not None else "",
        description=description.text if description is not None else "",
        file_kind=input_file.kind if input_file is not None else None,
    )
    if spec.default is not MISSING and spec.default is not None:
        try:
            spec.check_constant(spec.default)
        except ConstantError as error:
            raise NodeDefinitionError(f"{where}: bad default: {error}") from None
    if choices is not None:
        for choice in choices:
            try:
                parsed.socket_type.check_constant(choice)
            except ConstantError as error:
                raise NodeDefinitionError(f"{where}: bad choice: {error}") from None
    return spec


def _default_output_name(socket_type: SocketType) -> str:
    return socket_type.name.rsplit(".", 1)[-1].lower()


def _output_specs(hint: Any, node_name: str) -> tuple[OutputSpec, ...]:
    if hint is None or hint is type(None) or hint is inspect.Signature.empty:
        return ()
    if isinstance(hint, type) and issubclass(hint, tuple) and hasattr(hint, "_fields"):
        # NamedTuple stores postponed annotations as ForwardRefs, which get_type_hints resolves.
        field_hints = typing.get_type_hints(hint, include_extras=True)
        outputs = []
        for field_name in hint._fields:
            parsed = _parse_hint(field_hints[field_name], f"node {node_name}, output {field_name!r}")
            description = parsed.first(Description)
            outputs.append(OutputSpec(field_name, parsed.socket_type, description.text if description else ""))
        return tuple(outputs)
    parsed = _parse_hint(hint, f"node {node_name}, return annotation")
    name = parsed.first(Out)
    description = parsed.first(Description)
    return (
        OutputSpec(
            name.name if name is not None else _default_output_name(parsed.socket_type),
            parsed.socket_type,
            description.text if description is not None else "",
        ),
    )


def _display_name(name: str) -> str:
    # "SaveImage" -> "Save Image", "KSampler" stays: split only lower->Upper boundaries.
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name)


def _build_spec(
    fn: Callable[..., Any],
    *,
    name: str | None,
    category: str,
    display_name: str | None,
    description: str | None,
    version: int,
    output_node: bool,
    cacheable: bool | None,
    fingerprint: FingerprintFn | None,
) -> NodeSpec:
    node_name = name or fn.__name__
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", node_name):
        raise NodeDefinitionError(f"node name {node_name!r} must be letters, digits, '_' and '.'")
    if not isinstance(version, int) or version < 1:
        raise NodeDefinitionError(f"node {node_name}: version must be a positive integer")
    try:
        hints = inspect.get_annotations(fn, eval_str=True)
    except Exception as error:
        raise NodeDefinitionError(f"node {node_name}: cannot evaluate annotations: {error}") from error

    parameters = list(inspect.signature(fn).parameters.values())
    takes_context = bool(parameters) and (hints.get(parameters[0].name) is Context or parameters[0].name == "ctx")
    if takes_context:
        parameters = parameters[1:]
    inputs = []
    for parameter in parameters:
        if parameter.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            raise NodeDefinitionError(f"node {node_name}: *args/**kwargs cannot be node inputs")
        if parameter.name not in hints:
            raise NodeDefinitionError(f"node {node_name}: input {parameter.name!r} needs a type annotation")
        inputs.append(_input_spec(parameter, hints[parameter.name], node_name))
    outputs = _output_specs(hints.get("return", inspect.Signature.empty), node_name)
    if not outputs and not output_node:
        raise NodeDefinitionError(
            f"node {node_name}: declares no outputs; annotate the return type, or mark it output_node=True"
        )
    if len({spec.name for spec in outputs}) != len(outputs):
        raise NodeDefinitionError(f"node {node_name}: output names must be unique")
    return NodeSpec(
        name=node_name,
        fn=fn,
        inputs=tuple(inputs),
        outputs=outputs,
        category=category,
        display_name=display_name or _display_name(node_name),
        description=description if description is not None else inspect.cleandoc(fn.__doc__ or ""),
        version=version,
        output_node=output_node,
        # Sinks write files or show things: by default they run every time.
        cacheable=(not output_node) if cacheable is None else cacheable,
        fingerprint=fingerprint,
        takes_context=takes_context,
    )


def node(
    fn: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    category: str = "",
    display_name: str | None = None,
    description: str | None = None,
    version: int = 1,
    output_node: bool = False,
    cacheable: bool | None = None,
    fingerprint: FingerprintFn | None = None,
) -> Any:
    """Declare a node from a typed function; usable as `@node` or `@node(category=...)`.

    - `name`: the node type in workflows (default: the function name).
    - `version`: bump it when the node's results change for the same inputs; it is part
      of the cache key.
    - `output_node`: the node is a sink (saves or shows something) and is run whenever
      it is in the workflow, even without a link to a workflow output.
    - `cacheable=False`: always run (side effects, non-determinism); its dependents then
      run too. Output nodes default to uncacheable.
    - `fingerprint(constants, files)`: for nodes reading the outside world; returns a
      JSON value describing it (e.g. `files.hash(constants["path"])`), added to the key.
    """

    def wrap(function: Callable[..., Any]) -> NodeSpec:
        return _build_spec(
            function,
            name=name,
            category=category,
            display_name=display_name,
            description=description,
            version=version,
            output_node=output_node,
            cacheable=cacheable,
            fingerprint=fingerprint,
        )

    return wrap(fn) if fn is not None else wrap
