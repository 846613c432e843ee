"""The socket link: the phone driver works over a real loopback socket exactly as over BLE.

Every test is bounded: sockets carry short timeouts, waits use ``DoorServer.wait_until`` or
socket timeouts, never long sleeps.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from carekey.devices.doorserver import DoorServer
from carekey.devices.homelock import HomeLock
from carekey.link.driver import DoorEntry
from carekey.link.socket import (
    CLIENT_HELLO,
    FRAME_HEADER,
    LINK_MAGIC,
    SERVER_HELLO,
    SocketLinkError,
    SocketTransport,
    connect,
    encode_frames,
    is_loopback,
)
from carekey.link.transport import Transport, TransportError
from carekey.protocol.events import EventKind
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


def entry(phone: Phone, lock: HomeLock) -> DoorEntry:
    return DoorEntry(lock.door_id, lock.door_key.public, phone.credentials[lock.door_id])


def fake_door(reply: Callable[[socket.socket], None]) -> tuple[int, threading.Thread]:
    """A one-shot hand-written door on an ephemeral port: accept, read the hello, ``reply``."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(TIMEOUT)
    port = int(listener.getsockname()[1])

    def serve() -> None:
        with listener:
            conn, _ = listener.accept()
            with conn:
                conn.settimeout(TIMEOUT)
                conn.recv(CLIENT_HELLO.size)
                reply(conn)
                with contextlib.suppress(OSError):
                    conn.recv(1)  # hold the connection until the phone closes it

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return port, thread


def test_socket_transport_is_a_transport(server: DoorServer) -> None:
    with connect("127.0.0.1", server.port, timeout=TIMEOUT) as link:
        assert isinstance(link, Transport)
        assert link.mtu == 247
        assert link.connected
    assert not link.connected


def test_unlock_and_lock_over_a_real_socket(
    server: DoorServer, lock: HomeLock, phone: Phone
) -> None:
    with connect("127.0.0.1", server.port, timeout=TIMEOUT) as link:
        opened = phone.driver.run(link, entry(phone, lock), Command.UNLOCK)
    assert opened.ok
    assert opened.receipt is not None
    assert opened.receipt.kind is EventKind.UNLOCKED
    assert opened.response.data == {"state": "unlocked"}

    # Back to back: the second phone connection waits for the server to finish the first.
    with SocketTransport("127.0.0.1", server.port, timeout=TIMEOUT) as link:
        locked = phone.driver.run(link, entry(phone, lock), Command.LOCK)
    assert locked.ok
    assert locked.receipt is not None
    assert locked.receipt.kind is EventKind.LOCKED
    assert locked.receipt.seq == opened.receipt.seq + 1
    assert server.wait_until(lambda door: not server.connected, TIMEOUT)
    assert server.stats.connections == 2
    assert server.stats.refused == 0
    with server.lock:
        assert [e.event.kind for e in lock.events] == [EventKind.UNLOCKED, EventKind.LOCKED]


def test_a_small_mtu_is_negotiated_and_fragments_fit_it(
    server: DoorServer, lock: HomeLock, phone: Phone
) -> None:
    with connect("127.0.0.1", server.port, mtu=23, timeout=TIMEOUT) as link:
        assert link.mtu == 23
        result = phone.driver.run(link, entry(phone, lock), Command.STATUS)
    assert result.ok
    # The door fragmented to the link's MTU while connected and is back at its own after.
    assert server.wait_until(lambda door: not server.connected and door.mtu == 247, TIMEOUT)
    assert server.stats.packets_out > 10  # DOOR_HELLO and the answer, 19 bytes at a time


def test_the_phone_refuses_packets_beyond_the_mtu_and_stays_usable(
    server: DoorServer, lock: HomeLock, phone: Phone
) -> None:
    with connect("127.0.0.1", server.port, mtu=23, timeout=TIMEOUT) as link:
        with pytest.raises(SocketLinkError) as oversized:
            link.send([b"\x80" + bytes(20)])  # 21 bytes > 23 - 3
        assert oversized.value.code == "packet_too_large"
        with pytest.raises(SocketLinkError, match="packet_too_large"):
            link.send([b""])
        with pytest.raises(SocketLinkError, match="packet_too_large"):
            link.send([b"\x00"] * 129)
        assert link.connected  # nothing was sent, the link is intact
        assert phone.driver.run(link, entry(phone, lock), Command.UNLOCK).ok


def test_errors_are_transport_errors_in_danish_and_english() -> None:
    with pytest.raises(TransportError) as refused:
        connect("192.0.2.7", 9)  # never dialled: not loopback
    error = refused.value
    assert isinstance(error, SocketLinkError)
    assert error.code == "not_loopback"
    assert "127.0.0.1" in error.message_da
    assert error.message_da in str(error)
    assert error.message_en in str(error)
    with pytest.raises(SocketLinkError, match="not_loopback"):
        connect("example.org", 9)


def test_loopback_names() -> None:
    assert is_loopback("127.0.0.1")
    assert is_loopback("127.1.2.3")
    assert is_loopback("::1")
    assert is_loopback("localhost")
    assert not is_loopback("0.0.0.0")  # noqa: S104 -- the point of the test
    assert not is_loopback("10.0.0.1")


def test_connect_to_a_closed_port_fails_clearly() -> None:
    probe = socket.create_server(("127.0.0.1", 0))
    port = int(probe.getsockname()[1])
    probe.close()
    with pytest.raises(SocketLinkError) as failed:
        connect("127.0.0.1", port, timeout=TIMEOUT)
    assert failed.value.code == "connect_failed"
    assert "Kunne ikke forbinde" in str(failed.value)


def test_a_door_that_never_answers_times_out() -> None:
    # A listener nobody accepts from: TCP connects (the backlog), the link hello never comes.
    with socket.create_server(("127.0.0.1", 0)) as silent:
        port = int(silent.getsockname()[1])
        started = time.monotonic()
        with pytest.raises(SocketLinkError) as busy:
            connect("127.0.0.1", port, timeout=0.1)
        assert busy.value.code == "door_busy"
        assert time.monotonic() - started < 1.5


def test_receive_times_out_and_closes_the_link(server: DoorServer) -> None:
    link = connect("127.0.0.1", server.port, timeout=0.1)
    with pytest.raises(SocketLinkError) as nothing:
        link.receive()  # nothing was asked, nothing comes
    assert nothing.value.code == "link_timeout"
    assert not link.connected
    with pytest.raises(SocketLinkError, match="link_lost"):
        link.send([b"\x80\x01"])
    link.close()  # idempotent


def test_a_door_sending_an_oversized_frame_is_refused() -> None:
    def oversized(conn: socket.socket) -> None:
        conn.sendall(SERVER_HELLO.pack(LINK_MAGIC, 0, 23))
        conn.sendall(FRAME_HEADER.pack(0xFFFF))

    port, thread = fake_door(oversized)
    with connect("127.0.0.1", port, mtu=23, timeout=TIMEOUT) as link:
        with pytest.raises(SocketLinkError) as refused:
            link.receive()
        assert refused.value.code == "bad_link_frame"
        assert not link.connected
    thread.join(TIMEOUT)
    assert not thread.is_alive()


def test_a_wrong_link_hello_is_refused() -> None:
    def wrong(conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.")  # as long as a link hello

    port, thread = fake_door(wrong)
    with pytest.raises(SocketLinkError, match="bad_link_frame"):
        connect("127.0.0.1", port, timeout=TIMEOUT)
    thread.join(TIMEOUT)
    assert not thread.is_alive()


def test_a_door_hanging_up_is_link_lost() -> None:
    def hang_up(conn: socket.socket) -> None:
        conn.sendall(SERVER_HELLO.pack(LINK_MAGIC, 0, 247))
        conn.shutdown(socket.SHUT_WR)

    port, thread = fake_door(hang_up)
    with connect("127.0.0.1", port, timeout=TIMEOUT) as link:
        with pytest.raises(SocketLinkError) as lost:
            link.receive()
        assert lost.value.code == "link_lost"
    thread.join(TIMEOUT)
    assert not thread.is_alive()


def test_frames_are_length_prefixed() -> None:
    assert encode_frames([b"\x80ab", b"\x01c"], mtu=23) == b"\x00\x03\x80ab\x00\x02\x01c"
    with pytest.raises(ValueError, match="ATT MTU"):
        connect("127.0.0.1", 9, mtu=22)
