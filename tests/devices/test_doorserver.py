"""The door simulator on a socket: serving, refusing junk, queueing, stopping, saving its state.

Loopback only, ephemeral ports; every wait is bounded (socket timeouts, ``wait_until``).
"""

from __future__ import annotations

import datetime as dt
import socket
import stat
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from carekey.devices.controller import EntranceController
from carekey.devices.doorserver import DoorServer, serve_cli
from carekey.devices.firmware import DoorFirmware
from carekey.devices.hardware import DoorState
from carekey.devices.homelock import HomeLock
from carekey.devices.kinds import build_door
from carekey.devices.statefile import load_door, save_door
from carekey.link.driver import DoorEntry, VisitResult
from carekey.link.socket import (
    CLIENT_HELLO,
    FRAME_HEADER,
    LINK_MAGIC,
    SERVER_HELLO,
    SocketLinkError,
    connect,
)
from carekey.protocol.credential import DoorKind
from carekey.protocol.denylist import DenylistEntry
from carekey.protocol.events import EventKind, verify_chain
from carekey.protocol.framing import MessageType, Reassembler, decode_message
from carekey.protocol.keys import DoorKey
from carekey.protocol.session import Command
from carekey.sim.testbed import Phone, Testbed

START = dt.datetime(2026, 3, 2, 7, 10, tzinfo=dt.UTC)
TIMEOUT = 2.0


@pytest.fixture
def bed() -> Testbed:
    return Testbed(start=START)


@pytest.fixture
def lock(bed: Testbed) -> HomeLock:
    return bed.home_lock()


@pytest.fixture
def phone(bed: Testbed, lock: HomeLock) -> Phone:
    phone = bed.phone("mette")
    bed.credential(phone, lock.door_id)
    return phone


@pytest.fixture
def server(lock: HomeLock) -> Iterator[DoorServer]:
    with DoorServer(lock, tick_interval=0.02) as running:
        yield running


def visit(
    server: DoorServer,
    phone: Phone,
    door: DoorFirmware,
    command: Command = Command.UNLOCK,
    args: dict[str, object] | None = None,
    *,
    mtu: int = 247,
) -> VisitResult:
    entry = DoorEntry(door.door_id, door.door_key.public, phone.credentials[door.door_id])
    with connect("127.0.0.1", server.port, mtu=mtu, timeout=TIMEOUT) as link:
        return phone.driver.run(link, entry, command, args)


def raw_phone(server: DoorServer, *, mtu: int = 23) -> socket.socket:
    """A hand-written phone that has done the link hello."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT)
    sock.sendall(CLIENT_HELLO.pack(LINK_MAGIC, mtu))
    assert sock.recv(SERVER_HELLO.size) == SERVER_HELLO.pack(LINK_MAGIC, 0, mtu)
    return sock


def closed_by_server(sock: socket.socket) -> bool:
    """True once the server has closed ``sock`` (reads up to the timeout)."""
    try:
        while sock.recv(4096):
            pass
    except ConnectionResetError:
        return True
    return True


# --- serving ---------------------------------------------------------------------------------


def test_auto_relock_runs_while_served(
    bed: Testbed, server: DoorServer, lock: HomeLock, phone: Phone
) -> None:
    assert visit(server, phone, lock).ok
    bed.clock.advance(dt.timedelta(seconds=11))
    assert server.wait_until(lambda door: door.state is DoorState.LOCKED, TIMEOUT)
    with server.lock:
        assert lock.events[-1].event.kind is EventKind.AUTO_RELOCKED


def test_a_controller_is_served_the_same_way(bed: Testbed) -> None:
    door = build_door(
        serial="ENT-0042",
        kind="entrance_controller",
        keyring=bed.keyring,
        clock=bed.clock,
        door_key=DoorKey.generate(),
    )
    assert isinstance(door, EntranceController)
    phone = bed.phone("ali")
    bed.credential(phone, door.door_id, kinds=[DoorKind.ENTRANCE])
    with DoorServer(door, tick_interval=0.02) as server:
        result = visit(server, phone, door)
        assert result.ok
        assert result.receipt is not None
        assert result.receipt.kind is EventKind.RELAY_PULSE
        bed.clock.advance(dt.timedelta(seconds=4))
        assert server.wait_until(lambda d: d.state is DoorState.LOCKED, TIMEOUT)


# --- junk on the link ------------------------------------------------------------------------


def test_garbage_instead_of_a_link_hello_is_dropped(
    server: DoorServer, lock: HomeLock, phone: Phone
) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT) as junk:
        junk.sendall(b"GET / HTTP/1.1\r\n\r\n")
        assert closed_by_server(junk)
    assert server.wait_until(lambda door: server.stats.refused == 1, TIMEOUT)
    assert server.stats.last_refusal is not None
    assert "bad link hello" in server.stats.last_refusal
    assert server.stats.connections == 0
    assert visit(server, phone, lock).ok  # the door serves the next phone


@pytest.mark.parametrize("length", [0, 21, 0xFFFF])
def test_an_oversized_or_empty_frame_is_dropped_before_the_door_sees_it(
    server: DoorServer, lock: HomeLock, phone: Phone, length: int
) -> None:
    with raw_phone(server, mtu=23) as sock:
        sock.sendall(FRAME_HEADER.pack(length) + b"\x80" * min(length, 64))
        assert closed_by_server(sock)
    assert server.wait_until(lambda door: server.stats.refused == 1, TIMEOUT)
    assert server.stats.packets_in == 0
    with server.lock:
        assert lock.events == []  # connected and disconnected, no session: nothing to log
    assert visit(server, phone, lock).ok


def test_well_framed_garbage_is_refused_by_the_firmware(
    server: DoorServer, lock: HomeLock, phone: Phone
) -> None:
    with raw_phone(server, mtu=23) as sock:
        sock.sendall(FRAME_HEADER.pack(5) + b"\x80\x07\x07\x07\x07")  # version 7: refused
        reassembler = Reassembler(mtu=23)
        reply = None
        while reply is None:  # the ALERT takes two fragments at MTU 23
            (length,) = FRAME_HEADER.unpack(sock.recv(FRAME_HEADER.size))
            reply = reassembler.feed(sock.recv(length, socket.MSG_WAITALL))
    assert decode_message(reply).type is MessageType.ALERT
    assert server.wait_until(lambda door: not server.connected, TIMEOUT)
    with server.lock:
        assert lock.events[-1].event.reason == "version_unsupported"
    assert server.stats.refused == 0  # the link was fine; the door refused the message
    assert visit(server, phone, lock).ok


def test_a_silent_phone_is_dropped_after_the_timeouts(lock: HomeLock) -> None:
    with DoorServer(lock, tick_interval=0.02, idle_timeout=0.1, handshake_timeout=0.1) as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT) as mute:
            assert closed_by_server(mute)  # never sent its link hello
        link = connect("127.0.0.1", server.port, timeout=TIMEOUT)
        with link, pytest.raises(SocketLinkError) as lost:
            link.receive()  # the server hangs up long before the phone's own timeout
        assert lost.value.code == "link_lost"
        assert server.wait_until(lambda door: server.stats.refused == 2, TIMEOUT)
        assert server.stats.last_refusal is not None
        assert "idle timeout" in server.stats.last_refusal


def test_a_trickling_phone_is_dropped_at_the_connection_limit(lock: HomeLock) -> None:
    """A phone that sends a packet just inside the idle timeout does not keep the door: every
    connection ends ``max_connection_s`` after it was accepted."""
    with DoorServer(lock, tick_interval=0.02, idle_timeout=0.5, max_connection_s=0.3) as server:
        link = connect("127.0.0.1", server.port, timeout=TIMEOUT)

        def trickle() -> None:
            for _ in range(int(TIMEOUT / 0.05)):
                link.send([b"\x05garbage"])  # well framed: each packet resets the idle timer
                time.sleep(0.05)

        with link, pytest.raises(SocketLinkError) as lost:
            trickle()
        assert lost.value.code in ("link_lost", "door_unreachable")
        assert server.wait_until(lambda door: server.stats.refused >= 1, TIMEOUT)
        assert "connection time limit" in (server.stats.last_refusal or "")


# --- one phone at a time ---------------------------------------------------------------------


def test_a_second_phone_is_queued_until_the_first_leaves(
    bed: Testbed, server: DoorServer, lock: HomeLock, phone: Phone
) -> None:
    """Documented behaviour: queued. The server takes one phone at a time; a second waits in
    the listen backlog and gives up with ``door_busy`` if its own timeout runs out first."""
    other = bed.phone("ali")
    bed.credential(other, lock.door_id)
    first = connect("127.0.0.1", server.port, timeout=TIMEOUT)
    with first:
        assert server.wait_until(lambda door: server.connected, TIMEOUT)
        with pytest.raises(SocketLinkError) as busy:
            connect("127.0.0.1", server.port, timeout=0.1)
        assert busy.value.code == "door_busy"
        assert "optaget" in str(busy.value)

        results: list[VisitResult] = []
        waiting = threading.Thread(target=lambda: results.append(visit(server, other, lock)))
        waiting.start()
        # The first phone is still connected: the second cannot have been served yet.
        assert not server.wait_until(lambda door: len(door.events) > 0, 0.05)
    waiting.join(TIMEOUT)
    assert not waiting.is_alive()
    assert len(results) == 1
    assert results[0].ok
    assert visit(server, phone, lock, Command.LOCK).ok


# --- stopping --------------------------------------------------------------------------------


def test_the_server_stops_cleanly_with_a_phone_connected(lock: HomeLock) -> None:
    server = DoorServer(lock, tick_interval=0.02).start()
    port = server.port
    link = connect("127.0.0.1", port, timeout=TIMEOUT)
    assert server.wait_until(lambda door: server.connected, TIMEOUT)
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 1.0
    assert not server.running
    with link, pytest.raises(SocketLinkError, match="link_lost"):
        link.receive()
    with pytest.raises(SocketLinkError, match="connect_failed"):
        connect("127.0.0.1", port, timeout=TIMEOUT)
    server.stop()  # idempotent
    assert server.stats.errors == []


def test_the_server_listens_on_loopback_only(lock: HomeLock) -> None:
    with pytest.raises(ValueError, match="loopback"):
        DoorServer(lock, host="0.0.0.0")  # noqa: S104 -- refused, which is the point
    server = DoorServer(lock)
    with pytest.raises(RuntimeError):
        _ = server.port
    server.stop()  # never started: nothing to do


# --- the state file --------------------------------------------------------------------------


def test_state_and_event_chain_survive_a_restart(
    bed: Testbed, lock: HomeLock, phone: Phone, tmp_path: Path
) -> None:
    path = tmp_path / "doors" / "home-0001.json"
    installer = bed.phone("installer-7")
    bed.credential(installer, lock.door_id, admin=True)
    bed.block(DenylistEntry.for_subject("bo", START + dt.timedelta(hours=9)))

    with DoorServer(lock, tick_interval=0.02, state_path=path) as server:
        assert visit(server, installer, lock, Command.CONFIGURE, {"auto_relock_s": 0}).ok
        assert visit(server, phone, lock).ok
        assert visit(server, phone, lock, Command.LOCK).ok
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # it holds the door's private key
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary files left
    before = [e.raw for e in lock.events]
    assert lock.denylist.version == 1

    bed.clock.advance(dt.timedelta(minutes=30))  # the process was down for half an hour
    door = load_door(path, bed.clock)
    assert isinstance(door, HomeLock)
    assert door.door_id == lock.door_id
    assert door.door_key.public == lock.door_key.public
    assert door.flash.chain == lock.flash.chain
    assert door.flash.keyring == lock.flash.keyring
    assert door.flash.config == lock.flash.config
    assert door.flash.subjects == lock.flash.subjects
    assert list(door.flash.subjects) == list(lock.flash.subjects)  # LRU order kept
    assert door.denylist == lock.denylist
    assert door.flash.last_token_time == lock.flash.last_token_time
    assert door.clock.now() == lock.clock.now()  # the battery-backed clock kept running
    assert door.battery is not None
    assert lock.battery is not None
    assert door.battery.percent == pytest.approx(lock.battery.percent)
    assert door.state is DoorState.LOCKED
    assert [e.raw for e in door.events] == before

    with DoorServer(door, tick_interval=0.02, state_path=path) as restarted:
        again = visit(restarted, phone, door)
        assert again.ok
        # The counters survived: a phone replaying an old use counter is refused.
        phone.driver.counter = 1
        replayed = visit(restarted, phone, door, Command.LOCK)
        assert replayed.response.result == "counter_not_increasing"
    assert again.receipt is not None
    assert again.receipt.seq == len(before) + 1
    assert again.receipt.prev_hash == lock.flash.chain.last_hash

    saved = load_door(path, bed.clock)
    log = before + [e.raw for e in saved.events if e.event.seq > len(before)]
    report = verify_chain(log, door_key=lock.door_key.public, door_id=lock.door_id)
    assert report.ok
    assert report.gaps == ()
    assert report.broken_links == ()
    assert report.anchor is not None
    assert report.anchor.seq == saved.flash.chain.next_seq - 1 == len(log)


# --- the command line ------------------------------------------------------------------------


def test_serve_cli_serves_a_saved_door_until_stopped(bed: Testbed, tmp_path: Path) -> None:
    door = build_door(
        serial="HL-000001",
        kind="home_lock",
        keyring=bed.keyring,
        clock=bed.clock,
        door_key=DoorKey.generate(),
    )
    path = tmp_path / "HL-000001.json"
    save_door(door, path)
    phone = bed.phone("mette")
    bed.credential(phone, door.door_id)

    lines: list[str] = []
    announced = threading.Event()

    def echo(line: str) -> None:
        lines.append(line)
        if line.startswith("Adresse"):
            announced.set()

    stop = threading.Event()
    cli = threading.Thread(
        target=serve_cli,
        kwargs={
            "state_path": path,
            "host": "127.0.0.1",
            "port": 0,
            "echo": echo,
            "clock": bed.clock,
            "stop": stop,
            "tick_interval": 0.02,
        },
    )
    cli.start()
    try:
        assert announced.wait(TIMEOUT)
        port = int(lines[1].rsplit(" ", 1)[1])
        entry = DoorEntry(door.door_id, door.door_key.public, phone.credentials[door.door_id])
        with connect("127.0.0.1", port, timeout=TIMEOUT) as link:
            assert phone.driver.run(link, entry, Command.UNLOCK).ok
    finally:
        stop.set()
        cli.join(TIMEOUT)
    assert not cli.is_alive()
    text = "\n".join(lines)
    assert "HL-000001" in text
    assert "home" in text
    assert "127.0.0.1" in text
    assert "Ctrl+C" in text
    assert "gemt" in lines[-1]
    assert "saved" in lines[-1]
    served = load_door(path, bed.clock)
    assert [e.event.kind for e in served.events] == [EventKind.UNLOCKED]
