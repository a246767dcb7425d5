"""Base class of the configured models: construction from diffusers-style config keywords."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Generic, TypeVar

import torch
from torch import nn

from .config import ModelConfig

ConfigT = TypeVar("ConfigT", bound=ModelConfig)
ModelT = TypeVar("ModelT", bound="ConfiguredModel[Any]")


class ConfiguredModel(nn.Module, Generic[ConfigT]):
    """An nn.Module built from a config whose keys, defaults and state-dict names follow diffusers.

    Construct with keywords (`Model(**config)`) or from a loaded `config.json` mapping
    (`Model.from_config(mapping)`). Holds no buffers, so it can be built under
    `torch.device("meta")` and filled with `load_state_dict(sd, assign=True)`.
    """

    config_class: ClassVar[type[ModelConfig]]
    _config: ConfigT

    def __init__(self, **config: Any) -> None:
        super().__init__()
        self._config = self.config_class.from_mapping(config, owner=type(self).__name__)  # type: ignore[assignment]

    @classmethod
    def from_config(cls: type[ModelT], config: Mapping[str, Any]) -> ModelT:
        """Build from a config mapping, ignoring metadata keys such as `_class_name`."""
        return cls(**{key: value for key, value in config.items() if not key.startswith("_")})

    @property
    def config(self) -> ConfigT:
        """The full resolved config: read-only, a mapping and attribute-accessible."""
        return self._config

    @property
    def dtype(self) -> torch.dtype:
        return next(self.parameters()).dtype

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device
