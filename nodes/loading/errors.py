"""Errors raised while locating or reading model weights."""


class CheckpointError(ValueError):
    """A checkpoint file or folder cannot be loaded. The message names the file and what is wrong."""


class HubUnavailableError(CheckpointError):
    """A Hub repository is neither in the local cache nor downloadable (offline, missing, or gated)."""
