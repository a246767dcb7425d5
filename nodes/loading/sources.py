"""Where a model comes from: a local file, a local folder, or a Hugging Face Hub repository id."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from nodes.loading.errors import CheckpointError
from nodes.loading.hub import hub_snapshot, is_repo_id


def locate(source: str | Path, *, components: Sequence[str], variant: str | None = None) -> Path:
    """The local file or folder behind `source`; a Hub repo id is resolved through the Hub cache.

    `components` names the sub-folders a loader reads, so that only those are downloaded.
    """
    path = Path(source).expanduser()
    if path.exists():
        return path
    if isinstance(source, str) and is_repo_id(source):
        return hub_snapshot(source, components=components, variant=variant)
    raise CheckpointError(
        f"model source {str(source)!r} not found: expected an existing .safetensors file, a diffusers folder,"
        f" or a Hugging Face Hub repo id such as 'owner/name'"
    )
