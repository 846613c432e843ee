"""``carekey serve --workers N``: a socket per worker, connections spread over them, a clean
stop, and a clear refusal when the port is taken."""

from __future__ import annotations

import os
import selectors
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from carekey.config import Settings
from carekey.server import serve
from carekey.sim.server import free_port
from carekey.store.db import create_db_engine
from carekey.store.migrate import upgrade

SECRET = "test-secret-key-for-serve-0123456789abcdef"

pytestmark = pytest.mark.skipif(
    not hasattr(socket, "SO_REUSEPORT"), reason="SO_REUSEPORT is Linux/BSD only"
)


def test_connections_are_spread_over_the_workers_sockets() -> None:
    """The mechanism itself: two sockets on one port, 40 new connections, both get some."""
    port = free_port()
    sockets = [serve.reuseport_socket("127.0.0.1", port) for _ in range(2)]
    clients: list[socket.socket] = []
    accepted = [0, 0]
    try:
        with selectors.DefaultSelector() as selector:
            for index, sock in enumerate(sockets):
                sock.setblocking(False)
                selector.register(sock, selectors.EVENT_READ, index)
            for _ in range(40):
                clients.append(socket.create_connection(("127.0.0.1", port)))
            deadline = time.monotonic() + 5
            while sum(accepted) < 40 and time.monotonic() < deadline:
                for key, _ in selector.select(timeout=0.5):
                    listener: socket.socket = key.fileobj  # type: ignore[assignment]
                    connection, _ = listener.accept()
                    connection.close()
                    accepted[key.data] += 1
    finally:
        for sock in [*sockets, *clients]:
            sock.close()
    assert sum(accepted) == 40
    assert min(accepted) > 0, accepted  # by a hash of the address pair: ≈ 20 each


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'carekey.db'}"
    engine = create_db_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


def test_two_workers_answer_and_stop_cleanly(database_url: str) -> None:
    port = free_port()
    env = {
        **os.environ,
        "CAREKEY_DATABASE_URL": database_url,
        "CAREKEY_SECRET_KEY": SECRET,
        "CAREKEY_LOG_LEVEL": "info",
    }
    command = [sys.executable, "-m", "carekey", "serve", "--port", str(port), "--workers", "2"]
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and fixed arguments
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None, process.communicate()[0]
            assert time.monotonic() < deadline, "the server did not answer /healthz in time"
            time.sleep(0.2)
        for _ in range(10):  # a new connection each time
            assert httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
        # Taken: a second server on the same port is refused, not silently joined.
        second = subprocess.run(  # noqa: S603 - our own interpreter and fixed arguments
            command, env=env, capture_output=True, text=True, timeout=60, check=False
        )
        assert second.returncode == 2
        assert "cannot listen on" in second.stderr + second.stdout
        process.terminate()
        output, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=10)
    assert process.returncode == 0, output
    assert output.count("Started server process") == 2
    assert output.count("Finished server process") == 2  # SIGTERM reached both, both finished


def test_a_worker_that_cannot_start_stops_the_server() -> None:
    """The workers fail at start (here: a log level uvicorn does not know): the supervisor
    stops with their exit code instead of restarting them in a loop."""
    settings = Settings(
        database_url="sqlite://",
        secret_key=SECRET,  # type: ignore[arg-type]
        log_level="no-such-level",
    )
    lines: list[str] = []
    started = time.monotonic()
    code = serve.run(settings, host="127.0.0.1", port=free_port(), workers=2, echo=lines.append)
    assert code != 0
    assert time.monotonic() - started < 60
    assert any("stopped at start" in line for line in lines), lines
