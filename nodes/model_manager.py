"""Keeps models loaded across runs within memory budgets and moves them between devices on demand.

One `ModelManager` per executor (the diffusion pack declares it as a resource; nodes reach it with
`ctx.resource(ModelManager)`). Each model is a `ManagedModel` entry: its weights, or nothing while
unloaded, plus how to load them again. Two budgets bound what is kept, least recently used first:

- `memory_budget`: bytes of weights kept loaded anywhere; over it, models are dropped (and reloaded
  from disk if used again).
- `device_budget`: bytes of weights on an accelerator; over it, models are moved back to the CPU.

Handles flowing through the graph hold entries, never weights, so the result cache cannot keep a
model alive behind the manager's back.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

import torch
from torch import nn

logger = logging.getLogger(__name__)

Loader = Callable[[], nn.Module]
# Fraction of a GPU's memory models may occupy; the rest is left to activations.
_DEVICE_SHARE = 0.75
# Fraction of the machine's memory models may occupy by default.
_MEMORY_SHARE = 0.5


def module_nbytes(module: nn.Module) -> int:
    """Bytes held by a module's parameters and buffers, each storage counted once."""
    seen: set[int] = set()
    total = 0
    for tensor in [*module.parameters(), *module.buffers()]:
        storage = tensor.untyped_storage()
        if storage.data_ptr() in seen and storage.data_ptr() != 0:
            continue
        seen.add(storage.data_ptr())
        total += storage.nbytes()
    return total


def normalize_device(device: torch.device | str) -> torch.device:
    """`device` with its index made explicit ("cuda" -> "cuda:0"), as tensors report theirs."""
    target = torch.device(device)
    if target.type == "cuda" and target.index is None:
        return torch.device("cuda", torch.cuda.current_device())
    return target


def module_device(module: nn.Module) -> torch.device:
    tensor = next(iter([*module.parameters(), *module.buffers()]), None)
    return tensor.device if tensor is not None else torch.device("cpu")


class ManagedModel:
    """One model kept by a `ModelManager`: `use(device)` returns its module, loaded and on `device`."""

    def __init__(
        self, manager: ModelManager, key: str, module: nn.Module, reload: Loader, info: Mapping[str, Any]
    ) -> None:
        self.manager = manager
        self.key = key
        self.module: nn.Module | None = module
        self.reload = reload
        # What a loader needs besides the weights to rebuild its handles (configs, tokenizers...).
        self.info = MappingProxyType(dict(info))
        self.nbytes = module_nbytes(module)
        self.last_used = 0

    @property
    def loaded(self) -> bool:
        return self.module is not None

    @property
    def device(self) -> torch.device | None:
        return module_device(self.module) if self.module is not None else None

    def use(self, device: torch.device | str) -> nn.Module:
        """The module on `device`, reloading or moving it (and making room) as needed."""
        return self.manager.use(self, device)

    def __repr__(self) -> str:
        where = self.device if self.loaded else "unloaded"
        return f"ManagedModel({self.key!r}, {self.nbytes / 2**20:.1f} MiB, {where})"


class ModelManager:
    """Loaded models by key, within a memory budget and per-device budgets (see the module docstring)."""

    def __init__(self, *, memory_budget: int | None = None, device_budgets: dict[str, int] | None = None) -> None:
        self.memory_budget = memory_budget if memory_budget is not None else _default_memory_budget()
        self._device_budgets = dict(device_budgets or {})
        self._models: dict[str, ManagedModel] = {}
        self._lock = threading.RLock()
        self._clock = 0
        self.loads = 0  # models added, plus reloads of dropped ones
        self.evictions = 0  # models dropped to stay within the memory budget
        self.offloads = 0  # models moved back to the CPU to make room on a device

    # ---- adding ----------------------------------------------------------------------

    def get(self, key: str) -> ManagedModel | None:
        with self._lock:
            return self._models.get(key)

    def add(self, key: str, module: nn.Module, reload: Loader, info: Mapping[str, Any] | None = None) -> ManagedModel:
        """Keep `module` under `key` (`reload` loads it again after it was dropped); `info` is
        small metadata kept with it for as long as the entry exists.

        A key already kept returns its entry unchanged: keys must name what determines the weights.
        """
        with self._lock:
            existing = self._models.get(key)
            if existing is not None:
                return existing
            model = ManagedModel(self, key, module, reload, info or {})
            self.loads += 1
            self._touch(model)
            self._models[key] = model
            self._enforce_memory_budget(keep=model)
            return model

    def load(self, key: str, loader: Loader) -> ManagedModel:
        """The entry for `key`, calling `loader` only if no model is kept under it."""
        with self._lock:
            existing = self._models.get(key)
            if existing is not None:
                return existing
            return self.add(key, loader(), loader)

    # ---- using -----------------------------------------------------------------------

    def use(self, model: ManagedModel, device: torch.device | str) -> nn.Module:
        """`model`'s module on `device`: reloaded if it was dropped, moved if it is elsewhere."""
        if model.manager is not self:
            raise ValueError(f"{model!r} belongs to another ModelManager")
        target = normalize_device(device)
        with self._lock:
            self._touch(model)
            if model.module is None:
                model.module = model.reload()
                model.nbytes = module_nbytes(model.module)
                self.loads += 1
                self._enforce_memory_budget(keep=model)
            if model.device != target:
                if target.type != "cpu":
                    self._make_room(target, model.nbytes, keep=model)
                try:
                    model.module.to(target)
                except torch.OutOfMemoryError:
                    # Our budget was too optimistic (other processes, activations): empty the device and retry once.
                    self.free_device(target, keep=model)
                    model.module.to(target)
            return model.module

    def free_device(self, device: torch.device | str, keep: ManagedModel | None = None) -> int:
        """Move every model (but `keep`) off `device` to the CPU; returns the bytes moved."""
        target = normalize_device(device)
        with self._lock:
            moved = 0
            for model in self._by_age():
                if model is not keep and model.module is not None and model.device == target:
                    model.module.to("cpu")
                    self.offloads += 1
                    moved += model.nbytes
            _empty_device_cache(target)
            return moved

    # ---- unloading -------------------------------------------------------------------

    def unload(self, key: str) -> bool:
        """Drop one model's weights (the entry stays and reloads on use); False if it was not loaded."""
        with self._lock:
            model = self._models.get(key)
            if model is None or model.module is None:
                return False
            self._drop(model)
            return True

    def unload_all(self) -> None:
        """Drop every model's weights; entries stay and reload from disk when used again."""
        with self._lock:
            for model in self._models.values():
                if model.module is not None:
                    self._drop(model)

    def stats(self) -> dict[str, Any]:
        """What is kept where, the budgets, and the load/eviction/offload counters (JSON-ready)."""
        with self._lock:
            models = [
                {
                    "key": m.key,
                    "bytes": m.nbytes,
                    "device": str(m.device) if m.loaded else None,
                    "last_used": m.last_used,
                }
                for m in self._by_age()
            ]
            return {
                "models": models,
                "loaded_bytes": self.loaded_bytes(),
                "memory_budget": self.memory_budget,
                "device_budgets": {name: budget for name, budget in self._device_budgets.items()},
                "loads": self.loads,
                "evictions": self.evictions,
                "offloads": self.offloads,
            }

    def loaded_bytes(self, device: torch.device | None = None) -> int:
        """Bytes of weights loaded (on `device` only, when given)."""
        with self._lock:
            return sum(
                m.nbytes
                for m in self._models.values()
                if m.module is not None and (device is None or m.device == device)
            )

    def device_budget(self, device: torch.device | str) -> int | None:
        """Bytes of weights allowed on `device` (None: no limit, e.g. the CPU, bounded by the memory budget)."""
        target = normalize_device(device)
        if str(target) in self._device_budgets:
            return self._device_budgets[str(target)]
        if target.type == "cuda" and torch.cuda.is_available():
            return int(torch.cuda.get_device_properties(target).total_memory * _DEVICE_SHARE)
        return None

    # ---- internals -------------------------------------------------------------------

    def _touch(self, model: ManagedModel) -> None:
        self._clock += 1
        model.last_used = self._clock

    def _by_age(self) -> list[ManagedModel]:
        """Least recently used first."""
        return sorted(self._models.values(), key=lambda m: m.last_used)

    def _drop(self, model: ManagedModel) -> None:
        device = model.device
        model.module = None
        if device is not None:
            _empty_device_cache(device)

    def _enforce_memory_budget(self, keep: ManagedModel) -> None:
        if self.memory_budget is None:
            return
        for model in self._by_age():
            if self.loaded_bytes() <= self.memory_budget:
                return
            if model is not keep and model.module is not None:
                logger.info("dropping %s to stay within the model memory budget", model.key)
                self._drop(model)
                self.evictions += 1
        if self.loaded_bytes() > self.memory_budget:
            logger.warning(
                "%s alone (%d MiB) exceeds the model memory budget (%d MiB)",
                keep.key,
                keep.nbytes // 2**20,
                self.memory_budget // 2**20,
            )

    def _make_room(self, device: torch.device, needed: int, keep: ManagedModel) -> None:
        budget = self.device_budget(device)
        if budget is None:
            return
        for model in self._by_age():
            if self.loaded_bytes(device) + needed <= budget:
                return
            if model is not keep and model.module is not None and model.device == device:
                logger.info("moving %s to the CPU to make room on %s", model.key, device)
                model.module.to("cpu")
                self.offloads += 1
        _empty_device_cache(device)


def _default_memory_budget() -> int | None:
    try:
        return int(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") * _MEMORY_SHARE)
    except (AttributeError, ValueError, OSError):  # no sysconf (Windows): bounded by the OS instead
        return None


def _empty_device_cache(device: torch.device) -> None:
    if device.type == "cuda" and torch.cuda.is_available():
        torch.cuda.empty_cache()
