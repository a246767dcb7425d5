"""Atomic, never-overwriting file writes for outputs, uploads and saved workflows."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

MAX_NAME_ATTEMPTS = 10_000


def _write_temporary(folder: Path, data: bytes) -> Path:
    # The leading dot keeps half-written files out of every listing and download
    # (see paths.check_relative_path).
    temporary = folder / f".tmp-{uuid.uuid4().hex}"
    with open(temporary, "xb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    return temporary


def link_new(source: Path, folder: Path, name: str) -> Path:
    """Hard-link a complete file `source` as `folder/name`, or `name-1`, `name-2`, ... if taken.

    Linking is atomic and fails when the name exists, so readers never see a
    partial file and an existing file is never replaced. `source` stays; the
    caller removes it.
    """
    folder.mkdir(parents=True, exist_ok=True)
    stem, suffix = os.path.splitext(name)
    for attempt in range(MAX_NAME_ATTEMPTS):
        candidate = folder / (name if attempt == 0 else f"{stem}-{attempt}{suffix}")
        try:
            os.link(source, candidate)
        except FileExistsError:
            continue
        return candidate
    raise FileExistsError(f"no free name for {name!r} in {folder} after {MAX_NAME_ATTEMPTS} attempts")


def write_new_file(folder: Path, name: str, data: bytes) -> Path:
    """Write `data` atomically to `folder/name` (or a free variant of it, see link_new); return the path."""
    folder.mkdir(parents=True, exist_ok=True)
    temporary = _write_temporary(folder, data)
    try:
        return link_new(temporary, folder, name)
    finally:
        temporary.unlink()


def move_new(source: Path, folder: Path, name: str) -> Path:
    """Move a complete file into `folder` under a free name (same file system); return the new path."""
    target = link_new(source, folder, name)
    source.unlink()
    return target


def replace_file(path: Path, data: bytes) -> None:
    """Atomically replace `path` with `data` (for saved workflows, which are edited in place)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = _write_temporary(path.parent, data)
    try:
        os.replace(temporary, path)
    except OSError:
        temporary.unlink()
        raise
