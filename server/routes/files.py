"""Image uploads and file downloads; every path goes through server.paths.resolve_under."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool

from server.files import write_new_file
from server.paths import UnsafePathError, resolve_under
from server.schemas import FileKind, Message, UploadResponse
from server.state import ServerState, get_state
from server.uploads import InvalidUploadError, check_image, stored_name

router = APIRouter(tags=["files"])
State = Annotated[ServerState, Depends(get_state)]

_INLINE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp"}
# Served files never run as pages: no sniffing, and a sandbox even if one is opened directly.
_FILE_HEADERS = {"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox; default-src 'none'"}
_UPLOAD_BODY = {
    "required": True,
    "content": {media: {"schema": {"type": "string", "format": "binary"}}
                for media in ("application/octet-stream", "image/png", "image/jpeg", "image/webp")},
}


def _root(state: ServerState, kind: FileKind) -> Path:
    return state.inputs_root if kind is FileKind.INPUTS else state.outputs_root


@router.post(
    "/uploads", status_code=201, openapi_extra={"requestBody": _UPLOAD_BODY},
    responses={413: {"model": Message}, 415: {"model": Message}},
)
async def upload_image(
    request: Request, state: State,
    filename: Annotated[str | None, Query(max_length=255, description="Original name; only its stem is kept.")] = None,
) -> UploadResponse:
    """Store an image (PNG, JPEG or WebP; the raw bytes are the request body) in the inputs folder.

    It is fully decoded first; anything that is not such an image, or is larger than
    the upload limit, is refused. The name is chosen by the server and never overwrites.
    """
    limit = state.settings.max_upload_bytes
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"upload of {declared} bytes exceeds the limit of {limit} bytes")
    chunks: list[bytes] = []
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > limit:
            raise HTTPException(413, f"upload exceeds the limit of {limit} bytes")
        chunks.append(chunk)
    data = b"".join(chunks)
    try:
        checked = await run_in_threadpool(check_image, data, state.settings.max_upload_pixels)
    except InvalidUploadError as error:
        raise HTTPException(415, str(error)) from None
    saved = await run_in_threadpool(write_new_file, state.inputs_root, stored_name(filename, checked), data)
    return UploadResponse(path=saved.name, width=checked.width, height=checked.height,
                          format=checked.format.lower(), bytes=len(data))


@router.get("/files/{kind}", tags=["files"])
def list_files(
    kind: FileKind, state: State,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[str]:
    """Files in the inputs or outputs folder, newest first, as paths for /files/{kind}/{path}."""
    root = _root(state, kind)
    found: list[tuple[float, str]] = []
    for folder, subfolders, names in os.walk(root):
        subfolders[:] = [name for name in subfolders if not name.startswith(".")]
        for name in names:
            if name.startswith("."):
                continue
            path = Path(folder) / name
            try:
                found.append((path.stat().st_mtime, path.relative_to(root).as_posix()))
            except FileNotFoundError:
                continue  # removed while listing
    found.sort(reverse=True)
    return [relative for _, relative in found[offset:offset + limit]]


@router.get(
    "/files/{kind}/{path:path}", response_class=FileResponse,
    responses={200: {"content": {"application/octet-stream": {}}}, 400: {"model": Message}, 404: {"model": Message}},
)
def download_file(kind: FileKind, path: str, state: State) -> FileResponse:
    """Download an uploaded input or a run's output file."""
    try:
        target = resolve_under(_root(state, kind), path)
    except UnsafePathError as error:
        raise HTTPException(400, str(error)) from None
    except FileNotFoundError:
        raise HTTPException(404, f"no file {path!r} in {kind.value}") from None
    media_type = _INLINE_TYPES.get(target.suffix.lower())
    return FileResponse(
        target, media_type=media_type or "application/octet-stream", headers=_FILE_HEADERS,
        filename=target.name, content_disposition_type="inline" if media_type else "attachment",
    )
