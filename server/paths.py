"""The one gate between a client-supplied file name and the file system.

Every endpoint that reads or names a file (downloads, uploads, the workflow
library) goes through `resolve_under`, so there is exactly one place where
traversal is refused.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

MAX_RELATIVE_PATH_CHARS = 512

# One path component: starts with a letter, digit or underscore (so no hidden
# files and no in-progress `.tmp-*` files), then letters, digits, `_ - . space`.
_COMPONENT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\- ]{0,254}")


class UnsafePathError(ValueError):
    """A client-supplied path that could leave its root or is not plainly spelled."""


def check_relative_path(relative: str) -> list[str]:
    """Split a client-supplied relative path into its components, refusing anything odd.

    Refused: empty paths, absolute paths, `.` and `..`, backslashes, percent signs
    (a second layer of URL encoding), control characters, non-ASCII or
    non-normalised Unicode, hidden names and over-long paths.
    """
    if not isinstance(relative, str) or not relative:
        raise UnsafePathError("expected a non-empty relative path like 'run-1/image-0.png'")
    if len(relative) > MAX_RELATIVE_PATH_CHARS:
        raise UnsafePathError(f"path is longer than {MAX_RELATIVE_PATH_CHARS} characters")
    if unicodedata.normalize("NFC", relative) != relative or not relative.isascii():
        raise UnsafePathError("path must be plain ASCII")
    if relative.startswith("/"):
        raise UnsafePathError("absolute paths are refused; give a path relative to the folder")
    parts = relative.split("/")
    for part in parts:
        if part in ("", ".", ".."):
            raise UnsafePathError(f"path component {part!r} is refused (no empty, '.' or '..' parts)")
        if not _COMPONENT.fullmatch(part):
            raise UnsafePathError(
                f"path component {part!r} is refused: expected letters, digits, '_', '-', '.', ' ' "
                "and no leading '.', '-' or space"
            )
    return parts


def resolve_under(root: Path, relative: str, *, must_exist: bool = True) -> Path:
    """Resolve `relative` inside `root`, following symlinks, and refuse anything outside.

    With `must_exist`, the target must be an existing regular file (the case of
    every download); otherwise only its parent folder has to exist inside `root`.
    """
    parts = check_relative_path(relative)
    real_root = root.resolve(strict=True)
    candidate = real_root.joinpath(*parts)
    # resolve() follows every symlink on the way, so a link (file or folder)
    # that points out of the root lands outside it and is refused below.
    target = candidate.resolve(strict=False)
    if not target.is_relative_to(real_root) or target == real_root:
        raise UnsafePathError(f"path {relative!r} leaves its folder")
    if must_exist:
        if not target.is_file():
            raise FileNotFoundError(relative)
    elif not target.parent.is_dir():
        raise FileNotFoundError(f"folder of {relative!r} does not exist")
    return target
