"""Activation functions by the names diffusers configs use (`act_fn`)."""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

_ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "silu": nn.SiLU,
    "swish": nn.SiLU,
    "mish": nn.Mish,
    "gelu": nn.GELU,
    "relu": nn.ReLU,
}


def activation(name: str) -> nn.Module:
    """A fresh activation module for a config name such as "silu"."""
    try:
        return _ACTIVATIONS[name]()
    except KeyError:
        raise ValueError(f"unknown activation {name!r}; expected one of {sorted(_ACTIVATIONS)}") from None


def check_activation(owner: str, key: str, name: str) -> None:
    if name not in _ACTIVATIONS:
        raise ValueError(f"{owner} config: {key}={name!r} is not supported; expected one of {sorted(_ACTIVATIONS)}")
