"""Workflow libraries: named workflows gathered from folders.

A `WorkflowLibrary` is an ordinary object (no process-wide library) holding an ordered list
of `WorkflowFolder`s: the user's own folders (`--workflows DIR`, the `GRAPH_ENGINE_WORKFLOWS`
environment variable), a server's saved workflows, and workflow packs that Python packages
install through the entry point group `graph_engine.workflow_packs` (the project's shipped
`workflows/` is one). A workflow's name is its file stem, prefixed with "pack." for
non-builtin packs; when two folders hold the same name, the earlier folder wins.

Documents are parsed again when their file's content changes, so a workflow saved while a
server runs is used by the next run.
"""

from __future__ import annotations

import difflib
import hashlib
import importlib.metadata
import os
import threading
import traceback
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from graph_engine.document import Workflow, load_workflow

WORKFLOW_PACK_GROUP = "graph_engine.workflow_packs"
WORKFLOWS_ENV = "GRAPH_ENGINE_WORKFLOWS"


def file_version(path: Path) -> str:
    """A digest of a file's content (workflow files are small: reading beats trusting mtimes,
    which two quick edits of the same length can share); raises OSError."""
    return hashlib.blake2b(path.read_bytes(), digest_size=16).hexdigest()


@dataclass(frozen=True)
class WorkflowPack:
    """A folder of workflow files shipped by a Python package.

    Register it under the entry point group `graph_engine.workflow_packs`:
    `[project.entry-points."graph_engine.workflow_packs"] mypack = "mypack:WORKFLOWS"`.
    Workflows of a non-builtin pack are named "pack.stem".
    """

    name: str
    folder: Path
    description: str = ""
    builtin: bool = False


@dataclass(frozen=True)
class WorkflowFolder:
    """One source of a library: the `*.json` files directly in `folder`."""

    folder: Path
    source: str  # shown in listings: "user", "saved", a pack's name
    prefix: str = ""  # prepended to file stems to make names ("pack.")

    @classmethod
    def of_pack(cls, pack: WorkflowPack) -> WorkflowFolder:
        return cls(Path(pack.folder), pack.name, "" if pack.builtin else f"{pack.name}.")

    def paths(self) -> dict[str, Path]:
        """Workflow files by name (hidden files skipped; a missing folder holds none)."""
        if not self.folder.is_dir():
            return {}
        return {
            self.prefix + path.stem: path
            for path in sorted(self.folder.glob("*.json"))
            if not path.name.startswith(".")
        }


@dataclass(frozen=True)
class LibraryEntry:
    name: str
    source: str
    path: Path


@dataclass(frozen=True)
class LibraryProblem:
    """A pack that could not be loaded, or a library workflow that cannot be used."""

    source: str
    message: str
    detail: str = ""

    def to_json(self) -> dict[str, str]:
        return {"source": self.source, "message": self.message, "detail": self.detail}


class WorkflowLibrary:
    """Named workflows from an ordered list of folders (earlier folders win on a name clash)."""

    def __init__(self, folders: Iterable[WorkflowFolder] = ()) -> None:
        self.folders: list[WorkflowFolder] = list(folders)
        self.problems: list[LibraryProblem] = []
        self._documents: dict[Path, tuple[str, Workflow]] = {}
        self._lock = threading.Lock()

    @classmethod
    def discover(
        cls,
        folders: Iterable[Path | str] = (),
        *,
        packs: Iterable[WorkflowPack] = (),
        environ: Mapping[str, str] = os.environ,
        group: str | None = WORKFLOW_PACK_GROUP,
    ) -> WorkflowLibrary:
        """The user's `folders`, then those in $GRAPH_ENGINE_WORKFLOWS (os.pathsep-separated),
        then `packs`, then every pack installed under the entry point `group` (None: none)."""
        user = [Path(folder).expanduser() for folder in folders]
        user += [Path(item).expanduser() for item in environ.get(WORKFLOWS_ENV, "").split(os.pathsep) if item]
        library = cls(WorkflowFolder(folder, "user") for folder in user)
        for pack in packs:
            library.add_pack(pack)
        if group is not None:
            library.load_entry_points(group)
        return library

    def load_entry_points(self, group: str = WORKFLOW_PACK_GROUP) -> None:
        for entry_point in sorted(importlib.metadata.entry_points(group=group), key=lambda ep: ep.name):
            try:
                pack = entry_point.load()
            except Exception as error:
                self.problems.append(
                    LibraryProblem(entry_point.name, f"failed to import: {type(error).__name__}: {error}",
                                   traceback.format_exc())
                )
                continue
            if not isinstance(pack, WorkflowPack):
                self.problems.append(
                    LibraryProblem(entry_point.name, f"expected a WorkflowPack, got {type(pack).__name__}")
                )
                continue
            self.add_pack(pack)

    def add_pack(self, pack: WorkflowPack) -> None:
        if any(folder.source == pack.name for folder in self.folders):
            self.problems.append(LibraryProblem(pack.name, "a workflow pack with this name is already loaded"))
            return
        self.folders.append(WorkflowFolder.of_pack(pack))

    # ---- lookup --------------------------------------------------------------------

    def entries(self) -> list[LibraryEntry]:
        """Every workflow by name, sorted (a name held by several folders: the first folder's)."""
        found: dict[str, LibraryEntry] = {}
        for folder in self.folders:
            for name, path in folder.paths().items():
                found.setdefault(name, LibraryEntry(name, folder.source, path))
        return [found[name] for name in sorted(found)]

    def find(self, name: str) -> LibraryEntry | None:
        for folder in self.folders:
            stem = name[len(folder.prefix):] if name.startswith(folder.prefix) else None
            if not stem or "/" in stem or "\\" in stem:
                continue
            path = folder.folder / f"{stem}.json"
            if path.is_file() and not path.name.startswith("."):
                return LibraryEntry(name, folder.source, path)
        return None

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.find(name) is not None

    def names(self) -> list[str]:
        return [entry.name for entry in self.entries()]

    def suggest(self, name: str) -> str | None:
        close = difflib.get_close_matches(name, self.names(), n=1, cutoff=0.6)
        return close[0] if close else None

    def load(self, path: Path) -> Workflow:
        """The document at `path`, parsed once per content; raises OSError or WorkflowValidationError."""
        resolved = path.resolve()
        version = file_version(resolved)
        with self._lock:
            cached = self._documents.get(resolved)
        if cached is not None and cached[0] == version:
            return cached[1]
        workflow = load_workflow(resolved)
        with self._lock:
            self._documents[resolved] = (version, workflow)
        return workflow

    def get(self, name: str) -> Workflow:
        """The library workflow `name`; raises KeyError (with a suggestion) if there is none."""
        entry = self.find(name)
        if entry is None:
            suggestion = self.suggest(name)
            hint = f"; did you mean {suggestion!r}?" if suggestion else ""
            raise KeyError(f"no workflow named {name!r} in the library{hint}")
        return self.load(entry.path)
