"""Toy nodes for the engine tests: arithmetic, text, files, sleep, failure, opaque types.

Importable as `engine.toy_nodes` (with tests/ on sys.path), so the CLI tests can load the
pack with `--pack engine.toy_nodes:PACK`.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Literal, NamedTuple

from graph_engine import (
    Context,
    Description,
    Multiline,
    NodePack,
    Out,
    Range,
    SocketType,
    hash_files,
    node,
)

# Opaque toy types, declared the way a node pack declares MODEL or LATENT.
VEC = SocketType("VEC", "A list of floats.")
Vec = Annotated[list, VEC]


@node(category="math")
def Const(value: int) -> Out[int, "value"]:
    """Emit an integer."""
    return value


@node(category="math")
def Add(x: int, y: Annotated[int, Range(-1000, 1000)] = 0) -> Out[int, "sum"]:
    """Add two integers."""
    return x + y


@node(category="math")
def Scale(x: float, factor: float = 2.0) -> Out[float, "value"]:
    """Multiply a number by a factor."""
    return x * factor


class DivModOut(NamedTuple):
    quotient: int
    remainder: Annotated[int, Description("what is left over")]


@node(category="math")
def DivMod(a: int, b: Annotated[int, Range(1, None)] = 1) -> DivModOut:
    """Integer division with remainder."""
    return DivModOut(a // b, a % b)


@node(category="text")
def Concat(
    ctx: Context, a: str, b: Annotated[str, Multiline()] = "", mode: Literal["plain", "upper"] = "plain"
) -> Out[str, "text"]:
    """Join two strings."""
    text = a + b
    return text.upper() if mode == "upper" else text


@node(category="text", fingerprint=hash_files("path"))
def ReadText(path: str) -> Out[str, "text"]:
    """Read a text file."""
    return Path(path).read_text()


@node(category="debug", cacheable=False)
def Clock() -> Out[int, "ns"]:
    """The current monotonic time: never cached."""
    return time.perf_counter_ns()


@node(category="debug")
def Fail(x: int, message: str = "boom") -> Out[int, "value"]:
    """Always raise."""
    raise RuntimeError(message)


@node(category="debug")
def Sleep(ctx: Context, x: int, seconds: float = 0.05, steps: int = 5) -> Out[int, "value"]:
    """Sleep in steps, reporting progress (and so checking for interrupts) at each."""
    for step in range(steps):
        time.sleep(seconds / steps)
        ctx.progress(step + 1, steps)
    return x


@node(category="vec")
def MakeVec(n: Annotated[int, Range(0, 100)], fill: float = 1.0) -> Out[Vec, "vec"]:
    """A list of n copies of fill."""
    return [fill] * n


@node(category="vec")
def SumVec(vec: Vec) -> Out[float, "total"]:
    """Sum a vector."""
    return float(sum(vec))


@node(category="io", output_node=True)
def SaveText(ctx: Context, text: str, prefix: str = "text") -> None:
    """Write text to a new file in the output directory."""
    path = ctx.new_file(prefix, ".txt")
    path.write_text(text)


PACK = NodePack(
    "toy",
    types=[VEC],
    nodes=[Const, Add, Scale, DivMod, Concat, ReadText, Clock, Fail, Sleep, MakeVec, SumVec, SaveText],
    builtin=True,
    description="Toy nodes for the engine tests.",
)
