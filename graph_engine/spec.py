"""The declarative description of a node: its inputs, outputs and flags.

`NodeSpec` objects are produced by the `@node` decorator (see definition.py) and are what
the registry, the validator, the executor and the catalogue work with. They are immutable.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

from graph_engine.types import ConstantError, EnumType, SocketType


class _Missing:
    """Marks an input without a default value."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


@dataclass(frozen=True)
class Range:
    """Bounds for a numeric input; `step` is a widget hint for the editor."""

    min: float | None = None
    max: float | None = None
    step: float | None = None

    def check(self, value: float) -> str | None:
        if self.min is not None and value < self.min:
            return f"{value} is below the minimum {self.min}"
        if self.max is not None and value > self.max:
            return f"{value} is above the maximum {self.max}"
        return None

    def describe(self) -> str:
        low = "-inf" if self.min is None else str(self.min)
        high = "inf" if self.max is None else str(self.max)
        return f"a value in [{low}, {high}]"


@dataclass(frozen=True)
class Choices:
    """Restricts a STRING or INT input to a fixed set of values."""

    values: tuple[Any, ...]

    def __init__(self, *values: Any) -> None:
        if not values:
            raise ValueError("Choices needs at least one value")
        object.__setattr__(self, "values", tuple(values))


@dataclass(frozen=True)
class Multiline:
    """A STRING input edited as a multi-line text box."""

    placeholder: str = ""


@dataclass(frozen=True)
class InputFile:
    """A STRING input naming a file to read, of a kind editors can offer (e.g. "image": upload and pick).

    Relative names are looked up in the executor's input folders (`Executor(input_dirs=...)`,
    e.g. a server's uploads), then from the current directory: see `FileHasher.find`.
    """

    kind: str


@dataclass(frozen=True)
class Description:
    """Help text for an input or output (shown as a tooltip, exported in the schema)."""

    text: str


@dataclass(frozen=True)
class Out:
    """Names a node's single output: `-> Out[int, "sum"]`.

    `Out[T, "name"]` is shorthand for `Annotated[T, Out("name")]`; static type checkers
    only understand the long form (they read the string as a forward reference).
    """

    name: str

    def __class_getitem__(cls, params: Any) -> Any:
        if not (isinstance(params, tuple) and len(params) == 2 and isinstance(params[1], str)):
            raise TypeError('write Out[Type, "output_name"]')
        hint, name = params
        if isinstance(hint, SocketType):  # Annotated needs a type first
            return Annotated[object, hint, cls(name)]
        return Annotated[hint, cls(name)]


@dataclass(frozen=True)
class InputSpec:
    name: str
    type: SocketType
    default: Any = MISSING
    optional: bool = False  # may be left unconnected; the function then receives None
    range: Range | None = None
    choices: tuple[Any, ...] | None = None
    multiline: bool = False
    placeholder: str = ""
    description: str = ""
    file_kind: str | None = None  # InputFile(kind)

    @property
    def required(self) -> bool:
        """Must be given in the workflow (no default, not optional)."""
        return self.default is MISSING and not self.optional

    def check_constant(self, value: Any) -> Any:
        """Canonical form of a constant for this input, or ConstantError (type, range, choices)."""
        if value is None and self.optional:
            return None
        value = self.type.check_constant(value)
        if self.range is not None:
            problem = self.range.check(value)
            if problem is not None:
                raise ConstantError(problem, expected=self.range.describe(), got=repr(value), code="out_of_range")
        if self.choices is not None and value not in self.choices:
            listed = ", ".join(repr(choice) for choice in self.choices)
            raise ConstantError(
                f"{value!r} is not one of {listed}", expected=f"one of {listed}", got=repr(value), code="not_a_choice"
            )
        return value

    def parse_text(self, text: str) -> Any:
        """Constant from a command-line string, checked like a JSON constant."""
        return self.check_constant(self.type.parse_text(text))

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": self.name,
            "type": self.type.name,
            "required": self.required,
            "optional": self.optional,
            "description": self.description,
        }
        if self.default is not MISSING:
            data["default"] = self.default
        if self.range is not None:
            data["min"], data["max"], data["step"] = self.range.min, self.range.max, self.range.step
        choices = self.choices if self.choices is not None else enum_choices(self.type)
        if choices is not None:
            data["choices"] = list(choices)
        if self.multiline:
            data["multiline"] = True
            data["placeholder"] = self.placeholder
        if self.file_kind is not None:
            data["file"] = self.file_kind
        return data


@dataclass(frozen=True)
class OutputSpec:
    name: str
    type: SocketType
    description: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type.name, "description": self.description}


# A fingerprint receives the node's constant inputs and the executor's file hasher and
# returns a JSON-serialisable value describing the outside world the node reads.
FingerprintFn = Callable[[Mapping[str, Any], Any], Any]


@dataclass(frozen=True)
class NodeSpec:
    """Everything the engine knows about a node type."""

    name: str
    fn: Callable[..., Any] = field(repr=False)
    inputs: tuple[InputSpec, ...]
    outputs: tuple[OutputSpec, ...]
    category: str = ""
    display_name: str = ""
    description: str = ""
    version: int = 1
    output_node: bool = False
    cacheable: bool = True
    fingerprint: FingerprintFn | None = field(default=None, repr=False)
    takes_context: bool = True
    input_map: Mapping[str, InputSpec] = field(init=False, repr=False, compare=False)
    output_map: Mapping[str, OutputSpec] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "input_map", {spec.name: spec for spec in self.inputs})
        object.__setattr__(self, "output_map", {spec.name: spec for spec in self.outputs})

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the underlying function directly (outside any workflow)."""
        return self.fn(*args, **kwargs)

    def socket_types(self) -> list[SocketType]:
        """Every socket type this node mentions (for registry checks)."""
        return [spec.type for spec in self.inputs] + [spec.type for spec in self.outputs]

    def to_json(self) -> dict[str, Any]:
        return {
            "type": self.name,
            "display_name": self.display_name,
            "category": self.category,
            "description": self.description,
            "version": self.version,
            "output_node": self.output_node,
            "cacheable": self.cacheable,
            "reads_outside_world": self.fingerprint is not None,
            "inputs": [spec.to_json() for spec in self.inputs],
            "outputs": [spec.to_json() for spec in self.outputs],
        }


def enum_choices(socket_type: SocketType) -> tuple[str, ...] | None:
    return socket_type.choices if isinstance(socket_type, EnumType) else None
