"""The single path gate and the atomic, never-overwriting writes."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from server.files import write_new_file
from server.paths import UnsafePathError, resolve_under


@pytest.fixture()
def root(tmp_path: Path) -> Path:
    folder = tmp_path / "outputs"
    (folder / "run").mkdir(parents=True)
    (folder / "run" / "image.png").write_bytes(b"png")
    (tmp_path / "secret.txt").write_text("secret")
    return folder


def test_plain_relative_paths_resolve(root: Path) -> None:
    assert resolve_under(root, "run/image.png") == (root / "run" / "image.png").resolve()


@pytest.mark.parametrize(
    "relative",
    [
        "../secret.txt", "run/../../secret.txt", "run/../image.png", "/etc/passwd", "./run/image.png",
        "run//image.png", "run\\image.png", "..\\secret.txt", "%2e%2e/secret.txt", "run/%2e%2e",
        "run/image.png\x00.txt", "run/\nimage.png", ".hidden", "run/.tmp-123", "C:/windows",
        "ｒｕｎ/image.png", "run/ima\u0301ge.png", "", "a/" * 300, "-rf", " run/image.png",
    ],
)
def test_odd_paths_are_refused(root: Path, relative: str) -> None:
    with pytest.raises(UnsafePathError):
        resolve_under(root, relative)


def test_symlinks_out_of_the_root_are_refused(root: Path, tmp_path: Path) -> None:
    (root / "link.txt").symlink_to(tmp_path / "secret.txt")
    (root / "linked_dir").symlink_to(tmp_path)
    with pytest.raises(UnsafePathError):
        resolve_under(root, "link.txt")
    with pytest.raises(UnsafePathError):
        resolve_under(root, "linked_dir/secret.txt")


def test_symlinks_inside_the_root_are_followed(root: Path) -> None:
    (root / "alias.png").symlink_to(root / "run" / "image.png")
    assert resolve_under(root, "alias.png") == (root / "run" / "image.png").resolve()


def test_missing_files_and_folders_are_not_found(root: Path) -> None:
    with pytest.raises(FileNotFoundError):
        resolve_under(root, "run/other.png")
    with pytest.raises(FileNotFoundError):
        resolve_under(root, "run")  # a folder is not a downloadable file
    with pytest.raises(FileNotFoundError):
        resolve_under(root, "nowhere/new.png", must_exist=False)
    assert resolve_under(root, "run/new.png", must_exist=False).name == "new.png"


def test_new_files_never_overwrite(tmp_path: Path) -> None:
    first = write_new_file(tmp_path, "image.png", b"one")
    second = write_new_file(tmp_path, "image.png", b"two")
    assert (first.name, second.name) == ("image.png", "image-1.png")
    assert first.read_bytes() == b"one" and second.read_bytes() == b"two"
    assert sorted(os.listdir(tmp_path)) == ["image-1.png", "image.png"]  # no temporary left behind


def test_concurrent_writers_get_distinct_files(tmp_path: Path) -> None:
    written: list[Path] = []
    lock = threading.Lock()

    def write(index: int) -> None:
        path = write_new_file(tmp_path, "same.bin", str(index).encode())
        with lock:
            written.append(path)

    threads = [threading.Thread(target=write, args=(index,)) for index in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({path.name for path in written}) == 16
    assert sorted(path.read_bytes() for path in written) == sorted(str(i).encode() for i in range(16))
