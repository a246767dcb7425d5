"""Websocket frames: the JSON messages and the binary preview frame (see server/PROTOCOL.md)."""

from __future__ import annotations

import json
import struct
from typing import Any

PROTOCOL_VERSION = 1

# Binary frames: big-endian uint32 frame type, uint32 header length, UTF-8 JSON header, payload.
BINARY_PREVIEW_IMAGE = 1
_BINARY_PREFIX = struct.Struct(">II")


def encode_binary(frame_type: int, header: dict[str, Any], payload: bytes) -> bytes:
    header_bytes = json.dumps(header, separators=(",", ":")).encode()
    return _BINARY_PREFIX.pack(frame_type, len(header_bytes)) + header_bytes + payload


def decode_binary(frame: bytes) -> tuple[int, dict[str, Any], bytes]:
    """Inverse of encode_binary (used by clients and tests)."""
    if len(frame) < _BINARY_PREFIX.size:
        raise ValueError(f"binary frame of {len(frame)} bytes is shorter than its {_BINARY_PREFIX.size}-byte prefix")
    frame_type, header_length = _BINARY_PREFIX.unpack_from(frame)
    end = _BINARY_PREFIX.size + header_length
    if end > len(frame):
        raise ValueError(f"binary frame header length {header_length} runs past the frame end")
    return frame_type, json.loads(frame[_BINARY_PREFIX.size:end]), frame[end:]
