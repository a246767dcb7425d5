"""Fingerprints for nodes that read the outside world (files, mostly).

A node declared with `fingerprint=` gets its fingerprint added to its cache key, so it
re-runs when what it reads changes. `FileHasher` content-hashes files and remembers each
hash by (path, size, mtime, inode): touching a file re-hashes it but, if the bytes are the
same, the key (and so the cached result) stays the same.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any


class FileHasher:
    """Content hashes of files, memoised on their stat signature. One per executor.

    `input_dirs`: folders where nodes look up relative input file names (a server's uploads),
    before the current directory; nodes see them as `ctx.input_dirs`, fingerprints as
    `files.input_dirs`, so both resolve a name to the same file.
    """

    def __init__(self, input_dirs: Sequence[Path | str] = ()) -> None:
        self.input_dirs = tuple(Path(folder) for folder in input_dirs)
        self._memo: dict[str, tuple[tuple[int, int, int], str]] = {}
        self._lock = threading.Lock()
        self.hashed = 0  # number of files actually read (for tests and diagnostics)

    def hash(self, path: Path | str) -> str:
        """sha256 of the file's bytes; raises FileNotFoundError for a missing file."""
        resolved = os.path.realpath(path)
        stat = os.stat(resolved)
        signature = (stat.st_size, stat.st_mtime_ns, stat.st_ino)
        with self._lock:
            memo = self._memo.get(resolved)
        if memo is not None and memo[0] == signature:
            return memo[1]
        digest = hashlib.sha256()
        with open(resolved, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        with self._lock:
            self._memo[resolved] = (signature, digest.hexdigest())
            self.hashed += 1
        return digest.hexdigest()


def hash_files(*input_names: str) -> Callable[[Mapping[str, Any], FileHasher], dict[str, str | None]]:
    """A fingerprint function hashing the files named by the given (constant) inputs.

    `@node(fingerprint=hash_files("path"))` makes the node re-run when that file's content
    changes. Empty or None paths fingerprint as None.
    """

    def fingerprint(constants: Mapping[str, Any], files: FileHasher) -> dict[str, str | None]:
        return {name: files.hash(constants[name]) if constants.get(name) else None for name in input_names}

    return fingerprint
