"""Building modules without allocating their weights twice.

A module is constructed on the meta device (no memory, no random init) and its parameters
are then *assigned* the loaded tensors, so the only copy of a weight is the one read from
the file, already on the target device and in the target dtype.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TypeVar

import torch
from torch import nn

from nodes.loading.errors import CheckpointError

ModuleT = TypeVar("ModuleT", bound=nn.Module)
_LISTED = 8  # how many offending names an error message shows


def cast_floating(tensor: torch.Tensor, dtype: torch.dtype | None) -> torch.Tensor:
    """Convert floating-point tensors to `dtype`; integer tensors (ids, counters) keep theirs."""
    if dtype is None or not tensor.is_floating_point() or tensor.dtype == dtype:
        return tensor
    return tensor.to(dtype)


def build_on_meta(
    factory: Callable[[], ModuleT],
    state_dict: Mapping[str, torch.Tensor],
    *,
    what: str,
    rebuild_buffers: Callable[[ModuleT], None] | None = None,
) -> ModuleT:
    """Construct `factory()` on the meta device and assign it `state_dict` (see `assign_weights`)."""
    with torch.device("meta"):
        module = factory()
    return assign_weights(module, state_dict, what=what, rebuild_buffers=rebuild_buffers)


def assign_weights(
    module: ModuleT,
    state_dict: Mapping[str, torch.Tensor],
    *,
    what: str,
    rebuild_buffers: Callable[[ModuleT], None] | None = None,
) -> ModuleT:
    """Make the tensors of `state_dict` the parameters of a meta-device `module`.

    `what` names the component and its source in errors. `rebuild_buffers` recreates
    non-persistent buffers (constants a state dict does not carry) on the weights' device.
    """
    expected = module.state_dict().keys()
    missing = sorted(set(expected) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(expected))
    if missing or unexpected:
        raise CheckpointError(
            f"{what}: the weights do not match the model config ({len(missing)} missing: {_names(missing)};"
            f" {len(unexpected)} unexpected: {_names(unexpected)})"
        )
    try:
        module.load_state_dict(state_dict, strict=True, assign=True)
    except RuntimeError as error:  # shape mismatches
        raise CheckpointError(f"{what}: the weights do not match the model config: {error}") from error
    if rebuild_buffers is not None:
        rebuild_buffers(module)
    still_meta = [name for name, tensor in _tensors(module) if tensor.is_meta]
    if still_meta:
        raise CheckpointError(f"{what}: no values for {_names(still_meta)} after loading")
    return module.eval()


def _tensors(module: nn.Module) -> Iterable[tuple[str, torch.Tensor]]:
    yield from module.named_parameters()
    yield from module.named_buffers()


def _names(names: list[str]) -> str:
    shown = ", ".join(names[:_LISTED])
    return f"{shown}, ..." if len(names) > _LISTED else shown or "none"
