"""The attack suite, end to end at the door: each attack is refused, nothing actuates, and the
refusal is in the door's signed log."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from carekey.devices.hardware import DoorState
from carekey.devices.homelock import HomeLock
from carekey.link.driver import DoorEntry, PhoneDriver
from carekey.link.transport import BluetoothLink
from carekey.protocol.credential import DoorKind, SubjectType
from carekey.protocol.denylist import DenylistEntry
from carekey.protocol.errors import ProtocolError
from carekey.protocol.events import EventKind, decode_event
from carekey.protocol.framing import PROTOCOL_VERSION, MessageType, decode_message, fragment
from carekey.protocol.keys import DeviceKey, DoorKey, IssuerKey
from carekey.protocol.session import (
    Command,
    PhoneSession,
    SessionError,
    decode_alert,
    is_known_code,
)
from carekey.protocol.timetoken import issue_time_token
from carekey.sim.testbed import Phone, Testbed

START = dt.datetime(2026, 3, 2, 7, 10, tzinfo=dt.UTC)


@pytest.fixture
def bed() -> Testbed:
    return Testbed(start=START)


@pytest.fixture
def lock(bed: Testbed) -> HomeLock:
    return bed.home_lock()


@pytest.fixture
def mette(bed: Testbed, lock: HomeLock) -> Phone:
    phone = bed.phone("mette")
    bed.credential(phone, lock.door_id)
    return phone


def refusals(lock: HomeLock) -> list[str | None]:
    return [e.event.reason for e in lock.events if e.event.kind is EventKind.REFUSED]


def assert_refused(lock: HomeLock, code: str, *, actuations: int = 0) -> None:
    """Nothing moved, and the last refusal logged is ``code``, signed by the door's own key."""
    assert lock.stats.actuations == actuations
    assert lock.state is DoorState.LOCKED
    assert refusals(lock)[-1] == code
    last = [e for e in lock.events if e.event.kind is EventKind.REFUSED][-1]
    logged = decode_event(last.raw, door_key=lock.door_key.public).event
    assert logged.payload() == last.event.payload()  # the signed bytes say what the log says
    assert logged.door_id == lock.door_id
    assert logged.reason == code


class RecordingLink(BluetoothLink):
    """A link that remembers what the phone sent (an eavesdropper's recording)."""

    def __init__(self, door: HomeLock) -> None:
        super().__init__(door)
        self.recorded: list[list[bytes]] = []

    def send(self, packets: Sequence[bytes]) -> None:
        self.recorded.append(list(packets))
        super().send(packets)


class TamperingLink(BluetoothLink):
    """A man in the middle who rewrites single-packet messages in both directions."""

    def __init__(self, door: HomeLock, *, to_door: int | None, to_phone: int | None) -> None:
        super().__init__(door)
        self._to_door, self._to_phone = to_door, to_phone
        self._attacker_key = X25519PrivateKey.generate().public_key().public_bytes_raw()

    def _swap(self, packet: bytes, message_type: int | None) -> bytes:
        if message_type is None or packet[2] != message_type:
            return packet
        offset = 3 if message_type == MessageType.CLIENT_HELLO else 4 + packet[3]
        return packet[:offset] + self._attacker_key + packet[offset + 32 :]

    def send(self, packets: Sequence[bytes]) -> None:
        super().send([self._swap(p, self._to_door) for p in packets])

    def receive(self) -> bytes:
        return self._swap(super().receive(), self._to_phone)


def entry(lock: HomeLock, phone: Phone) -> DoorEntry:
    return DoorEntry(lock.door_id, lock.door_key.public, phone.credentials[lock.door_id])


# --- replay and nonces -----------------------------------------------------------------------


def test_replayed_session_is_refused(bed: Testbed, lock: HomeLock, mette: Phone) -> None:
    link = RecordingLink(lock)
    bed.links[lock.door_id] = link
    assert bed.visit(mette, lock, Command.UNLOCK).ok
    assert bed.visit(mette, lock, Command.LOCK).ok
    assert lock.stats.actuations == 2
    recording = link.recorded[:2]  # the UNLOCK session: CLIENT_HELLO and the request record
    replay = BluetoothLink(lock).connect()
    replies = []
    for packets in recording:
        replay.send(packets)
        while True:
            try:
                replies.append(replay.receive())
            except ProtocolError:
                break
    replay.close()
    assert_refused(lock, "bad_record", actuations=2)
    alert = decode_message(replies[-1][1:])
    assert alert.type is MessageType.ALERT
    assert decode_alert(alert.body).code == "bad_record"


def test_reused_record_nonce_in_a_session_is_refused(
    bed: Testbed, lock: HomeLock, mette: Phone
) -> None:
    link = RecordingLink(lock)
    bed.links[lock.door_id] = link
    link.connect()
    result = mette.driver.run(link, entry(lock, mette), Command.UNLOCK)
    assert result.ok
    bed.clock.advance(dt.timedelta(seconds=11))
    lock.tick()  # auto-relocked
    link.send(link.recorded[1])  # the same record, counter 0, again in the same session
    link.close()
    assert_refused(lock, "replayed_record", actuations=2)


def test_every_session_gets_a_fresh_door_nonce(bed: Testbed, lock: HomeLock, mette: Phone) -> None:
    nonces = set()
    for _ in range(20):
        link = bed.links[lock.door_id].connect()
        session = PhoneSession(
            door_id=lock.door_id,
            door_public_key=lock.door_key.public,
            device_key=mette.device_key,
            credential=mette.credentials[lock.door_id],
            counter=1,
        )
        link.send(fragment(session.hello(), mtu=link.mtu))
        session.receive_door_hello(link.receive()[1:])  # one fragment at MTU 247
        assert session.door_nonce is not None
        nonces.add(session.door_nonce)
        link.close()
        bed.clock.advance(dt.timedelta(minutes=1))
    assert len(nonces) == 20


# --- who holds the credential ----------------------------------------------------------------


def test_stolen_credential_without_the_device_key(
    bed: Testbed, lock: HomeLock, mette: Phone
) -> None:
    thief = bed.phone("thief")
    thief.credentials[lock.door_id] = mette.credentials[lock.door_id]
    result = bed.visit(thief, lock, Command.UNLOCK)
    assert result.response.result == "bad_signature"
    assert_refused(lock, "bad_signature")
    assert lock.events[-1].event.subject == "mette"  # the log names whose key was misused
    assert result.receipt is not None  # the refusal itself is signed by the door
    assert result.receipt.kind is EventKind.REFUSED
    assert result.receipt.reason == "bad_signature"


def test_credential_for_another_door(bed: Testbed, lock: HomeLock) -> None:
    neighbour = bed.home_lock(b"home-0002")
    phone = bed.phone()
    phone.credentials[lock.door_id] = bed.credential(phone, neighbour.door_id)
    assert bed.visit(phone, lock, Command.UNLOCK).response.result == "wrong_door"
    assert_refused(lock, "wrong_door")
    assert neighbour.events == []


def test_cloned_credential_counter_not_increasing(
    bed: Testbed, lock: HomeLock, mette: Phone
) -> None:
    for _ in range(3):
        assert bed.visit(mette, lock, Command.STATUS).ok
    clone = Phone(
        driver=PhoneDriver(
            device_key=mette.device_key, counter=1, freshness=mette.driver.freshness
        ),
        subject="mette",
        credentials=dict(mette.credentials),
    )
    result = bed.visit(clone, lock, Command.UNLOCK)
    assert result.response.result == "counter_not_increasing"
    assert_refused(lock, "counter_not_increasing")
    assert bed.visit(mette, lock, Command.UNLOCK).ok  # the real phone keeps working


def test_older_serial_after_a_newer_one(bed: Testbed, lock: HomeLock, mette: Phone) -> None:
    old = mette.credentials[lock.door_id]
    bed.credential(mette, lock.door_id)  # serial 2
    assert bed.visit(mette, lock, Command.STATUS).ok
    mette.credentials[lock.door_id] = old
    assert bed.visit(mette, lock, Command.UNLOCK).response.result == "old_serial"
    assert_refused(lock, "old_serial")


def test_partner_or_entrance_credential_at_a_home_lock(bed: Testbed, lock: HomeLock) -> None:
    partner = bed.phone("apotek-1")
    bed.credential(
        partner, lock.door_id, kinds=[DoorKind.ENTRANCE], subject_type=SubjectType.PARTNER
    )
    assert bed.visit(partner, lock, Command.UNLOCK).response.result == "wrong_kind"
    assert_refused(lock, "wrong_kind")
    worker = bed.phone("mette")
    bed.credential(worker, lock.door_id, kinds=[DoorKind.ENTRANCE, DoorKind.GATE])
    assert bed.visit(worker, lock, Command.UNLOCK).response.result == "wrong_kind"
    assert_refused(lock, "wrong_kind")


def test_non_admin_configuration_command(bed: Testbed, lock: HomeLock, mette: Phone) -> None:
    result = bed.visit(mette, lock, Command.CONFIGURE, {"auto_relock_s": 0})
    assert result.response.result == "not_admin"
    assert lock.flash.config.auto_relock_s == 10
    assert_refused(lock, "not_admin")


# --- time --------------------------------------------------------------------------------------


def test_time_unknown_after_power_loss(bed: Testbed, lock: HomeLock) -> None:
    offline = bed.phone("mette", online=False)
    bed.credential(offline, lock.door_id)
    lock.power_loss()
    bed.clock.advance(dt.timedelta(minutes=2))
    result = bed.visit(offline, lock, Command.UNLOCK)
    assert result.response.result == "time_unknown"
    assert_refused(lock, "time_unknown")
    assert lock.events[-1].event.time is None
    # A broadcast token (no challenge) cannot restore the time: it could be a replayed one.
    broadcast = bed.time_token(lock.door_id)
    offline.driver.time_tokens = lambda door_id, nonce: broadcast
    assert bed.visit(offline, lock, Command.UNLOCK).response.result == "challenge_required"
    assert_refused(lock, "challenge_required")


def test_forged_time_token_is_refused(bed: Testbed, lock: HomeLock, mette: Phone) -> None:
    forger = IssuerKey.generate("101")
    lock.power_loss()
    mette.driver.time_tokens = lambda door_id, nonce: issue_time_token(
        issuer_key=forger, now=bed.clock.now(), door_id=door_id, nonce=nonce
    )
    assert bed.visit(mette, lock, Command.UNLOCK).response.result == "unknown_issuer_key"
    assert_refused(lock, "unknown_issuer_key")
    assert not lock.time_known


def test_ninety_days_of_20_ppm_drift(bed: Testbed) -> None:
    lock = bed.home_lock(drift_ppm=20.0)
    bed.clock.advance(dt.timedelta(days=90))
    door_now = lock.clock.now()
    assert door_now is not None
    drift = (door_now - bed.clock.now()).total_seconds()
    assert drift == pytest.approx(155.5, abs=0.5)
    assert lock.status().wants_time

    offline = bed.phone("mette", online=False)
    # A key that expired 7 minutes ago (beyond drift + tolerance) stays expired.
    bed.credential(
        offline, lock.door_id, not_before=bed.clock.now() - dt.timedelta(hours=8, minutes=7)
    )
    assert bed.visit(offline, lock, Command.UNLOCK).response.result == "expired"
    assert_refused(lock, "expired")
    # A key that starts in 10 minutes is not valid yet, even on a clock running fast.
    bed.credential(offline, lock.door_id, not_before=bed.clock.now() + dt.timedelta(minutes=10))
    assert bed.visit(offline, lock, Command.UNLOCK).response.result == "not_yet_valid"
    assert_refused(lock, "not_yet_valid")
    # Today's key still works: the drift does not lock the care worker out.
    bed.credential(offline, lock.door_id)
    assert bed.visit(offline, lock, Command.UNLOCK).ok
    # The next online phone's broadcast token corrects the clock within the drift bound.
    online = bed.phone("ali")
    bed.credential(online, lock.door_id)
    token = bed.time_token(lock.door_id)
    online.driver.time_tokens = lambda door_id, nonce: token
    assert bed.visit(online, lock, Command.LOCK).ok
    corrected = lock.clock.now()
    assert corrected is not None
    assert abs((corrected - bed.clock.now()).total_seconds()) < 1


# --- revocation --------------------------------------------------------------------------------


def test_denylisted_phone_when_the_lock_learns_it_from_another_phone(
    bed: Testbed, lock: HomeLock, mette: Phone
) -> None:
    ali = bed.phone("ali", online=False)  # lost on the bus: the finder is offline
    bed.credential(ali, lock.door_id)
    bed.block(DenylistEntry.for_device(ali.device_key.public, START + dt.timedelta(hours=9)))
    assert lock.denylist.version == 0
    assert bed.visit(mette, lock, Command.UNLOCK).ok  # Mette's phone carries the delta
    assert lock.denylist.version == 1
    assert bed.visit(mette, lock, Command.LOCK).ok
    result = bed.visit(ali, lock, Command.UNLOCK)
    assert result.response.result == "denylisted"
    assert_refused(lock, "denylisted", actuations=2)
    assert lock.events[-1].event.subject == "ali"


def test_older_denylist_is_refused(bed: Testbed, lock: HomeLock, mette: Phone) -> None:
    bed.block(DenylistEntry.for_subject("x", START + dt.timedelta(hours=9)))
    old = bed.denylist_for(0)
    bed.block(DenylistEntry.for_subject("y", START + dt.timedelta(hours=9)))
    assert bed.visit(mette, lock, Command.STATUS).ok
    assert lock.denylist.version == 2
    mette.driver.denylist = lambda version: old
    assert bed.visit(mette, lock, Command.UNLOCK).response.result == "stale_denylist"
    assert_refused(lock, "stale_denylist")
    assert lock.denylist.version == 2


# --- the wire ----------------------------------------------------------------------------------


def test_downgrade_of_the_protocol_version(bed: Testbed, lock: HomeLock) -> None:
    link = bed.links[lock.door_id].connect()
    old_hello = bytes((PROTOCOL_VERSION - 1, MessageType.CLIENT_HELLO)) + bytes(range(32))
    link.send(fragment(old_hello, mtu=link.mtu))
    reply = decode_message(link.receive()[1:])
    link.close()
    assert reply.type is MessageType.ALERT
    assert b"version_unsupported" in reply.body
    assert_refused(lock, "version_unsupported")


@pytest.mark.parametrize(
    ("to_door", "to_phone"), [(MessageType.CLIENT_HELLO, None), (None, MessageType.DOOR_HELLO)]
)
def test_swapped_ephemeral_keys(
    bed: Testbed, lock: HomeLock, mette: Phone, to_door: int | None, to_phone: int | None
) -> None:
    link = TamperingLink(lock, to_door=to_door, to_phone=to_phone).connect()
    with pytest.raises(SessionError, match="door_auth_failed"):
        mette.driver.run(link, entry(lock, mette), Command.UNLOCK)
    link.close()
    assert_refused(lock, "door_auth_failed")  # the phone's ALERT is logged by the door


def test_fake_lock_gets_no_credential(bed: Testbed, lock: HomeLock, mette: Phone) -> None:
    fake = HomeLock(
        door_id=lock.door_id, door_key=DoorKey.generate(), keyring=bed.keyring, clock=bed.clock
    )
    fake.clock.set(bed.clock.now())
    link = RecordingLink(fake).connect()
    with pytest.raises(SessionError, match="door_auth_failed"):
        mette.driver.run(link, entry(lock, mette), Command.UNLOCK)
    sent = b"".join(p for packets in link.recorded for p in packets)
    assert mette.credentials[lock.door_id][:40] not in sent
    types = [decode_message(packets[0][1:]).type for packets in link.recorded]
    assert types == [MessageType.CLIENT_HELLO, MessageType.ALERT]
    assert fake.stats.actuations == 0
    assert refusals(fake) == ["door_auth_failed"]  # the phone's ALERT, logged by the fake lock
    assert lock.events == []  # the real lock was never involved


def test_flood_of_bad_attempts_then_the_legitimate_phone_gets_in(
    bed: Testbed, lock: HomeLock, mette: Phone
) -> None:
    thief = bed.phone("thief")
    thief.credentials[lock.door_id] = mette.credentials[lock.door_id]
    codes = []
    for _ in range(40):
        try:
            codes.append(bed.visit(thief, lock, Command.UNLOCK).response.result)
        except SessionError as error:
            codes.append(error.code)
        bed.clock.advance(dt.timedelta(milliseconds=500))
    assert codes[:5] == ["bad_signature"] * 5
    assert codes.count("rate_limited") >= 30
    assert_refused(lock, "bad_signature")
    assert refusals(lock).count("bad_signature") == codes.count("bad_signature")
    assert EventKind.RATE_LIMITED in [e.event.kind for e in lock.events]
    assert len(lock.events) < 20  # the flood did not wash real events out of the ring
    assert lock.stats.sessions < 12  # refused before any cryptography
    with pytest.raises(SessionError, match="rate_limited"):
        bed.visit(mette, lock, Command.UNLOCK)
    bed.clock.advance(dt.timedelta(seconds=61))
    assert bed.visit(mette, lock, Command.UNLOCK).ok
    assert lock.limiter.failures == 0


def test_malformed_and_oversized_input(bed: Testbed, lock: HomeLock) -> None:
    link = bed.links[lock.door_id].connect()
    link.send([b"\x05garbage"])  # a fragment that does not start a message
    assert decode_message(link.receive()[1:]).type is MessageType.ALERT
    huge = fragment(
        bytes((PROTOCOL_VERSION, MessageType.RECORD)) + bytes(4500), mtu=247, max_fragments=128
    )
    link.send(huge)
    link.close()
    assert refusals(lock)[-2:] == ["bad_fragment", "oversized"]
    assert_refused(lock, "oversized")


def test_garbage_credential_inside_a_valid_session(bed: Testbed, lock: HomeLock) -> None:
    phone = bed.phone()
    nested = b"\x81" * 200 + b"\x00"  # 200 levels of nested arrays
    phone.credentials[lock.door_id] = nested
    result = bed.visit(phone, lock, Command.UNLOCK)
    assert result.response.result in {"malformed", "oversized"}
    assert_refused(lock, result.response.result)
    assert result.receipt is not None
    assert result.receipt.reason == result.response.result


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.binary(min_size=0, max_size=244), min_size=1, max_size=6))
def test_fuzzed_packets_never_crash_or_actuate(packets: list[bytes]) -> None:
    bed = Testbed(start=START)
    lock = bed.home_lock()
    link = bed.links[lock.door_id].connect()
    for packet in packets:
        try:
            link.send([packet])
        except ValueError:
            continue
    link.close()
    assert lock.stats.actuations == 0
    assert lock.state is DoorState.LOCKED
    for event in lock.events:  # every refusal is logged with a stable code, signed
        signed = decode_event(event.raw, door_key=lock.door_key.public).event
        assert signed.payload() == event.event.payload()
        if event.event.kind is EventKind.REFUSED:
            assert event.event.reason is not None
            assert is_known_code(event.event.reason)


def test_flipped_byte_in_the_credential(bed: Testbed, lock: HomeLock, mette: Phone) -> None:
    raw = bytearray(mette.credentials[lock.door_id])
    raw[len(raw) // 2] ^= 0x40
    mette.credentials[lock.door_id] = bytes(raw)
    result = bed.visit(mette, lock, Command.UNLOCK)
    assert result.response.result in {"bad_signature", "malformed"}
    assert_refused(lock, result.response.result)


def test_unknown_issuer_key(bed: Testbed, lock: HomeLock) -> None:
    phone = bed.phone()
    bed.issuer_key = IssuerKey.generate("101")  # another municipality's server
    bed.credential(phone, lock.door_id)
    assert bed.visit(phone, lock, Command.UNLOCK).response.result == "unknown_issuer_key"
    assert_refused(lock, "unknown_issuer_key")


def test_device_key_is_bound_to_the_credential(bed: Testbed, lock: HomeLock) -> None:
    phone = bed.phone()
    bed.credential(phone, lock.door_id)
    phone.driver.device_key = DeviceKey.generate()  # a new phone reusing an old bundle
    assert bed.visit(phone, lock, Command.UNLOCK).response.result == "bad_signature"
    assert_refused(lock, "bad_signature")


def test_denylist_delta_on_the_wrong_base(bed: Testbed, lock: HomeLock, mette: Phone) -> None:
    from carekey.protocol.denylist import issue_denylist_delta

    delta = issue_denylist_delta(
        issuer_key=bed.issuer_key,
        base_version=1,
        version=2,
        added=[DenylistEntry.for_subject("x", START + dt.timedelta(hours=9))],
        now=bed.clock.now(),
    )
    mette.driver.denylist = lambda version: delta
    assert bed.visit(mette, lock, Command.UNLOCK).response.result == "bad_delta_base"
    assert_refused(lock, "bad_delta_base")
    assert lock.denylist.version == 0


def test_retired_issuer_key(bed: Testbed, lock: HomeLock, mette: Phone) -> None:
    lock.flash.keyring = lock.flash.keyring.with_retired(bed.issuer_key.kid).with_active(
        IssuerKey.generate("101").public
    )
    assert bed.visit(mette, lock, Command.UNLOCK).response.result == "retired_issuer_key"
    assert_refused(lock, "retired_issuer_key")
