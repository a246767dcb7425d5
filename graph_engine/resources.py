"""Long-lived services shared by every run of one executor, looked up by type.

A node pack declares the services its nodes need (e.g. a model manager) as factories;
the executor creates each one the first time a node asks for it and keeps it for its
lifetime, so state such as loaded models survives across runs without any global.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

T = TypeVar("T")
ResourceFactory = Callable[[], Any]


class Resources:
    """Instances of service types, created lazily from factories: `resources.get(ModelManager)`."""

    def __init__(self, factories: Mapping[type, ResourceFactory] | None = None) -> None:
        self._factories: dict[type, ResourceFactory] = dict(factories or {})
        self._instances: dict[type, Any] = {}
        # Re-entrant: a factory may itself ask for another resource.
        self._lock = threading.RLock()

    def get(self, kind: type[T]) -> T:
        """The executor-wide instance of `kind`, created on first use."""
        with self._lock:
            if kind not in self._instances:
                factory = self._factories.get(kind)
                if factory is None:
                    raise LookupError(
                        f"no resource of type {kind.__qualname__} is provided: a node pack declares it "
                        "with NodePack(resources={Type: factory}), or pass it to the executor"
                    )
                self._instances[kind] = factory()
            return self._instances[kind]

    def provide(self, kind: type[T], instance: T) -> None:
        """Use `instance` as the resource of type `kind` (e.g. one shared by several executors)."""
        with self._lock:
            self._instances[kind] = instance

    def created(self) -> dict[type, Any]:
        """The resources created so far (the server reports and frees them)."""
        with self._lock:
            return dict(self._instances)
