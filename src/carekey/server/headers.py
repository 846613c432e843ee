"""Security headers on every answer of the server, API and administration UI alike.

A pure ASGI middleware rather than ``@app.middleware("http")``: Starlette's
``BaseHTTPMiddleware`` runs the rest of the application in a separate task and streams the
response through memory channels, a fixed cost on every API call (key bundles included).
"""

from __future__ import annotations

from typing import Final

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_ALWAYS: Final = (
    (b"x-frame-options", "DENY"),
    (b"x-content-type-options", "nosniff"),
    (b"referrer-policy", "same-origin"),
)
HSTS: Final = "max-age=31536000; includeSubDomains"


class SecurityHeaders:
    """Clickjacking and sniffing guards on every answer; ``Cache-Control: no-store`` on API
    answers (they carry names, addresses and keys: no cache may keep them); HSTS over HTTPS."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        api = scope["path"].startswith("/api/")
        https = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in _ALWAYS:
                    headers.setdefault(name.decode(), value)
                if api:
                    headers.setdefault("Cache-Control", "no-store")
                if https:
                    headers.setdefault("Strict-Transport-Security", HSTS)
            await send(message)

        await self.app(scope, receive, send_with_headers)
