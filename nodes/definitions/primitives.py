"""Primitive nodes: a constant value, typed, to feed several inputs from one place."""

from __future__ import annotations

from typing import Annotated

from graph_engine import Multiline, Out, Range, node


@node(category="primitives")
def Int(value: int = 0) -> Out[int, "value"]:
    """An integer."""
    return value


@node(category="primitives")
def Float(value: float = 0.0) -> Out[float, "value"]:
    """A number."""
    return value


@node(category="primitives")
def String(value: Annotated[str, Multiline()] = "") -> Out[str, "value"]:
    """Text."""
    return value


@node(category="primitives")
def Boolean(value: bool = False) -> Out[bool, "value"]:
    """true or false."""
    return value


@node(category="primitives")
def Seed(seed: Annotated[int, Range(0, 2**64 - 1)] = 0) -> Out[int, "seed"]:
    """A seed, to share between samplers (e.g. both passes of a hires fix)."""
    return seed
