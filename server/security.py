"""Access guard for every HTTP request and websocket handshake: Host, Origin and token checks.

It is ASGI middleware rather than a FastAPI dependency so that no route, present
or future, can forget it.
"""

from __future__ import annotations

import hmac
import json
from urllib.parse import parse_qs, urlsplit

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from server.settings import Settings

TOKEN_QUERY_PARAM = "token"
# The editor's page and assets hold no data, so a browser may load them without the token; the
# page reads the token from its own address (`/?token=...`) and sends it with everything else.
EDITOR_PATHS = ("/", "/index.html")
EDITOR_ASSETS_PREFIX = "/assets/"


def editor_is_public(path: str) -> bool:
    return path in EDITOR_PATHS or path.startswith(EDITOR_ASSETS_PREFIX)


def _host_name(host_header: str) -> str:
    """'127.0.0.1:8188' -> '127.0.0.1', '[::1]:8188' -> '::1'."""
    if host_header.startswith("["):
        return host_header[1:].split("]", 1)[0]
    return host_header.rsplit(":", 1)[0] if host_header.count(":") == 1 else host_header


class AccessGuard:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self._app = app
        self._settings = settings

    def refusal(self, scope: Scope) -> tuple[int, str] | None:
        """(status, reason) when the request must be refused, else None."""
        headers = Headers(scope=scope)
        settings = self._settings
        host = headers.get("host", "")
        # Without a token, the only protection of a loopback server against DNS
        # rebinding (evil.example resolving to 127.0.0.1) is the Host header.
        if settings.token is None and _host_name(host).lower() not in settings.trusted_hosts:
            return 403, f"Host {host!r} is not accepted; expected one of {sorted(settings.trusted_hosts)}"
        origin = headers.get("origin")
        # Browsers send Origin on cross-site requests and on every websocket handshake;
        # 'null' (sandboxed frames, file://) is never trusted.
        if (origin is not None and origin not in settings.allowed_origins
                and (origin == "null" or urlsplit(origin).netloc.lower() != host.lower())):
            return 403, f"Origin {origin!r} may not use this server; start it with --allow-origin to permit it"
        public = scope["type"] == "http" and scope.get("method") in ("GET", "HEAD") and editor_is_public(scope["path"])
        if settings.token is not None and not public:
            given = self._given_token(scope, headers)
            if given is None:
                return 401, "an access token is required: 'Authorization: Bearer <token>' or '?token=<token>'"
            if not hmac.compare_digest(given.encode(), settings.token.encode()):
                return 401, "wrong access token"
        return None

    @staticmethod
    def _given_token(scope: Scope, headers: Headers) -> str | None:
        authorization = headers.get("authorization", "")
        scheme, _, credentials = authorization.partition(" ")
        if scheme.lower() == "bearer" and credentials:
            return credentials.strip()
        # Browsers cannot set headers on websocket handshakes or <img> downloads.
        values = parse_qs(scope.get("query_string", b"").decode("latin-1")).get(TOKEN_QUERY_PARAM)
        return values[0] if values else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self._app(scope, receive, send)
            return
        refused = self.refusal(scope)
        if refused is None:
            await self._app(scope, receive, send)
            return
        status, reason = refused
        if scope["type"] == "websocket":
            # Closing before accepting makes the server answer the handshake with HTTP 403.
            await send({"type": "websocket.close", "code": 1008, "reason": reason})
            return
        body = json.dumps({"detail": reason}).encode()
        response_headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        if status == 401:
            response_headers.append((b"www-authenticate", b"Bearer"))
        await send({"type": "http.response.start", "status": status, "headers": response_headers})
        await send({"type": "http.response.body", "body": body})
