"""Running the server: one uvicorn process, or several worker processes that each listen on
their own socket bound to the same port with ``SO_REUSEPORT``.

Why not ``uvicorn --workers``: there the workers share one listening socket, and the kernel
wakes whichever worker waits last; long-lived keep-alive connections (a proxy in front, or key
apps in the morning rush) then pile up on one or two workers while the others idle. With a
socket per worker, Linux spreads new connections over the workers by a hash of the address
pair, so each worker gets its share.

The parent only supervises: it starts the workers, restarts one that dies while running, and
on SIGTERM or SIGINT stops them all (each finishes its requests in flight, at most
``GRACEFUL_S`` seconds). Each worker tells the parent when it is ready (an event it sets once
uvicorn has run the app's startup and serves its socket). A worker that dies before it said so
failed to start (port taken, database unreachable, bad settings) and stops the whole server
with its exit code, however long its start took, instead of being restarted in a loop. One
that dies after it was ready is restarted, after a delay that doubles for each crash in a row
(``RESTART_DELAY_S`` up to ``RESTART_DELAY_MAX_S``), so a crash loop does not spin.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.connection
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from multiprocessing.synchronize import Event
from types import FrameType
from typing import Any, Final

import uvicorn

from carekey.config import Settings
from carekey.server.app import create_app
from carekey.server.memory import pin_mmap_threshold

GRACEFUL_S: Final = 5
RESTART_DELAY_S: Final = 0.5  # before restarting a worker that died while serving
RESTART_DELAY_MAX_S: Final = 30.0  # the delay doubles for each crash in a row, up to this
STABLE_S: Final = 60.0  # a worker that lived this long before it died starts a new row
Echo = Callable[[str], None]
Worker = Callable[[Settings, str, int, int, Event], None]


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


class _ReadyServer(uvicorn.Server):
    """A uvicorn server that sets ``ready`` once it has started: the app's lifespan startup
    has run and the server accepts connections on its sockets."""

    def __init__(self, config: uvicorn.Config, ready: Event) -> None:
        super().__init__(config)
        self.ready = ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            self.ready.set()


def _worker(settings: Settings, host: str, port: int, keep_alive_s: int, ready: Event) -> None:
    """One worker process: its own socket, one uvicorn server (which handles SIGTERM/SIGINT);
    sets ``ready`` once it serves. Large freed blocks go back to the system
    (:func:`carekey.server.memory.pin_mmap_threshold`, issue 14)."""
    pin_mmap_threshold()
    sock = reuseport_socket(host, port)
    config = _uvicorn_config(settings, keep_alive_s=keep_alive_s)
    _ReadyServer(config, ready).run(sockets=[sock])


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
        pin_mmap_threshold()  # as each worker does (issue 14)
        config = _uvicorn_config(settings, keep_alive_s=keep_alive_s, host=host, port=port)
        uvicorn.Server(config).run()
        return 0
    _check_port_free(host, port)
    return _Supervisor(settings, host=host, port=port, keep_alive_s=keep_alive_s, echo=echo).run(
        workers
    )


class PortTakenError(ServeError):
    """``host:port`` cannot be listened on; ``reason`` says why (Danish / English)."""

    def __init__(self, host: str, port: int, reason: str) -> None:
        super().__init__(f"porten {host}:{port} er optaget / port {host}:{port} is taken: {reason}")
        self.host = host
        self.port = port
        self.reason = reason


def check_port_free(host: str, port: int) -> None:
    """Raise ``PortTakenError`` if ``host:port`` cannot be listened on: a program listens
    there, or the address is not this machine's. ``carekey serve`` asks before it prints that
    it runs; the probe socket is closed again at once."""
    probe = "127.0.0.1" if host in ("0.0.0.0", "") else "::1" if host == "::" else host  # noqa: S104 - comparing, not binding
    taken: str | None = None
    with contextlib.suppress(OSError), socket.create_connection((probe, port), timeout=0.5):
        taken = "en anden server svarer der / another server answers there"
    if taken is None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        try:
            with socket.socket(family, socket.SOCK_STREAM) as sock:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind((host, port))
        except OSError as exc:
            taken = exc.strerror or str(exc)
    if taken is not None:
        raise PortTakenError(host, port, taken)


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


@dataclass
class _Slot:
    """One worker's place: its current process (None while it waits to be restarted)."""

    index: int
    process: BaseProcess | None = None
    ready: Event | None = None
    started_at: float = 0.0
    crashes: int = 0  # deaths in a row after it was ready, each within STABLE_S of its start
    restart_at: float = 0.0


class _Supervisor:
    def __init__(
        self,
        settings: Settings,
        *,
        host: str,
        port: int,
        keep_alive_s: int,
        echo: Echo,
        target: Worker = _worker,
        restart_delay_s: float = RESTART_DELAY_S,
        restart_delay_max_s: float = RESTART_DELAY_MAX_S,
        stable_s: float = STABLE_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.args = (settings, host, port, keep_alive_s)
        self.echo = echo
        self.target = target
        self.restart_delay_s = restart_delay_s
        self.restart_delay_max_s = restart_delay_max_s
        self.stable_s = stable_s
        self.clock = clock  # only paces restarts; whether a start failed is the ready event's
        self.context = multiprocessing.get_context("spawn")
        self.stopping = False
        self.slots: list[_Slot] = []

    def _start(self, slot: _Slot) -> _Slot:
        slot.ready = self.context.Event()
        slot.process = self.context.Process(
            target=self.target,
            args=(*self.args, slot.ready),
            name=f"carekey-worker-{slot.index + 1}",
            daemon=False,
        )
        slot.process.start()
        slot.started_at = self.clock()
        return slot

    def _stop(self, signum: int, _frame: FrameType | None) -> None:
        self.stopping = True

    def _restart_delay(self, slot: _Slot, now: float) -> float:
        """Count the crash and return how long to wait before the next start."""
        slot.crashes = slot.crashes + 1 if now - slot.started_at < self.stable_s else 1
        return float(min(self.restart_delay_max_s, self.restart_delay_s * 2 ** (slot.crashes - 1)))

    def _wait(self, slots: list[_Slot]) -> None:
        """Until a worker ends, or at most 0.2 s (a signal, or a restart that is due)."""
        sentinels = [slot.process.sentinel for slot in slots if slot.process is not None]
        if sentinels:
            multiprocessing.connection.wait(sentinels, timeout=0.2)
        else:
            time.sleep(0.2)

    def run(self, workers: int) -> int:
        previous = {sig: signal.signal(sig, self._stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        self.slots = slots = [self._start(_Slot(i)) for i in range(workers)]
        code = 0
        try:
            while not self.stopping:
                self._wait(slots)
                for slot in slots:
                    if self.stopping:
                        break
                    now = self.clock()
                    if slot.process is None:
                        if now >= slot.restart_at:
                            self._start(slot)
                        continue
                    if slot.process.is_alive():
                        continue
                    process, ready = slot.process, slot.ready
                    if ready is None or not ready.is_set():
                        self.echo(
                            f"{process.name} stoppede ved start / stopped at start "
                            f"(exit {process.exitcode}); the server stops"
                        )
                        code = process.exitcode or 1
                        self.stopping = True
                        break
                    delay = self._restart_delay(slot, now)
                    self.echo(
                        f"{process.name} stoppede / stopped (exit {process.exitcode}); "
                        f"genstarter om / restarting in {delay:g} s"
                    )
                    slot.process, slot.ready, slot.restart_at = None, None, now + delay
        finally:
            running = [slot.process for slot in slots if slot.process is not None]
            for process in running:
                if process.is_alive():
                    process.terminate()  # SIGTERM: uvicorn finishes the requests in flight
            deadline = time.monotonic() + GRACEFUL_S + 5
            for process in running:
                process.join(timeout=max(0.1, deadline - time.monotonic()))
                if process.is_alive():
                    process.kill()
                    process.join(timeout=5)
            for sig, handler in previous.items():
                with contextlib.suppress(ValueError, TypeError):
                    signal.signal(sig, handler)
        return code
