"""What a node's run function receives as `ctx`: device, progress, interrupt, RNG, files.

A `RunScope` holds what all nodes of one run share; a `Context` is the per-node view of
it. Neither imports torch or numpy until a node asks for a generator.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from graph_engine.resources import Resources

if TYPE_CHECKING:
    import numpy
    import torch

T = TypeVar("T")
ProgressCallback = Callable[[str, float, float, Any], None]


class Interrupted(Exception):
    """The run was interrupted; raised by `ctx.check_interrupt()` and `ctx.progress()`."""


def resolve_device(setting: str) -> str:
    """ "auto" -> "cuda" when torch sees a GPU, else "mps" on Apple silicon, else "cpu"."""
    if setting != "auto":
        return setting
    try:
        import torch
    except ImportError:
        return "cpu"
    if torch.cuda.is_available():
        return "cuda"
    if torch.backends.mps.is_available():
        return "mps"
    return "cpu"


class RunScope:
    """State shared by the nodes of one run."""

    def __init__(
        self,
        run_id: str = "run",
        *,
        device: str = "cpu",
        output_dir: Path | str = "output",
        interrupt: threading.Event | None = None,
        on_progress: ProgressCallback | None = None,
        workflow: Any = None,
        resources: Resources | None = None,
        input_dirs: tuple[Path, ...] = (),
    ) -> None:
        self.run_id = run_id
        self.input_dirs = input_dirs
        self.resources = resources if resources is not None else Resources()
        self.device_setting = device
        self._device: str | None = None
        self.output_dir = Path(output_dir)
        self.interrupt = interrupt if interrupt is not None else threading.Event()
        self.on_progress = on_progress
        self.workflow = workflow
        self.logger = logging.getLogger("graph_engine.node")
        self._next_file_number: dict[str, int] = {}

    @property
    def device(self) -> str:
        # Resolved on first use: "auto" imports torch, which runs that never touch a
        # device should not pay for.
        if self._device is None:
            self._device = resolve_device(self.device_setting)
        return self._device

    def claim_file(self, prefix: str, suffix: str) -> Path:
        """Create and return a new empty file `output_dir/prefix_NNNNN.suffix` that did not exist."""
        self.output_dir.mkdir(parents=True, exist_ok=True)
        number = self._next_file_number.get(prefix + suffix, 1)
        while True:
            path = self.output_dir / f"{prefix}_{number:05d}{suffix}"
            try:
                # O_EXCL: never overwrite a file from an earlier run or another process.
                os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            except FileExistsError:
                number += 1
                continue
            self._next_file_number[prefix + suffix] = number + 1
            return path


class Context:
    """Per-node access to the run: `ctx.progress(...)`, `ctx.check_interrupt()`, `ctx.generator(seed)`..."""

    __slots__ = ("_logger", "_scope", "files", "node_id", "node_type")

    def __init__(self, scope: RunScope, node_id: str, node_type: str) -> None:
        self._scope = scope
        self.node_id = node_id
        self.node_type = node_type
        self.files: list[Path] = []
        self._logger: logging.LoggerAdapter[logging.Logger] | None = None

    @property
    def run_id(self) -> str:
        return self._scope.run_id

    @property
    def device(self) -> str:
        """Where heavy work should run: "cpu", "cuda", "cuda:1", "mps"."""
        return self._scope.device

    @property
    def output_dir(self) -> Path:
        """Directory for files the node writes (created on first use)."""
        self._scope.output_dir.mkdir(parents=True, exist_ok=True)
        return self._scope.output_dir

    @property
    def input_dirs(self) -> tuple[Path, ...]:
        """Folders to look up relative input file names in, before the current directory (e.g. a server's uploads)."""
        return self._scope.input_dirs

    @property
    def workflow(self) -> Any:
        """The workflow document being run, with parameter values applied (for provenance)."""
        return self._scope.workflow

    @property
    def logger(self) -> logging.LoggerAdapter[logging.Logger]:
        if self._logger is None:
            self._logger = logging.LoggerAdapter(self._scope.logger, {"run_id": self.run_id, "node_id": self.node_id})
        return self._logger

    def resource(self, kind: type[T]) -> T:
        """The executor-wide service of type `kind` (e.g. a model manager) declared by a node pack."""
        return self._scope.resources.get(kind)

    def check_interrupt(self) -> None:
        """Raise Interrupted if the run was asked to stop; call it inside long loops."""
        if self._scope.interrupt.is_set():
            raise Interrupted(f"run {self.run_id} interrupted in node {self.node_id}")

    def progress(self, value: float, total: float, preview: Any = None) -> None:
        """Report progress (e.g. sampler step `value` of `total`), optionally with a preview image.

        Also checks for an interrupt, so a node reporting steps is interruptible for free.
        """
        self.check_interrupt()
        if self._scope.on_progress is not None:
            self._scope.on_progress(self.node_id, value, total, preview)

    def generator(self, seed: int, device: str = "cpu") -> torch.Generator:
        """A torch.Generator seeded with `seed` (on CPU by default, so results match across devices)."""
        import torch

        return torch.Generator(device=device).manual_seed(seed)

    def rng(self, seed: int) -> numpy.random.Generator:
        """A numpy random Generator seeded with `seed`."""
        import numpy

        return numpy.random.default_rng(seed)

    def add_file(self, path: Path | str) -> None:
        """Report a file the node wrote; it appears in the node_finished event and the run result."""
        self.files.append(Path(path))

    def new_file(self, prefix: str, suffix: str) -> Path:
        """A fresh file path in the output directory (`prefix_00001.png`, ...), already reported."""
        path = self._scope.claim_file(prefix, suffix)
        self.add_file(path)
        return path
