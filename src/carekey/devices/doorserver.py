"""A simulated door served on a local socket: the door-side host of the socket link.

For the demo a door runs as its own process (``carekey door serve``): a
:class:`~carekey.devices.firmware.DoorFirmware` behind a :class:`DoorServer`, which speaks the
socket link of :mod:`carekey.link.socket`. The key app reaches it with
:class:`~carekey.link.socket.SocketTransport` exactly as it reaches a real lock over BLE. The
socket is the door's radio; its flash lives in a state file (:mod:`carekey.devices.statefile`).

**One phone at a time, others queued.** Like a BLE peripheral, which stops advertising while a
central is connected, the server serves one connection at a time. It stops accepting while a
phone is connected, so further connections wait in the listen backlog (``backlog``, default 4)
and are taken in order when the current phone disconnects; a waiting phone whose own timeout
runs out first gives up with ``door_busy``. A phone that stays connected but silent is dropped
after ``idle_timeout`` (a BLE supervision timeout would do the same), and every connection
ends ``max_connection_s`` after it was accepted however busy it is (a phone that trickles a
packet just inside the idle timeout cannot keep the door from the next phone either), so
nobody holds a door forever.

**Link violations** (a bad link hello, a frame of length 0 or longer than the negotiated
``MTU - 3``, more unread output than ``MAX_OUTBOUND`` bytes) drop that connection only: the
door never sees the offending bytes, ``stats.refused`` counts it and the server goes on. Bytes
that are well framed but garbage reach the firmware, which refuses them itself (logged ALERT).

**Saving.** A server given a ``state_path`` saves the door there after every exchange that may
have changed the flash, on every disconnect, on auto-relock and when it stops.
"""

from __future__ import annotations

import contextlib
import dataclasses
import selectors
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Final

from carekey.clock import Clock, SystemClock
from carekey.devices.firmware import DoorFirmware
from carekey.devices.statefile import load_door, save_door
from carekey.link.socket import (
    CLIENT_HELLO,
    FRAME_HEADER,
    LINK_MAGIC,
    SERVER_HELLO,
    STATUS_READY,
    encode_frames,
    is_loopback,
    max_packet,
)
from carekey.protocol.framing import MAX_MTU, MIN_MTU

MAX_OUTBOUND: Final = 256 * 1024
"""Unsent bytes the server buffers for a phone that does not read before dropping it."""
_READ_CHUNK: Final = 4096
_MAX_INBOUND: Final = FRAME_HEADER.size + MAX_MTU
"""Unparsed input is never more than one frame: frames are consumed as they complete."""

Echo = Callable[[str], None]


@dataclass(slots=True)
class ServerStats:
    """What a :class:`DoorServer` has done since it started."""

    connections: int = 0
    """Phones that completed the link hello."""
    refused: int = 0
    """Connections dropped for a link violation, an idle or handshake timeout, or a full
    output buffer."""
    packets_in: int = 0
    packets_out: int = 0
    last_refusal: str | None = None
    errors: list[str] = dataclasses.field(default_factory=list)
    """Unexpected failures (a bug in the firmware, a state file that cannot be written)."""


@dataclass(slots=True, eq=False)
class _Connection:
    sock: socket.socket
    peer: str
    deadline: float
    expires: float
    inbound: bytearray = dataclasses.field(default_factory=bytearray)
    outbound: bytearray = dataclasses.field(default_factory=bytearray)
    mtu: int | None = None  # set by the link hello
    door_connected: bool = False


class _DropConnectionError(Exception):
    """Drop the current connection (a link violation, or the phone went away)."""

    def __init__(self, reason: str, *, refused: bool = True) -> None:
        super().__init__(reason)
        self.reason = reason
        self.refused = refused


class DoorServer:
    """Serves one simulated door on a TCP socket, in a background thread.

    ``start()`` binds (``port=0``: an ephemeral port, read ``.port``) and returns; ``stop()``
    disconnects any phone, saves the state (with ``state_path``) and joins the thread. Usable
    as a context manager. The door is only touched by the server thread while it runs, under
    :attr:`lock`; hold it (or use :meth:`wait_until`) to look at the door meanwhile.

    The door is ticked every ``tick_interval`` seconds (auto-relock, relay release). See the
    module documentation for queueing, idle timeouts and link violations.
    """

    def __init__(
        self,
        door: DoorFirmware,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        state_path: Path | None = None,
        tick_interval: float = 0.2,
        idle_timeout: float = 30.0,
        handshake_timeout: float = 5.0,
        max_connection_s: float = 120.0,
        backlog: int = 4,
        allow_remote: bool = False,
    ) -> None:
        if not allow_remote and not is_loopback(host):
            raise ValueError(
                f"dørsimulatoren lytter kun på 127.0.0.1 / the door simulator listens on "
                f"loopback only, not {host!r} (allow_remote=True to override)"
            )
        timeouts = (tick_interval, idle_timeout, handshake_timeout, max_connection_s)
        if min(timeouts) <= 0 or backlog < 1:
            raise ValueError("timeouts must be positive and backlog at least 1")
        self.door = door
        self.host = host
        self.state_path = None if state_path is None else Path(state_path)
        self.tick_interval = tick_interval
        self.idle_timeout = idle_timeout
        self.handshake_timeout = handshake_timeout
        self.max_connection_s = max_connection_s
        self.backlog = backlog
        self.stats = ServerStats()
        self.lock = threading.RLock()
        self._changed = threading.Condition(self.lock)
        self._requested_port = port
        self._door_mtu = door.mtu
        self._listener: socket.socket | None = None
        self._wake: tuple[socket.socket, socket.socket] | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._connection: _Connection | None = None
        self._port: int | None = None

    # --- lifecycle ---

    @property
    def port(self) -> int:
        """The TCP port the server listens on (after :meth:`start`)."""
        if self._port is None:
            raise RuntimeError("the door server is not started")
        return self._port

    @property
    def running(self) -> bool:
        """True between :meth:`start` and :meth:`stop`."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def connected(self) -> bool:
        """Whether a phone is connected right now (hold :attr:`lock` for a stable answer)."""
        connection = self._connection
        return connection is not None and connection.door_connected

    def start(self) -> DoorServer:
        """Bind, listen and serve in a background thread; return ``self``."""
        if self._thread is not None:
            raise RuntimeError("a door server is started once")
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        listener = socket.create_server(
            (self.host, self._requested_port), family=family, backlog=self.backlog
        )
        listener.setblocking(False)
        self._listener = listener
        self._wake = socket.socketpair()
        for end in self._wake:
            end.setblocking(False)
        self._port = int(listener.getsockname()[1])
        self._thread = threading.Thread(
            target=self._run, name=f"door-{self.door.door_id!r}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Disconnect the phone, save the state, stop serving and close the port. Idempotent."""
        thread = self._thread
        if thread is None:
            return
        self._stopping.set()
        if self._wake is not None:
            with contextlib.suppress(OSError):
                self._wake[1].send(b"\0")
        thread.join(timeout)
        if thread.is_alive():
            raise RuntimeError("the door server did not stop in time")
        if self._wake is not None:
            for end in self._wake:
                end.close()
            self._wake = None

    def __enter__(self) -> DoorServer:
        if self._thread is None:
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def wait_until(self, predicate: Callable[[DoorFirmware], bool], timeout: float) -> bool:
        """Wait (without polling) until ``predicate(door)`` holds, checked under :attr:`lock`
        after each round of the server; return False if ``timeout`` seconds pass first."""
        with self._changed:
            return self._changed.wait_for(lambda: predicate(self.door), timeout)

    def save(self) -> None:
        """Save the door to ``state_path`` now (under :attr:`lock`)."""
        if self.state_path is None:
            raise RuntimeError("the door server has no state_path")
        with self.lock:
            save_door(self.door, self.state_path)

    # --- the serving thread ---

    def _run(self) -> None:
        listener = self._listener
        wake = self._wake
        assert listener is not None
        assert wake is not None
        selector = selectors.DefaultSelector()
        try:
            selector.register(listener, selectors.EVENT_READ, "listen")
            selector.register(wake[0], selectors.EVENT_READ, "wake")
            next_tick = time.monotonic() + self.tick_interval
            while not self._stopping.is_set():
                now = time.monotonic()
                wait = next_tick - now
                current = self._connection
                if current is not None:
                    wait = min(wait, current.deadline - now, current.expires - now)
                for key, mask in selector.select(max(0.0, wait)):
                    if key.data == "listen":
                        self._accept(selector, listener)
                    elif key.data == "wake":
                        with contextlib.suppress(OSError):
                            wake[0].recv(64)
                    else:
                        self._service(selector, mask)
                now = time.monotonic()
                connection = self._connection
                if connection is not None and now >= connection.expires:
                    self._drop(selector, listener, "connection time limit", refused=True)
                elif connection is not None and now >= connection.deadline:
                    phase = "idle" if connection.mtu is not None else "link hello"
                    self._drop(selector, listener, f"{phase} timeout", refused=True)
                if now >= next_tick:
                    next_tick = now + self.tick_interval
                    self._tick()
                with self._changed:
                    self._changed.notify_all()
        except Exception as error:  # reported, and the port is closed below
            self._error(f"server loop: {type(error).__name__}: {error}")
        finally:
            self._stopping.set()
            if self._connection is not None:
                self._drop(selector, listener, "server stopping", refused=False)
            selector.close()
            listener.close()
            self._persist()
            with self._changed:
                self._changed.notify_all()

    def _accept(self, selector: selectors.BaseSelector, listener: socket.socket) -> None:
        try:
            sock, peer = listener.accept()
        except (BlockingIOError, InterruptedError):
            return
        except OSError as error:
            self._error(f"accept: {error}")
            return
        sock.setblocking(False)
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        accepted = time.monotonic()
        self._connection = _Connection(
            sock,
            f"{peer[0]}:{peer[1]}",
            accepted + self.handshake_timeout,
            accepted + self.max_connection_s,
        )
        # One phone at a time: later phones wait in the listen backlog until this one leaves.
        selector.unregister(listener)
        selector.register(sock, selectors.EVENT_READ, "phone")

    def _service(self, selector: selectors.BaseSelector, mask: int) -> None:
        connection = self._connection
        listener = self._listener
        assert connection is not None
        assert listener is not None
        try:
            if mask & selectors.EVENT_WRITE:
                self._flush(selector, connection)
            if mask & selectors.EVENT_READ:
                self._read(selector, connection)
        except _DropConnectionError as drop:
            self._drop(selector, listener, drop.reason, refused=drop.refused)
        except Exception as error:  # a firmware bug must not take the whole door server down
            self._error(f"{type(error).__name__}: {error}")
            self._drop(selector, listener, "internal error", refused=True)

    def _read(self, selector: selectors.BaseSelector, connection: _Connection) -> None:
        room = _MAX_INBOUND - len(connection.inbound)
        try:
            data = connection.sock.recv(min(_READ_CHUNK, room))
        except (BlockingIOError, InterruptedError):
            return
        except OSError as error:
            raise _DropConnectionError(f"phone link lost: {error}", refused=False) from None
        if not data:
            raise _DropConnectionError("phone disconnected", refused=False)
        connection.inbound += data
        if connection.mtu is not None:
            connection.deadline = time.monotonic() + self.idle_timeout
        self._consume(connection)
        self._flush(selector, connection)

    def _consume(self, connection: _Connection) -> None:
        buffer = connection.inbound
        if connection.mtu is None:
            if len(buffer) < CLIENT_HELLO.size:
                if not LINK_MAGIC.startswith(bytes(buffer[: len(LINK_MAGIC)])):
                    raise _DropConnectionError("bad link hello")
                return
            magic, phone_mtu = CLIENT_HELLO.unpack_from(buffer)
            del buffer[: CLIENT_HELLO.size]
            if magic != LINK_MAGIC or not MIN_MTU <= phone_mtu <= MAX_MTU:
                raise _DropConnectionError("bad link hello")
            mtu = min(phone_mtu, self._door_mtu)
            connection.mtu = mtu
            connection.deadline = time.monotonic() + self.idle_timeout
            connection.outbound += SERVER_HELLO.pack(LINK_MAGIC, STATUS_READY, mtu)
            with self.lock:
                self.door.mtu = mtu  # the door fragments its notifications to the link's MTU
                self.door.connect()
                connection.door_connected = True
                self.stats.connections += 1
        limit = max_packet(connection.mtu)
        while len(buffer) >= FRAME_HEADER.size:
            (length,) = FRAME_HEADER.unpack_from(buffer)
            if not 0 < length <= limit:
                raise _DropConnectionError(f"frame of {length} bytes, limit {limit}")
            if len(buffer) < FRAME_HEADER.size + length:
                return
            packet = bytes(buffer[FRAME_HEADER.size : FRAME_HEADER.size + length])
            del buffer[: FRAME_HEADER.size + length]
            self._deliver(connection, packet)

    def _deliver(self, connection: _Connection, packet: bytes) -> None:
        assert connection.mtu is not None
        with self.lock:
            self.stats.packets_in += 1
            replies = self.door.on_packet(packet)
            self.stats.packets_out += len(replies)
            if replies:
                self._persist()
        if replies:
            connection.outbound += encode_frames(replies, mtu=connection.mtu)
        if len(connection.outbound) > MAX_OUTBOUND:
            raise _DropConnectionError("the phone does not read its notifications")

    def _flush(self, selector: selectors.BaseSelector, connection: _Connection) -> None:
        if connection.outbound:
            try:
                sent = connection.sock.send(connection.outbound)
            except (BlockingIOError, InterruptedError):
                sent = 0
            except OSError as error:
                raise _DropConnectionError(f"phone link lost: {error}", refused=False) from None
            del connection.outbound[:sent]
        events = selectors.EVENT_READ | (selectors.EVENT_WRITE if connection.outbound else 0)
        if selector.get_key(connection.sock).events != events:
            selector.modify(connection.sock, events, "phone")

    def _drop(
        self,
        selector: selectors.BaseSelector,
        listener: socket.socket,
        reason: str,
        *,
        refused: bool,
    ) -> None:
        connection = self._connection
        if connection is None:
            return
        self._connection = None
        with self.lock:
            if refused:
                self.stats.refused += 1
                self.stats.last_refusal = f"{connection.peer}: {reason}"
            if connection.door_connected:
                try:
                    self.door.disconnect()
                except Exception as error:  # keep serving; the failure is reported
                    self._error(f"disconnect: {type(error).__name__}: {error}")
                self.door.mtu = self._door_mtu
            self._persist()
        with contextlib.suppress(KeyError, ValueError):
            selector.unregister(connection.sock)
        connection.sock.close()
        if not self._stopping.is_set():
            selector.register(listener, selectors.EVENT_READ, "listen")

    def _tick(self) -> None:
        with self.lock:
            before = (self.door.flash.chain.next_seq, self.door.state)
            try:
                self.door.tick()
            except Exception as error:
                self._error(f"tick: {type(error).__name__}: {error}")
            if (self.door.flash.chain.next_seq, self.door.state) != before:
                self._persist()

    def _persist(self) -> None:
        if self.state_path is None:
            return
        with self.lock:
            try:
                save_door(self.door, self.state_path)
            except OSError as error:
                self._error(f"saving {self.state_path}: {error}")

    def _error(self, message: str) -> None:
        with self.lock:
            if len(self.stats.errors) < 100:
                self.stats.errors.append(message)


# --- the command line ------------------------------------------------------------------------


def serve_cli(
    *,
    state_path: Path,
    host: str,
    port: int,
    echo: Echo,
    clock: Clock | None = None,
    stop: threading.Event | None = None,
    tick_interval: float = 0.2,
) -> None:
    """``carekey door serve``: serve the door saved in ``state_path`` until Ctrl+C.

    Prints (Danish and English) the door's serial, kind, address and port, then blocks. The
    state is saved after every change and on exit. ``stop`` (tests) ends it like Ctrl+C.
    Raises :class:`DoorStateError` for an unusable state file and ``OSError`` when the port
    cannot be bound.
    """
    door = load_door(state_path, clock or SystemClock())
    server = DoorServer(
        door, host, port, state_path=state_path, tick_interval=tick_interval
    ).start()
    serial = door.door_id.decode("utf-8", "replace")
    stopped = stop or threading.Event()
    try:
        echo(f"Simuleret dør / simulated door: {serial} ({door.kind.value})")
        echo(f"Adresse / address: {host}  port: {server.port}")
        echo(f"Tilstand / state: {state_path}")
        echo(f"Forbind med / connect with: carekey.link.socket.connect({host!r}, {server.port})")
        echo("Stop med Ctrl+C / stop with Ctrl+C")
        while not stopped.wait(0.5):  # wakes at once on ``stop``; Ctrl+C interrupts the wait
            pass
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        echo(f"Dør {serial} stoppet, tilstand gemt / door {serial} stopped, state saved")


__all__ = ["MAX_OUTBOUND", "DoorServer", "ServerStats", "serve_cli"]
