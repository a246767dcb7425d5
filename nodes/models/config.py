"""Model configs: frozen dataclasses keyed by diffusers' config names, readable as mappings.

A config is the full resolved set of constructor arguments of a model, so `dict(model.config)`
can be written back to a diffusers `config.json`. Sequences are stored as tuples so a config
is immutable and compares equal after a JSON round trip (JSON turns tuples into lists).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, TypeVar

ConfigT = TypeVar("ConfigT", bound="ModelConfig")


def _freeze(value: Any) -> Any:
    if isinstance(value, Sequence) and not isinstance(value, str):
        return tuple(_freeze(item) for item in value)
    return value


@dataclasses.dataclass(frozen=True)
class ModelConfig(Mapping[str, Any]):
    """Base class of model configs. Subclasses declare their keys as dataclass fields."""

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            object.__setattr__(self, field.name, _freeze(getattr(self, field.name)))
        self.validate()

    def validate(self) -> None:
        """Raise ValueError naming the offending key when a value is unsupported."""

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(field.name for field in dataclasses.fields(cls))

    @classmethod
    def from_mapping(cls: type[ConfigT], values: Mapping[str, Any], *, owner: str) -> ConfigT:
        """Build from constructor keywords; `owner` names the model class in error messages."""
        known = set(cls.field_names())
        unknown = sorted(key for key in values if key not in known)
        if unknown:
            raise ValueError(
                f"{owner} config has unknown key(s) {unknown}; expected diffusers' {owner} keys: "
                f"{sorted(known)} (keys starting with '_' are ignored by from_config)"
            )
        return cls(**values)

    def __getitem__(self, key: str) -> Any:
        if key not in self.field_names():
            raise KeyError(key)
        return getattr(self, key)

    def __iter__(self) -> Iterator[str]:
        return iter(self.field_names())

    def __len__(self) -> int:
        return len(dataclasses.fields(self))

    def to_dict(self) -> dict[str, Any]:
        """A plain, JSON-serialisable copy (tuples become lists)."""
        return {key: _thaw(value) for key, value in self.items()}


def _thaw(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_thaw(item) for item in value]
    return value


def require_choice(owner: str, key: str, value: Any, allowed: Sequence[Any]) -> None:
    """Raise a clear error when a config value is outside the supported subset."""
    if value not in allowed:
        raise ValueError(f"{owner} config: {key}={value!r} is not supported; expected one of {list(allowed)}")


def per_block(owner: str, key: str, value: Any, num_blocks: int) -> tuple[Any, ...]:
    """Expand a scalar into one value per block, or check a per-block sequence's length."""
    if isinstance(value, tuple):
        if len(value) != num_blocks:
            raise ValueError(f"{owner} config: {key} has {len(value)} entries, expected one per block ({num_blocks})")
        return value
    return (value,) * num_blocks
