"""A lean HTTP/1.1 client on asyncio streams, for the load generator (``carekey bench login``).

Keep-alive connections over loopback (a new one per request when keep-alive is off), JSON
bodies encoded with orjson, every answer read in full (``Content-Length``, chunked, or to the
end of the connection). It is lean because the load generator shares the machine's cores with
the server it measures: ``httpx`` cost about 2 ms of CPU per key bundle.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import urllib.parse
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Final, Self

import orjson

REQUEST_TIMEOUT_S: Final = 60.0
KEEPALIVE_EXPIRY_S: Final = 5.0  # an idle connection older than this is closed, not reused


class HttpError(Exception):
    """No complete HTTP answer: connection refused or broken, a malformed answer, or a timeout."""


class HttpStatusError(HttpError):
    """An answer whose status is not 2xx where one was required."""


@dataclass(frozen=True, slots=True)
class HttpResponse:
    status_code: int
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return orjson.loads(self.content)

    def raise_for_status(self, what: str) -> None:
        if not 200 <= self.status_code < 300:
            raise HttpStatusError(f"{what} {self.status_code}: {self.text[:200]}")


@dataclass(slots=True, eq=False)
class _Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    idle_since: float = 0.0

    def reusable(self, now: float) -> bool:
        """Not closed by the server (as far as the loop has seen) and not idle for too long."""
        return (
            now - self.idle_since < KEEPALIVE_EXPIRY_S
            and not self.reader.at_eof()
            and not self.writer.is_closing()
        )


_BODY_INLINE_MAX: Final = 64 * 1024  # smaller bodies go out in the same write as the head


class HttpClient:
    """A minimal HTTP/1.1 client on asyncio streams, for plain ``http://`` on loopback.

    At most ``max_connections`` requests are in flight; each takes the most recently used idle
    connection or opens a new one. After a complete answer the connection goes back to the pool,
    unless keep-alive is off, the server said ``Connection: close`` (or is HTTP/1.0 without
    keep-alive), or the body was delimited by the end of the connection. Any failure (refused,
    reset, closed early, malformed, timeout over the whole request) closes that connection and
    raises :class:`HttpError`. No redirects, no compression, no TLS, no retries.
    """

    def __init__(
        self,
        base_url: str,
        *,
        max_connections: int = 256,
        keepalive: bool = True,
        timeout: float = REQUEST_TIMEOUT_S,
    ) -> None:
        url = urllib.parse.urlsplit(base_url)
        if url.scheme != "http" or not url.hostname:
            raise ValueError(f"only plain http:// base URLs are supported, not {base_url!r}")
        self._host = url.hostname
        self._port = url.port or 80
        self._prefix = url.path.rstrip("/")
        self._host_line = f"Host: {url.netloc.rpartition('@')[2]}\r\n"
        self._keepalive = keepalive
        self._timeout = timeout
        self._gate = asyncio.Semaphore(max_connections)
        self._idle: list[_Connection] = []
        self.connections_opened = 0

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the idle connections (connections in use are closed by their request)."""
        idle, self._idle = self._idle, []
        for connection in idle:
            connection.writer.close()
        for connection in idle:
            with contextlib.suppress(OSError):
                await connection.writer.wait_closed()

    def _encode(
        self, method: str, path: str, body: bytes, json_body: bool, headers: dict[str, str] | None
    ) -> bytes:
        head = f"{method} {self._prefix}{path} HTTP/1.1\r\n{self._host_line}"
        if json_body:
            head += "Content-Type: application/json\r\n"
        if body or method not in ("GET", "HEAD"):
            head += f"Content-Length: {len(body)}\r\n"
        if headers:
            for name, value in headers.items():
                if "\r" in value or "\n" in value or "\r" in name or "\n" in name:
                    raise ValueError(f"line break in header {name!r}")
                head += f"{name}: {value}\r\n"
        return (head + "\r\n").encode("latin-1")

    async def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        headers: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> HttpResponse:
        """Send one request and read its whole answer; ``path`` is appended to the base URL.

        ``timeout`` (default: the client's) bounds everything, including the wait for a free
        connection slot."""
        body = b"" if json_body is None else orjson.dumps(json_body)
        head = self._encode(method, path, body, json_body is not None, headers)
        limit = timeout or self._timeout
        connection: _Connection | None = None
        try:
            async with asyncio.timeout(limit), self._gate:
                connection = self._idle_connection()
                if connection is None:
                    reader, writer = await asyncio.open_connection(self._host, self._port)
                    connection = _Connection(reader, writer)
                    self.connections_opened += 1
                if len(body) <= _BODY_INLINE_MAX:
                    connection.writer.write(head + body)
                else:
                    connection.writer.write(head)
                    connection.writer.write(body)
                await connection.writer.drain()
                response, keep = await _read_response(connection.reader, method)
                # no await from here on: back in the pool before the slot is released
                if keep and self._keepalive:
                    connection.idle_since = time.monotonic()
                    self._idle.append(connection)
                else:
                    connection.writer.close()
                connection = None
                return response
        except (OSError, EOFError, asyncio.LimitOverrunError, ValueError) as exc:
            # TimeoutError is an OSError here; IncompleteReadError is an EOFError
            raise HttpError(f"{method} {path}: {_describe(exc, limit)}") from exc
        finally:
            if connection is not None:  # failed or cancelled half-way: never reused
                connection.writer.close()

    def _idle_connection(self) -> _Connection | None:
        """The most recently used idle connection still fit for use; stale ones are closed."""
        now = time.monotonic()
        while self._idle:
            connection = self._idle.pop()
            if connection.reusable(now):
                return connection
            connection.writer.close()
        return None


def _describe(exc: BaseException, timeout: float) -> str:
    if isinstance(exc, TimeoutError):
        return f"no complete answer within {timeout:g} s"
    if isinstance(exc, asyncio.IncompleteReadError):
        return f"connection closed after {len(exc.partial)} of {exc.expected} bytes"
    return f"{type(exc).__name__}: {exc}"


async def _read_response(reader: asyncio.StreamReader, method: str) -> tuple[HttpResponse, bool]:
    """One answer from ``reader``: ``(response, whether the connection may be reused)``."""
    while True:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head[:-4].split(b"\r\n")
        version, _, rest = lines[0].partition(b" ")
        if not version.startswith(b"HTTP/1.") or len(rest) < 3 or not rest[:3].isdigit():
            raise ValueError(f"not an HTTP/1.x status line: {lines[0][:80]!r}")
        status = int(rest[:3])
        if not 100 <= status < 200 or status == 101:
            break  # else an interim answer (100 Continue, 103 Early Hints): the real one follows
    keep = version != b"HTTP/1.0"
    length: int | None = None
    coding: bytes | None = None
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if not colon:
            raise ValueError(f"malformed header line: {line[:80]!r}")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
            if length < 0:
                raise ValueError(f"negative Content-Length: {length}")
        elif name == b"transfer-encoding":
            coding = value.strip().lower()
        elif name == b"connection":
            tokens = {token.strip() for token in value.lower().split(b",")}
            if b"close" in tokens:
                keep = False
            elif b"keep-alive" in tokens:
                keep = True
    if method == "HEAD" or status in (204, 304) or status < 200:
        body = b""
    elif coding is not None and coding.endswith(b"chunked"):
        body = await _read_chunked(reader)  # chunked wins over any Content-Length
    elif length is not None and coding is None:
        body = await reader.readexactly(length) if length else b""
    else:
        body = await reader.read()  # delimited by the end of the connection
        keep = False
    return HttpResponse(status, body), keep


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    while True:
        size = int(((await reader.readuntil(b"\r\n")).split(b";", 1)[0]), 16)
        if size < 0:
            raise ValueError(f"negative chunk size: {size}")
        if size == 0:
            break
        chunk = await reader.readexactly(size + 2)
        if chunk[-2:] != b"\r\n":
            raise ValueError("chunk not followed by CRLF")
        parts.append(chunk[:-2])
    while await reader.readuntil(b"\r\n") != b"\r\n":
        pass  # trailer fields, ignored
    return b"".join(parts)
