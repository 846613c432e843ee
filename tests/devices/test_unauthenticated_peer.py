"""What a peer that never shows a valid key can do to a door: at most its own rate-limit state
and one log entry per attempt (issue 13). Each test is an attack the door used to lose."""

from __future__ import annotations

import datetime as dt

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from carekey.devices.homelock import HomeLock
from carekey.link.transport import BluetoothLink
from carekey.protocol.events import EventKind
from carekey.protocol.framing import (
    PROTOCOL_VERSION,
    MessageType,
    decode_message,
    encode_message,
    fragment,
)
from carekey.protocol.session import Command, decode_alert
from carekey.sim.testbed import Phone, Testbed

GARBAGE = [b"\x05garbage"]  # a fragment that does not start a message: a framing error


def _hello() -> list[bytes]:
    public = X25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return fragment(encode_message(MessageType.CLIENT_HELLO, public), mtu=247)


def _record() -> list[bytes]:
    return fragment(bytes((PROTOCOL_VERSION, MessageType.RECORD)) + bytes(40), mtu=247)


def _lock_out(bed: Testbed, lock: HomeLock) -> BluetoothLink:
    """Garbage until the door's limiter locks the radio protocol; the link stays open."""
    link = bed.links[lock.door_id].connect()
    while lock.limiter.retry_after(lock.clock.uptime()) == 0:
        link.send(_record())  # a record outside any session: refused, one log entry each
        link.receive()
    return link


def _refusals(lock: HomeLock) -> list[str | None]:
    return [e.event.reason for e in lock.events if e.event.kind is EventKind.REFUSED]


def test_garbage_during_a_lockout_is_neither_logged_nor_signed(
    bed: Testbed, lock: HomeLock
) -> None:
    link = _lock_out(bed, lock)
    events, signs = len(lock.events), lock.stats.ed25519_signs
    for _ in range(200):
        link.send(GARBAGE)  # a framing error
        link.send(_record())  # a record outside any session
    first = link.receive()
    link.close()
    assert len(lock.events) == events  # nothing logged one by one during the lockout
    assert lock.stats.ed25519_signs == signs  # and no signature spent on it
    assert lock.limiter.suppressed >= 200
    assert decode_alert(decode_message(first[1:]).body).code == "rate_limited"


def test_garbage_does_not_extend_a_lockout(bed: Testbed, lock: HomeLock, phone: Phone) -> None:
    link = _lock_out(bed, lock)
    ends = lock.limiter.locked_until_s
    while lock.clock.uptime() < ends - 0.2:  # a flood all through the lockout
        link.send(GARBAGE)
        link.send(_record())
        bed.clock.advance(dt.timedelta(milliseconds=100))
    link.close()
    bed.clock.advance(dt.timedelta(seconds=0.3))
    assert lock.limiter.retry_after(lock.clock.uptime()) == 0
    assert bed.visit(phone, lock, Command.UNLOCK).ok  # the lockout ended when it said it would


def test_a_silent_handshake_does_not_hold_the_session(
    bed: Testbed, lock: HomeLock, phone: Phone
) -> None:
    """A peer that says hello and then sits, or trickles a packet now and then, loses the
    session after the door's handshake limit; it is logged once."""
    link = bed.links[lock.door_id].connect()
    link.send(_hello())
    assert link.receive()  # DOOR_HELLO: the session is open and waits for a request
    assert lock._session is not None
    bed.clock.advance(dt.timedelta(seconds=lock.session_limits.handshake_s + 1))
    link.send(_record())  # any radio activity: the door notices the overdue session
    assert lock._session is None
    link.close()
    assert _refusals(lock).count("session_timeout") == 1
    assert bed.visit(phone, lock, Command.UNLOCK).ok


def test_a_hello_inside_the_limit_keeps_its_session(bed: Testbed, lock: HomeLock) -> None:
    link = bed.links[lock.door_id].connect()
    link.send(_hello())
    link.receive()
    bed.clock.advance(dt.timedelta(seconds=lock.session_limits.handshake_s - 1))
    assert lock._session is not None
    link.close()
    assert _refusals(lock) == ["aborted"]  # a handshake without a request: one refusal
