"""`graph-engine serve`: the arguments and the runner the engine's CLI plugs in.

`python -m server ...` is the same command.
"""

from __future__ import annotations

import argparse
import secrets
import sys
from pathlib import Path

from graph_engine.library import WorkflowLibrary
from graph_engine.registry import Registry
from server.settings import Settings, is_loopback

HELP = "serve workflows over HTTP and websockets: queue, history, files, live progress"
DEFAULT_DATA_DIR = Path("server-data")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1; any other needs an access token)")
    parser.add_argument("--port", type=int, default=8188, help="port (default 8188)")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR,
                        help=f"queue, history, uploads, outputs and saved workflows (default ./{DEFAULT_DATA_DIR})")
    parser.add_argument("--token", default=None,
                        help="access token clients must send; generated and printed when listening beyond loopback")
    parser.add_argument("--allow-origin", action="append", default=[], metavar="ORIGIN",
                        help="a browser origin besides the server's own that may use it (repeatable)")
    parser.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                        help="a Host header name to accept besides localhost names, e.g. behind a proxy (repeatable)")
    parser.add_argument("--device", action="append", default=[], metavar="DEVICE",
                        help="a device to run on, one worker each: auto, cpu, cuda, cuda:1 ... (default auto)")
    parser.add_argument("--max-upload-mb", type=float, default=32.0, help="largest accepted upload (default 32)")


def settings_from(args: argparse.Namespace, registry: Registry, library: WorkflowLibrary | None = None) -> Settings:
    token = args.token
    if token is None and not is_loopback(args.host):
        token = secrets.token_urlsafe(32)
        print(f"access token (send as 'Authorization: Bearer <token>' or '?token=<token>'): {token}", flush=True)
    return Settings(
        data_dir=args.data_dir, host=args.host, port=args.port, token=token,
        allowed_origins=tuple(args.allow_origin), allowed_hosts=tuple(args.allow_host),
        devices=tuple(args.device) or ("auto",), max_upload_bytes=int(args.max_upload_mb * 2**20), registry=registry,
        workflow_library=library,
    )


def run(args: argparse.Namespace) -> int:
    """Serve until interrupted, with the node packs the engine CLI's --pack / --no-installed-packs select."""
    import uvicorn
    from pydantic import ValidationError

    from graph_engine.cli.common import load_library, load_registry
    from server.app import create_app

    registry = load_registry(args)
    try:
        settings = settings_from(args, registry, load_library(args))
    except ValidationError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"serving {settings.data_dir.resolve()} on http://{settings.host}:{settings.port}", flush=True)
    # Without per-message deflate: events are small, and compressing each one once per
    # subscriber cost more CPU than everything else the server does (bench/bench_server.py).
    config = uvicorn.Config(create_app(settings), host=settings.host, port=settings.port,
                            ws="websockets-sansio", ws_per_message_deflate=False, log_level="warning")
    uvicorn.Server(config).run()
    return 0
