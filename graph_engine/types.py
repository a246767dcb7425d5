"""Socket types: the named types that flow along links and that constants must match.

A socket type is an immutable object identified by its name. Primitive types (INT, FLOAT,
STRING, BOOLEAN and enums) can hold constants written in a workflow; opaque types (a
model, a latent) can only arrive through links. Node packs declare their own types; names
from non-builtin packs carry the pack's namespace ("mypack.MASK").

`check_compatible` is the single rule deciding which output may feed which input; the
validator, the builder and (through the catalogue) the editor all use it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any


class ConstantError(ValueError):
    """A constant does not fit its input; the message says what was expected.

    `code` is the validation issue code: "wrong_type", "out_of_range", "not_a_choice" or
    "link_required".
    """

    def __init__(self, message: str, expected: str, got: str, code: str = "wrong_type") -> None:
        super().__init__(message)
        self.expected = expected
        self.got = got
        self.code = code


def describe_value(value: Any) -> str:
    """A short description of a value for error messages: its JSON-ish type and repr."""
    shown = repr(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return f"{type(value).__name__} {shown}"


@dataclass(frozen=True)
class SocketType:
    """An opaque socket type: values of it only arrive through links."""

    name: str
    description: str = field(default="", compare=False)

    kind = "opaque"

    @property
    def accepts_constants(self) -> bool:
        return False

    def check_constant(self, value: Any) -> Any:
        """Return `value` in canonical form, or raise ConstantError."""
        raise ConstantError(
            f"a {self.name} input cannot hold a constant; connect it to a node output",
            expected=f"a link to a {self.name} output",
            got=describe_value(value),
            code="link_required",
        )

    def parse_text(self, text: str) -> Any:
        """Parse a command-line string into a constant of this type."""
        return self.check_constant(text)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "description": self.description}

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class AnyType(SocketType):
    """Accepts a link from any output (for inspection nodes); holds no constants."""

    kind = "any"


@dataclass(frozen=True)
class IntType(SocketType):
    kind = "int"

    @property
    def accepts_constants(self) -> bool:
        return True

    def check_constant(self, value: Any) -> int:
        # bool is a subclass of int in Python; true/false is not a number in a workflow.
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ConstantError(f"expected an integer, got {describe_value(value)}", "INT", describe_value(value))

    def parse_text(self, text: str) -> int:
        try:
            return int(text.strip(), 10)
        except ValueError:
            raise ConstantError(f"expected an integer, got {text!r}", "INT", repr(text)) from None


@dataclass(frozen=True)
class FloatType(SocketType):
    kind = "float"

    @property
    def accepts_constants(self) -> bool:
        return True

    def check_constant(self, value: Any) -> float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            # Canonical float so that 7 and 7.0 give the same cache key.
            number = float(value)
            if math.isfinite(number):
                return number
        raise ConstantError(f"expected a finite number, got {describe_value(value)}", "FLOAT", describe_value(value))

    def parse_text(self, text: str) -> float:
        try:
            return self.check_constant(float(text.strip()))
        except ValueError:
            raise ConstantError(f"expected a number, got {text!r}", "FLOAT", repr(text)) from None


@dataclass(frozen=True)
class StringType(SocketType):
    kind = "string"

    @property
    def accepts_constants(self) -> bool:
        return True

    def check_constant(self, value: Any) -> str:
        if isinstance(value, str):
            return value
        raise ConstantError(f"expected a string, got {describe_value(value)}", "STRING", describe_value(value))

    def parse_text(self, text: str) -> str:
        return text


_TRUE_WORDS = frozenset({"true", "1", "yes", "on"})
_FALSE_WORDS = frozenset({"false", "0", "no", "off"})


@dataclass(frozen=True)
class BooleanType(SocketType):
    kind = "boolean"

    @property
    def accepts_constants(self) -> bool:
        return True

    def check_constant(self, value: Any) -> bool:
        if isinstance(value, bool):
            return value
        raise ConstantError(f"expected true or false, got {describe_value(value)}", "BOOLEAN", describe_value(value))

    def parse_text(self, text: str) -> bool:
        word = text.strip().lower()
        if word in _TRUE_WORDS:
            return True
        if word in _FALSE_WORDS:
            return False
        raise ConstantError(f"expected true/false (or yes/no, 1/0), got {text!r}", "BOOLEAN", repr(text))


@dataclass(frozen=True)
class EnumType(SocketType):
    """A named set of string choices (sampler names, interpolation modes...)."""

    choices: tuple[str, ...] = ()

    kind = "enum"

    def __post_init__(self) -> None:
        if not self.choices:
            raise ValueError(f"enum type {self.name} needs at least one choice")
        if not all(isinstance(choice, str) for choice in self.choices):
            raise ValueError(f"enum type {self.name}: every choice must be a string")

    @property
    def accepts_constants(self) -> bool:
        return True

    def check_constant(self, value: Any) -> str:
        if isinstance(value, str) and value in self.choices:
            return value
        raise ConstantError(
            f"{value!r} is not one of the {self.name} choices: {', '.join(self.choices)}",
            expected=f"one of {', '.join(self.choices)}",
            got=describe_value(value),
            code="not_a_choice" if isinstance(value, str) else "wrong_type",
        )

    def parse_text(self, text: str) -> str:
        return self.check_constant(text)

    def to_json(self) -> dict[str, Any]:
        return {**super().to_json(), "choices": list(self.choices)}


INT = IntType("INT", "A whole number.")
FLOAT = FloatType("FLOAT", "A finite floating-point number.")
STRING = StringType("STRING", "Text.")
BOOLEAN = BooleanType("BOOLEAN", "true or false.")
ANY = AnyType("ANY", "Accepts any output; for inspection and debugging nodes.")

PRIMITIVE_TYPES: tuple[SocketType, ...] = (INT, FLOAT, STRING, BOOLEAN, ANY)


def check_compatible(source: SocketType, target: SocketType) -> str | None:
    """Whether an output of type `source` may feed an input of type `target`.

    Returns None when it may, otherwise the reason it may not. The rules:
    same type; anything into ANY; INT into FLOAT (widening); an enum into STRING; an enum
    into another enum whose choices include all of its own (a subset can only produce
    values the target accepts).
    """
    if source is target or source == target or isinstance(target, AnyType):
        return None
    if isinstance(source, IntType) and isinstance(target, FloatType):
        return None
    if isinstance(source, EnumType):
        if isinstance(target, StringType):
            return None
        if isinstance(target, EnumType):
            extra = [choice for choice in source.choices if choice not in target.choices]
            if not extra:
                return None
            return f"{source.name} can produce {', '.join(extra)}, which {target.name} does not accept"
    return f"a {source.name} output cannot feed a {target.name} input"


def is_compatible(source: SocketType, target: SocketType) -> bool:
    return check_compatible(source, target) is None
