"""Hugging Face Hub repositories as model sources.

The local Hub cache is used when it already holds every file a loader reads; otherwise only
those files are downloaded (configs, tokenizer files, the requested weight variant), never
safety checkers or other weight formats. When neither works the error gives the exact
download command.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from pathlib import Path

from huggingface_hub import constants, snapshot_download
from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

from nodes.loading.diffusers_folder import (
    DIFFUSERS_WEIGHTS,
    MODEL_CONFIG,
    MODEL_INDEX,
    SCHEDULER_CONFIG,
    TRANSFORMERS_WEIGHTS,
    read_json,
    weight_file_candidates,
)
from nodes.loading.errors import HubUnavailableError

_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*$")


def is_repo_id(source: str) -> bool:
    """Whether `source` has the shape of a Hub repository id ("owner/name")."""
    return bool(_REPO_ID.match(source))


def hub_snapshot(repo_id: str, *, components: Sequence[str], variant: str | None = None) -> Path:
    """A local folder holding the files of `repo_id` that a loader needs.

    `components` are the sub-folders read (e.g. "unet", "tokenizer"); files at the top level
    (model_index.json, or config.json and weights for a single-model repository) always count.
    """
    patterns = download_patterns(components, variant)
    try:
        cached = Path(snapshot_download(repo_id, allow_patterns=patterns, local_files_only=True))
        if _is_complete(cached, components, variant):
            return cached
    except LocalEntryNotFoundError:
        pass
    try:
        folder = Path(snapshot_download(repo_id, allow_patterns=patterns))
    except (HfHubHTTPError, OSError, ValueError) as error:
        raise HubUnavailableError(_unavailable_message(repo_id, patterns, str(error))) from error
    # Offline, snapshot_download hands back whatever part of the repo is cached.
    if constants.HF_HUB_OFFLINE and not _is_complete(folder, components, variant):
        raise HubUnavailableError(_unavailable_message(repo_id, patterns, "offline mode and the cached copy is incomplete"))
    return folder


def download_patterns(components: Sequence[str], variant: str | None) -> list[str]:
    patterns = [MODEL_INDEX, MODEL_CONFIG, *_weight_patterns("", variant)]
    for component in components:
        patterns += [f"{component}/*.json", f"{component}/*.txt", *_weight_patterns(f"{component}/", variant)]
    return patterns


def _weight_patterns(prefix: str, variant: str | None) -> list[str]:
    infix = f".{variant}" if variant else ""
    patterns = []
    for stem in (DIFFUSERS_WEIGHTS, TRANSFORMERS_WEIGHTS):
        single, index = weight_file_candidates(stem, variant)
        patterns += [prefix + single, prefix + index, f"{prefix}{stem}{infix}-*-of-*.safetensors"]
    return patterns


def _is_complete(folder: Path, components: Sequence[str], variant: str | None) -> bool:
    if (folder / MODEL_INDEX).is_file():
        index = read_json(folder / MODEL_INDEX)
        present = [name for name in components if index.get(name) not in (None, [None, None])]
        return all(_component_is_complete(folder / name, variant) for name in present)
    return (folder / MODEL_CONFIG).is_file() and _has_weights(folder, variant)


def _component_is_complete(folder: Path, variant: str | None) -> bool:
    if (folder / MODEL_CONFIG).is_file():
        return _has_weights(folder, variant)
    if (folder / SCHEDULER_CONFIG).is_file():
        return True
    return folder.is_dir() and any(folder.iterdir())  # a tokenizer: vocab and merges files


def _has_weights(folder: Path, variant: str | None) -> bool:
    return any((folder / name).is_file() for stem in (DIFFUSERS_WEIGHTS, TRANSFORMERS_WEIGHTS)
               for name in weight_file_candidates(stem, variant))


def _unavailable_message(repo_id: str, patterns: list[str], problem: str) -> str:
    reason = problem.strip().splitlines()[0] if problem.strip() else "unknown error"
    folder = Path("models") / repo_id.split("/")[-1]
    includes = " ".join(shlex.quote(pattern) for pattern in patterns)
    return (
        f"cannot get {repo_id!r} from the Hugging Face Hub ({reason}).\n"
        f"Download it on a machine with access:\n"
        f"  hf download {repo_id} --include {includes} --local-dir {folder}\n"
        f"then pass the folder {folder} as the source; or run the command without --local-dir to fill the Hub"
        f" cache ({constants.HF_HUB_CACHE}), which is searched first."
    )
