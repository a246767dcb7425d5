"""Cached values are shared: a node modifying an input tensor in place is caught and failed."""

import sys
from pathlib import Path
from typing import Annotated, Any

import pytest

torch = pytest.importorskip("torch")

from engine.conftest import link, workflow  # noqa: E402
from graph_engine import Executor, NodePack, NodeStatus, Out, Registry, ResultCache, SocketType, node  # noqa: E402
from graph_engine.values import nbytes  # noqa: E402

TENSOR = SocketType("TENSOR")
Tensor = Annotated[Any, TENSOR]
LINEAR = SocketType("LINEAR")
Linear = Annotated[Any, LINEAR]


@node
def Zeros(n: int) -> Out[Tensor, "tensor"]:
    return torch.zeros(n)


@node
def AddOneInPlace(tensor: Tensor) -> Out[Tensor, "tensor"]:
    return tensor.add_(1)


@node
def AddOne(tensor: Tensor) -> Out[Tensor, "tensor"]:
    return tensor + 1


@node
def Total(tensor: Tensor) -> Out[float, "total"]:
    return float(tensor.sum())


@node
def MakeLinear(seed: int) -> Out[Linear, "linear"]:
    torch.manual_seed(seed)
    return torch.nn.Linear(4, 4)


@node
def ZeroWeights(linear: Linear) -> Out[float, "total"]:
    with torch.no_grad():
        linear.weight.zero_()
    return 0.0


PACK = NodePack(
    "t", types=[TENSOR, LINEAR], nodes=[Zeros, AddOneInPlace, AddOne, Total, MakeLinear, ZeroWeights], builtin=True
)


@pytest.fixture
def executor(tmp_path: Path) -> Executor:
    return Executor(Registry([PACK]), cache=ResultCache(), output_dir=tmp_path)


def test_in_place_modification_fails_the_offender_and_protects_the_cache(executor: Executor) -> None:
    document = workflow(
        {
            "zeros": ("Zeros", {"n": 3}),
            "bad": ("AddOneInPlace", {"tensor": link("zeros", "tensor")}),
            "good": ("Total", {"tensor": link("zeros", "tensor")}),
        },
        {"bad": link("bad", "tensor"), "good": link("good", "total")},
    )
    result = executor.run(document)
    assert result.status == "failed"
    message = result.failures["bad"].message
    assert "'bad' modified its input 'tensor' (from zeros.tensor) in place" in message and "clone()" in message
    assert result.explanations["good"].status is NodeStatus.SKIPPED  # it would have read a corrupt value
    clean = workflow(
        {"zeros": ("Zeros", {"n": 3}), "good": ("Total", {"tensor": link("zeros", "tensor")})},
        {"good": link("good", "total")},
    )
    rerun = executor.run(clean)
    assert set(rerun.ran) == {"zeros", "good"}  # the corrupt cache entry was dropped
    assert rerun.outputs == {"good": 0.0}


def test_copying_consumers_are_fine(executor: Executor) -> None:
    document = workflow(
        {
            "zeros": ("Zeros", {"n": 3}),
            "one": ("AddOne", {"tensor": link("zeros", "tensor")}),
            "total": ("Total", {"tensor": link("one", "tensor")}),
        },
        {"total": link("total", "total")},
    )
    assert executor.run(document).outputs == {"total": 3.0}
    assert executor.run(document).ran == []


def test_module_parameters_are_watched_too(executor: Executor) -> None:
    document = workflow(
        {"linear": ("MakeLinear", {"seed": 0}), "zero": ("ZeroWeights", {"linear": link("linear", "linear")})},
        {"z": link("zero", "total")},
    )
    result = executor.run(document)
    assert "modified its input 'linear'" in result.failures["zero"].message


def test_byte_sizes_of_tensors_modules_and_containers() -> None:
    base = torch.zeros(1000, dtype=torch.float32)
    assert nbytes(base) == 4000
    assert nbytes([base, base[:10], base.view(10, 100)]) - nbytes([]) < 4000 + 200  # one storage
    linear = torch.nn.Linear(10, 10)
    assert nbytes(linear) == (100 + 10) * 4

    class Sized:
        def __graph_nbytes__(self) -> int:
            return 123

    assert nbytes(Sized()) == 123
    assert nbytes({"model": Sized()}) == sys.getsizeof({"model": None}) + 123
