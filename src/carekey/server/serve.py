"""Running the server: one uvicorn process, or several worker processes that each listen on
their own socket bound to the same port with ``SO_REUSEPORT``.

Why not ``uvicorn --workers``: there the workers share one listening socket, and the kernel
wakes whichever worker waits last; long-lived keep-alive connections (a proxy in front, or key
apps in the morning rush) then pile up on one or two workers while the others idle. With a
socket per worker, Linux spreads new connections over the workers by a hash of the address
pair, so each worker gets its share.

The parent only supervises: it starts the workers, restarts one that dies while running, and
on SIGTERM or SIGINT stops them all (each finishes its requests in flight, at most
``GRACEFUL_S`` seconds). A worker that dies at start (port taken, database unreachable) stops
the whole server with its exit code, instead of being restarted in a loop.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import signal
import socket
import time
from collections.abc import Callable
from multiprocessing.process import BaseProcess
from types import FrameType
from typing import Any, Final

import uvicorn

from carekey.config import Settings
from carekey.server.app import create_app

GRACEFUL_S: Final = 5
STARTUP_S: Final = 10.0  # a worker that dies sooner than this failed to start
Echo = Callable[[str], None]


class ServeError(RuntimeError):
    """The server could not start (the message says why, in Danish and English)."""


def reuseport_socket(host: str, port: int, *, backlog: int = 2048) -> socket.socket:
    """A listening TCP socket on ``host:port`` that other sockets of this user may share."""
    if not hasattr(socket, "SO_REUSEPORT"):
        raise ServeError(
            "flere processer kræver SO_REUSEPORT (Linux) / several workers need SO_REUSEPORT "
            "(Linux); start with --workers 1"
        )
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        sock.listen(backlog)
    except OSError:
        sock.close()
        raise
    return sock


def _uvicorn_config(settings: Settings, *, keep_alive_s: int, **kwargs: Any) -> uvicorn.Config:
    return uvicorn.Config(
        create_app(settings),
        log_level=settings.log_level,
        timeout_keep_alive=keep_alive_s,
        timeout_graceful_shutdown=GRACEFUL_S,
        **kwargs,
    )


def _worker(settings: Settings, host: str, port: int, keep_alive_s: int) -> None:
    """One worker process: its own socket, one uvicorn server (which handles SIGTERM/SIGINT)."""
    sock = reuseport_socket(host, port)
    uvicorn.Server(_uvicorn_config(settings, keep_alive_s=keep_alive_s)).run(sockets=[sock])


def run(
    settings: Settings,
    *,
    host: str,
    port: int,
    workers: int = 1,
    keep_alive_s: int = 5,
    echo: Echo = print,
) -> int:
    """Serve until stopped; returns the exit code (0 after a requested stop)."""
    if workers < 1:
        raise ValueError("workers must be at least 1")
    if workers == 1:
        config = _uvicorn_config(settings, keep_alive_s=keep_alive_s, host=host, port=port)
        uvicorn.Server(config).run()
        return 0
    _check_port_free(host, port)
    return _Supervisor(settings, host=host, port=port, keep_alive_s=keep_alive_s, echo=echo).run(
        workers
    )


def _check_port_free(host: str, port: int) -> None:
    """Fail with a clear message if the port is taken: by a program that does not share it
    (bind fails), or by another server that does (it answers a connection; with
    ``SO_REUSEPORT`` the new workers would silently join it otherwise)."""
    probe = "127.0.0.1" if host in ("0.0.0.0", "") else "::1" if host == "::" else host  # noqa: S104 - comparing, not binding
    taken: str | None = None
    with contextlib.suppress(OSError), socket.create_connection((probe, port), timeout=0.5):
        taken = "en anden server svarer der / another server answers there"
    if taken is None:
        try:
            reuseport_socket(host, port).close()
        except OSError as exc:
            taken = exc.strerror or str(exc)
    if taken is not None:
        raise ServeError(f"kan ikke lytte på / cannot listen on {host}:{port}: {taken}")


class _Supervisor:
    def __init__(
        self, settings: Settings, *, host: str, port: int, keep_alive_s: int, echo: Echo
    ) -> None:
        self.args = (settings, host, port, keep_alive_s)
        self.echo = echo
        self.context = multiprocessing.get_context("spawn")
        self.stopping = False

    def _start(self, index: int) -> tuple[BaseProcess, float]:
        process = self.context.Process(
            target=_worker, args=self.args, name=f"carekey-worker-{index + 1}", daemon=False
        )
        process.start()
        return process, time.monotonic()

    def _stop(self, signum: int, _frame: FrameType | None) -> None:
        self.stopping = True

    def run(self, workers: int) -> int:
        previous = {sig: signal.signal(sig, self._stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        running = [self._start(i) for i in range(workers)]
        code = 0
        try:
            while not self.stopping:
                time.sleep(0.2)
                for index, (process, started) in enumerate(running):
                    if process.is_alive() or self.stopping:
                        continue
                    if time.monotonic() - started < STARTUP_S:
                        self.echo(
                            f"{process.name} stoppede ved start / stopped at start "
                            f"(exit {process.exitcode}); the server stops"
                        )
                        code = process.exitcode or 1
                        self.stopping = True
                        break
                    self.echo(
                        f"{process.name} stoppede / stopped (exit {process.exitcode}); "
                        "genstarter / restarting"
                    )
                    running[index] = self._start(index)
        finally:
            for process, _ in running:
                if process.is_alive():
                    process.terminate()  # SIGTERM: uvicorn finishes the requests in flight
            deadline = time.monotonic() + GRACEFUL_S + 5
            for process, _ in running:
                process.join(timeout=max(0.1, deadline - time.monotonic()))
                if process.is_alive():
                    process.kill()
                    process.join(timeout=5)
            for sig, handler in previous.items():
                with contextlib.suppress(ValueError, TypeError):
                    signal.signal(sig, handler)
        return code
