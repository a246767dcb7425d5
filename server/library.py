"""The saved-workflow library: canonical JSON files in data_dir/workflows, indexed in SQLite."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from graph_engine.document import Workflow, parse_workflow
from graph_engine.issues import WorkflowValidationError
from graph_engine.library import WorkflowFolder
from server.files import replace_file
from server.paths import resolve_under
from server.schemas import SavedWorkflowInfo
from server.store import Store


class WorkflowLibrary:
    def __init__(self, folder: Path, store: Store) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self._folder = folder
        self._store = store
        self.sync()

    def _path(self, name: str, *, must_exist: bool) -> Path:
        return resolve_under(self._folder, f"{name}.json", must_exist=must_exist)

    def sync(self) -> None:
        """Make the index match the folder (files added by hand, or a crash between file and index)."""
        indexed = {info.name for info in self._store.list_saved()}
        on_disk = WorkflowFolder(self._folder, source="saved").paths()
        for name in indexed - on_disk.keys():
            self._store.delete_saved(name)
        for name, path in on_disk.items():
            if name in indexed:
                continue
            try:
                workflow = parse_workflow(json.loads(path.read_bytes()))
            except (ValueError, WorkflowValidationError):
                continue  # not a workflow document; left alone and not listed
            self._store.put_saved(name, workflow.description, hashlib.sha256(path.read_bytes()).hexdigest())

    def list(self) -> list[SavedWorkflowInfo]:
        return self._store.list_saved()

    def get(self, name: str) -> Workflow:
        """The saved workflow `name`; raises FileNotFoundError or WorkflowValidationError."""
        if self._store.get_saved(name) is None:
            raise FileNotFoundError(name)
        return parse_workflow(json.loads(self._path(name, must_exist=True).read_bytes()))

    def put(self, name: str, document: dict[str, Any]) -> SavedWorkflowInfo:
        """Save (or replace) `name`; the document is checked and stored in canonical form."""
        workflow = parse_workflow(document)
        text = workflow.to_json().encode()
        replace_file(self._path(name, must_exist=False), text)
        return self._store.put_saved(name, workflow.description, hashlib.sha256(text).hexdigest())

    def delete(self, name: str) -> bool:
        if not self._store.delete_saved(name):
            return False
        self._path(name, must_exist=False).unlink(missing_ok=True)
        return True
