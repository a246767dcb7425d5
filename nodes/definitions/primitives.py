"""Primitive nodes: a constant value, typed, to feed several inputs from one place."""

from __future__ import annotations

from typing import Annotated

from graph_engine import Multiline, Out, Range, node


@node(category="primitives")
def Int(value: int = 0) -> Annotated[int, Out("value")]:
    """An integer."""
    return value


@node(category="primitives")
def Float(value: float = 0.0) -> Annotated[float, Out("value")]:
    """A number."""
    return value


@node(category="primitives")
def String(value: Annotated[str, Multiline()] = "") -> Annotated[str, Out("value")]:
    """Text."""
    return value


@node(category="primitives")
def Boolean(value: bool = False) -> Annotated[bool, Out("value")]:
    """true or false."""
    return value


@node(category="primitives")
def Seed(seed: Annotated[int, Range(0, 2**64 - 1)] = 0) -> Annotated[int, Out("seed")]:
    """A seed, to share between samplers (e.g. both passes of a hires fix)."""
    return seed
