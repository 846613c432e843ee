"""``carekey serve --workers N``: a socket per worker, connections spread over them, a clean
stop, and a clear refusal when the port is taken."""

from __future__ import annotations

import itertools
import os
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from carekey.config import Settings
from carekey.server import serve
from carekey.sim.server import free_port
from carekey.store.db import create_db_engine
from carekey.store.migrate import upgrade
from tests.cli import serve_workers

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
    code = serve.run(settings, host="127.0.0.1", port=free_port(), workers=2, echo=lines.append)
    assert code != 0
    assert any("stopped at start" in line for line in lines), lines
    assert not any("restarting" in line for line in lines), lines


def _settings() -> Settings:
    return Settings(database_url="sqlite://", secret_key=SECRET)  # type: ignore[arg-type]


def test_a_worker_that_dies_before_it_is_ready_stops_the_server_however_long_it_took() -> None:
    """Whether a worker failed at start is what it told the supervisor, not the wall time:
    here the supervisor's clock says an hour passes at every look, and a worker that dies
    before it said it was ready still stops the server, with its exit code."""
    hours = itertools.count(0, 3600)
    lines: list[str] = []
    supervisor = serve._Supervisor(
        _settings(),
        host="127.0.0.1",
        port=free_port(),
        keep_alive_s=5,
        echo=lines.append,
        target=serve_workers.fail_before_ready,
        clock=lambda: float(next(hours)),
    )
    assert supervisor.run(2) == 7
    assert any("stopped at start (exit 7)" in line for line in lines), lines
    assert not any("restarting" in line for line in lines), lines


def test_a_crash_loop_is_restarted_with_a_growing_bounded_delay() -> None:
    """A worker that was ready and then died is restarted, each time after twice the delay
    of the last, up to the bound; SIGTERM stops the supervisor cleanly meanwhile."""
    lines: list[str] = []

    def echo(line: str) -> None:
        lines.append(line)
        if sum("restarting" in seen for seen in lines) == 4:
            signal.raise_signal(signal.SIGTERM)  # the supervisor's handler: stop

    supervisor = serve._Supervisor(
        _settings(),
        host="127.0.0.1",
        port=free_port(),
        keep_alive_s=5,
        echo=echo,
        target=serve_workers.ready_then_crash,
        restart_delay_s=0.01,
        restart_delay_max_s=0.04,
        stable_s=float("inf"),  # no run of the worker is long enough to reset the count
    )
    assert supervisor.run(1) == 0
    assert lines == [
        f"carekey-worker-1 stoppede / stopped (exit 3); genstarter om / restarting in {d} s"
        for d in ("0.01", "0.02", "0.04", "0.04")
    ]


def test_a_worker_killed_after_it_was_ready_is_restarted(database_url: str) -> None:
    """Real workers: once both have said they are ready (uvicorn serves their sockets), one
    is killed; the supervisor restarts it (it does not stop the server), the new one becomes
    ready too, and the server answers throughout. Waits are for events, bounded only so that
    a broken supervisor fails the test instead of hanging it."""
    settings = Settings(database_url=database_url, secret_key=SECRET)  # type: ignore[arg-type]
    port = free_port()
    lines: list[str] = []
    restarted = threading.Event()

    def echo(line: str) -> None:
        lines.append(line)
        if "restarting" in line:
            restarted.set()

    supervisor = serve._Supervisor(settings, host="127.0.0.1", port=port, keep_alive_s=5, echo=echo)
    problems: list[BaseException] = []

    def until(condition: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + 120
        while not condition():
            if supervisor.stopping or time.monotonic() > deadline:
                raise AssertionError(f"never happened: {what}; {lines}")
            time.sleep(0.05)

    def all_ready() -> bool:
        return len(supervisor.slots) == 2 and all(
            slot.ready is not None and slot.ready.is_set() for slot in supervisor.slots
        )

    def drive() -> None:
        try:
            until(all_ready, "both workers ready")
            assert httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
            first = supervisor.slots[0].process
            assert first is not None
            assert first.pid is not None
            os.kill(first.pid, signal.SIGKILL)
            until(restarted.is_set, "the killed worker is restarted")
            until(all_ready, "the restarted worker is ready")
            assert supervisor.slots[0].process is not first
            assert httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
        except BaseException as exc:
            problems.append(exc)
        finally:
            supervisor.stopping = True

    driver = threading.Thread(target=drive, name="drive-supervisor")
    driver.start()
    try:
        code = supervisor.run(2)
    finally:
        supervisor.stopping = True
        driver.join(timeout=150)
    if problems:
        raise problems[0]
    assert code == 0
    assert lines == [
        "carekey-worker-1 stoppede / stopped (exit -9); genstarter om / restarting in 0.5 s"
    ]
