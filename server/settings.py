"""Server settings: one object per app, passed in (no globals, so tests run several apps)."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

LOOPBACK_HOST_NAMES = ("localhost", "127.0.0.1", "::1")
# In a source checkout: the editor's build output.
_REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_EDITOR_DIR = _REPO_ROOT / "server" / "web" / "dist"


def is_loopback(host: str) -> bool:
    """True for names and addresses that only this machine can reach."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class Settings(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True, extra="forbid")

    data_dir: Path = Field(description="Holds server.sqlite3, workflows/, inputs/ and outputs/.")
    host: str = "127.0.0.1"
    port: int = Field(default=8188, ge=0, le=65535)
    token: str | None = Field(
        default=None, min_length=16,
        description="Access token; required when host is not a loopback address.",
    )
    allowed_origins: tuple[str, ...] = Field(
        default=(), description="Browser origins besides the server's own that may call it, e.g. 'https://editor.example'."
    )
    allowed_hosts: tuple[str, ...] = Field(
        default=(),
        description="Host header names accepted besides localhost names when there is no token "
        "(DNS-rebinding guard), e.g. the name a reverse proxy forwards.",
    )
    max_upload_bytes: int = Field(default=32 * 1024 * 1024, gt=0)
    max_request_bytes: int = Field(default=16 * 1024 * 1024, gt=0, description="Largest JSON request body.")
    max_upload_pixels: int = Field(default=64 * 1024 * 1024, gt=0, description="Refuses decompression bombs.")
    devices: tuple[str, ...] = Field(
        default=("auto",), min_length=1, description="One worker thread per device: auto, cpu, cuda, cuda:1, mps."
    )
    registry: Any = Field(default=None, description="The engine node registry; None means the default node packs.")
    workflow_library: Any = Field(
        default=None,
        description="The engine's WorkflowLibrary (workflows usable by name and as workflow:NAME nodes); None means "
        "$GRAPH_ENGINE_WORKFLOWS and the installed workflow packs. The saved workflows always come first.",
    )
    preview_max_size: int = Field(default=512, ge=16, le=4096, description="Longest side of preview images.")
    cache_bytes: int | None = Field(default=None, gt=0, description="Result cache budget; None = engine default.")
    editor_dir: Path | None = Field(
        default=DEFAULT_EDITOR_DIR, description="The browser editor's build output (server/web/dist), served at /."
    )

    @field_validator("allowed_origins")
    @classmethod
    def _origins_are_bare(cls, origins: tuple[str, ...]) -> tuple[str, ...]:
        for origin in origins:
            if origin == "null" or "://" not in origin or origin.endswith("/"):
                raise ValueError(f"allowed origin {origin!r} must look like 'https://host[:port]'")
        return origins

    @field_validator("devices")
    @classmethod
    def _devices_are_distinct(cls, devices: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(devices)) != len(devices):
            raise ValueError(f"devices {list(devices)} name one device twice; each device gets one worker")
        return devices

    @model_validator(mode="after")
    def _remote_bind_needs_token(self) -> Settings:
        if not is_loopback(self.host) and self.token is None:
            raise ValueError(
                f"binding to {self.host!r} (not loopback) requires an access token; "
                "give one or let `graph-engine serve` generate it"
            )
        return self

    @property
    def trusted_hosts(self) -> frozenset[str]:
        """Host header names (without port) accepted when no token guards the server."""
        return frozenset(LOOPBACK_HOST_NAMES) | frozenset(self.allowed_hosts)
