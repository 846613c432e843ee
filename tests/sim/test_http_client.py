"""The load generator's own HTTP/1.1 client (``carekey.sim.http_client``) against a small real
HTTP server on 127.0.0.1.

The server (asyncio streams, in the test's event loop) answers by path, so each test can ask for
keep-alive, chunked bodies, ``Connection: close``, a connection dropped mid-answer or no answer.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import pytest

from carekey.sim.http_client import HttpClient, HttpError, HttpStatusError


@dataclass
class _Seen:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes


@dataclass
class _Server:
    """Counts connections and records requests; ``/slow`` never answers, it waits for the
    client to hang up."""

    connections: int = 0
    closed: int = 0
    requests: list[_Seen] = field(default_factory=list)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except asyncio.IncompleteReadError:
                    return  # the client closed the connection
                request_line, *lines = head[:-4].decode("latin-1").split("\r\n")
                method, target, _ = request_line.split(" ")
                headers = {}
                for line in lines:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                self.requests.append(_Seen(method, target, headers, body))
                if not await self.answer(target, body, reader, writer):
                    return
        finally:
            self.closed += 1
            writer.close()

    async def answer(
        self,
        target: str,
        body: bytes,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> bool:
        """Write the answer for ``target``; False closes the connection afterwards."""
        if target.endswith("/echo"):
            payload = json.dumps({"echo": body.decode(), "n": len(self.requests)}).encode()
            writer.write(_head(200, len(payload)) + payload)
        elif target.endswith("/status/404"):
            writer.write(_head(404, 9) + b"not found")
        elif target.endswith("/chunked"):
            writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            for part in (b"hello, ", b"chunked ", b"x" * 70_000, b"world"):
                writer.write(f"{len(part):x};ext=1\r\n".encode() + part + b"\r\n")
                await writer.drain()
            writer.write(b"0\r\nX-Trailer: yes\r\n\r\n")
        elif target.endswith("/close"):
            writer.write(_head(200, 6, b"Connection: close\r\n") + b"closed")
            await writer.drain()
            return False
        elif target.endswith("/hangup-idle"):
            writer.write(_head(200, 4) + b"done")  # keep-alive offered, then closed anyway
            await writer.drain()
            return False
        elif target.endswith("/drop"):
            writer.write(_head(200, 100) + b"only ten b")
            await writer.drain()
            return False
        elif target.endswith("/slow"):
            await reader.read()  # until the client closes the connection
            return False
        else:
            writer.write(_head(400, 0))
        await writer.drain()
        return True


def _head(status: int, length: int, extra: bytes = b"") -> bytes:
    return (
        (
            f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n"
        ).encode()
        + extra
        + b"\r\n"
    )


Scenario = Callable[[_Server, str], Awaitable[None]]
Run = Callable[[Scenario], _Server]


@pytest.fixture(params=["asyncio", "uvloop"])
def run(request: pytest.FixtureRequest) -> Run:
    """Runs a scenario on the default event loop and on uvloop (which the load process uses):
    the server on a free loopback port, ``scenario(server, base_url)``, then the server stops."""
    loop_factory: Callable[[], asyncio.AbstractEventLoop] | None = None
    if request.param == "uvloop":
        uvloop = pytest.importorskip("uvloop")
        loop_factory = uvloop.new_event_loop

    def run_scenario(scenario: Scenario) -> _Server:
        server = _Server()

        async def main() -> None:
            listener = await asyncio.start_server(server.handle, "127.0.0.1", 0)
            port = listener.sockets[0].getsockname()[1]
            try:
                await scenario(server, f"http://127.0.0.1:{port}/base")
            finally:
                listener.close()
                await listener.wait_closed()
                await asyncio.sleep(0.01)  # let the handlers see their connections end

        def in_thread() -> None:
            with asyncio.Runner(loop_factory=loop_factory) as runner:
                runner.run(main())

        # In a thread of its own: a fresh thread has no running event loop, whatever an earlier
        # test left in the main thread (Playwright's sync API keeps one there).
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            pool.submit(in_thread).result(timeout=60)
        return server

    return run_scenario


def test_keep_alive_reuses_one_connection_and_sends_json_with_length(run: Run) -> None:
    async def scenario(server: _Server, base_url: str) -> None:
        async with HttpClient(base_url) as client:
            first = await client.request(
                "POST", "/echo", json_body={"a": 1}, headers={"Authorization": "Bearer t"}
            )
            second = await client.request("POST", "/echo", json_body=[1, 2, 3])
            assert client.connections_opened == 1
        assert (first.status_code, second.status_code) == (200, 200)
        assert json.loads(first.json()["echo"]) == {"a": 1}
        assert second.json() == {"echo": "[1,2,3]", "n": 2}
        assert first.text.startswith('{"echo"')
        seen = server.requests[0]
        assert (seen.method, seen.target) == ("POST", "/base/echo")
        assert seen.headers["host"] == base_url.removeprefix("http://").removesuffix("/base")
        assert seen.headers["content-type"] == "application/json"
        assert seen.headers["content-length"] == str(len(seen.body))
        assert seen.headers["authorization"] == "Bearer t"
        assert "connection" not in seen.headers

    server = run(scenario)
    assert server.connections == 1


def test_without_keep_alive_every_request_gets_its_own_connection(run: Run) -> None:
    async def scenario(server: _Server, base_url: str) -> None:
        async with HttpClient(base_url, keepalive=False) as client:
            for _ in range(3):
                assert (await client.request("GET", "/echo")).status_code == 200
            assert client.connections_opened == 3
        assert "content-length" not in server.requests[0].headers  # a GET without a body

    assert run(scenario).connections == 3


def test_chunked_body_is_read_in_full_and_the_connection_reused(run: Run) -> None:
    async def scenario(server: _Server, base_url: str) -> None:
        async with HttpClient(base_url) as client:
            response = await client.request("GET", "/chunked")
            assert response.content == b"hello, chunked " + b"x" * 70_000 + b"world"
            assert (await client.request("GET", "/echo")).status_code == 200
            assert client.connections_opened == 1

    run(scenario)


def test_connection_close_is_honoured_and_the_next_request_opens_a_new_one(run: Run) -> None:
    async def scenario(server: _Server, base_url: str) -> None:
        async with HttpClient(base_url) as client:
            assert (await client.request("GET", "/close")).content == b"closed"
            assert (await client.request("GET", "/echo")).status_code == 200
            assert client.connections_opened == 2

    assert run(scenario).connections == 2


def test_an_idle_connection_the_server_closed_is_not_reused(run: Run) -> None:
    async def scenario(server: _Server, base_url: str) -> None:
        async with HttpClient(base_url) as client:
            assert (await client.request("GET", "/hangup-idle")).content == b"done"
            await asyncio.sleep(0.05)  # the client's loop sees the end of the connection
            assert (await client.request("GET", "/echo")).status_code == 200
            assert client.connections_opened == 2

    run(scenario)


def test_a_connection_dropped_mid_answer_raises_http_error_and_is_not_reused(run: Run) -> None:
    async def scenario(server: _Server, base_url: str) -> None:
        async with HttpClient(base_url) as client:
            with pytest.raises(HttpError, match="closed after 10 of 100 bytes"):
                await client.request("GET", "/drop")
            assert (await client.request("GET", "/echo")).status_code == 200
            assert client.connections_opened == 2

    run(scenario)


def test_a_timeout_raises_http_error_and_closes_the_connection(run: Run) -> None:
    async def scenario(server: _Server, base_url: str) -> None:
        async with HttpClient(base_url, timeout=30.0) as client:
            with pytest.raises(HttpError, match=r"within 0\.2 s"):
                await client.request("GET", "/slow", timeout=0.2)
            await asyncio.sleep(0.05)
            assert server.closed == 1  # the client hung up; the server's read ended
            assert (await client.request("GET", "/echo")).status_code == 200
            assert client.connections_opened == 2

    run(scenario)


def test_a_refused_connection_raises_http_error(run: Run) -> None:
    async def scenario(server: _Server, base_url: str) -> None:
        listener = await asyncio.start_server(server.handle, "127.0.0.1", 0)
        port = listener.sockets[0].getsockname()[1]
        listener.close()
        await listener.wait_closed()
        async with HttpClient(f"http://127.0.0.1:{port}") as client:
            with pytest.raises(HttpError):
                await client.request("GET", "/echo")

    run(scenario)


def test_status_codes_are_returned_and_checked_on_request(run: Run) -> None:
    async def scenario(server: _Server, base_url: str) -> None:
        async with HttpClient(base_url) as client:
            response = await client.request("GET", "/status/404")
            assert (response.status_code, response.text) == (404, "not found")
            with pytest.raises(HttpStatusError, match="challenge 404: not found"):
                response.raise_for_status("challenge")
            (await client.request("POST", "/echo", json_body={})).raise_for_status("echo")

    run(scenario)


def test_only_plain_http_base_urls() -> None:
    with pytest.raises(ValueError, match="http://"):
        HttpClient("https://example.invalid")
