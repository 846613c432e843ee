"""The attack suite at the door, for the attacks issue 3 lists that were only checked on the pure
protocol functions: each runs through the real firmware and session over the in-memory link, and
asserts all three properties: (1) the door refuses with the stable code, (2) nothing actuates (the
bolt does not move, the relay does not pulse), (3) the refusal is in the door's log as a REFUSED
event with that code, signed by the door's key, and handed to the phone as its receipt.

Doors here get a lenient rate limiter where a test makes many bad attempts in a row, so that the
rate limiting (tested in ``test_attacks.py``) does not mask the refusal under test.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import pytest

from carekey.devices.controller import EntranceController
from carekey.devices.firmware import DoorFirmware
from carekey.devices.hardware import DoorState
from carekey.devices.limits import FailureLimiter, SessionLimits
from carekey.protocol import cbor
from carekey.protocol.bundle import HASH_BYTES, Presentation, decode_presentation
from carekey.protocol.credential import (
    BundleLeaf,
    DoorKind,
    Right,
    SubjectType,
    decode_credential,
    issue_bundle,
    issue_credential,
    present_bundle,
)
from carekey.protocol.denylist import DenylistEntry, issue_denylist_snapshot
from carekey.protocol.events import Event, EventKind, decode_event
from carekey.protocol.framing import Reassembler, fragment
from carekey.protocol.keys import IssuerKey, parse_sign1, sig_structure
from carekey.protocol.session import Command, PhoneSession, Response, SessionError
from carekey.protocol.timetoken import drift_tolerance, issue_time_token
from carekey.protocol.windows import TimeWindow
from carekey.sim.testbed import Phone, Testbed

START = dt.datetime(2026, 3, 2, 7, 10, tzinfo=dt.UTC)  # Monday, 08:10 in Copenhagen
ZONE = "Europe/Copenhagen"
US = dt.timedelta(microseconds=1)
HOME, ENTRANCE, GATE = DoorKind.HOME, DoorKind.ENTRANCE, DoorKind.GATE


# --- the three properties ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Before:
    """What the door looked like before the attack."""

    actuations: int
    state: DoorState
    pulses: int
    relay_closed: bool
    next_seq: int


def before(door: DoorFirmware) -> Before:
    """Snapshot the door's actuator and log before an attack."""
    door.tick()  # let a relay pulse or an auto-relock that is due happen first
    controller = door if isinstance(door, EntranceController) else None
    return Before(
        actuations=door.stats.actuations,
        state=door.state,
        pulses=controller.pulses if controller else 0,
        relay_closed=controller.relay_closed if controller else False,
        next_seq=door.flash.chain.next_seq,
    )


def assert_refused(
    door: DoorFirmware,
    was: Before,
    response: Response,
    code: str,
    *,
    subject: str | None = None,
) -> Event:
    """(1) refused with ``code``, (2) nothing actuated, (3) exactly one new REFUSED event with
    ``code`` in the door's log, signed by the door key, and the phone's receipt is that event."""
    assert response.result == code
    assert not response.ok
    assert door.stats.actuations == was.actuations
    assert door.state is was.state
    if isinstance(door, EntranceController):
        assert door.pulses == was.pulses
        assert door.relay_closed is was.relay_closed
    new = [e for e in door.events if e.event.seq >= was.next_seq]
    refused = [e for e in new if e.event.kind is EventKind.REFUSED]
    assert [e.event.reason for e in refused] == [code]
    assert not {e.event.kind for e in new} & {EventKind.UNLOCKED, EventKind.RELAY_PULSE}
    logged = decode_event(refused[0].raw, door_key=door.door_key.public).event
    assert logged.door_id == door.door_id
    assert logged.reason == code
    assert response.receipt is not None
    assert decode_event(response.receipt, door_key=door.door_key.public).event == logged
    if subject is not None:
        assert logged.subject == subject
    return logged


def assert_opened(door: DoorFirmware, was: Before, response: Response) -> None:
    """The control case: the same door opened, so the refusal above was the attack's doing."""
    assert response.ok, response.result
    assert door.stats.actuations == was.actuations + 1
    if isinstance(door, EntranceController):
        assert door.pulses == was.pulses + 1
    else:
        assert door.state is DoorState.UNLOCKED


# --- building the world ------------------------------------------------------------------------


def lenient() -> FailureLimiter:
    return FailureLimiter(free_failures=1_000_000)


def make_door(bed: Testbed, kind: DoorKind, door_id: bytes | None = None) -> DoorFirmware:
    """A home lock or a controller, installed (and given the time) at ``bed.clock.now()``."""
    if kind is HOME:
        return bed.home_lock(door_id or b"home-0001", limiter=lenient())
    controller = bed.controller(door_id or f"{kind.value}-0001".encode(), kind=kind)
    controller.limiter = lenient()
    return controller


def issue(
    bed: Testbed,
    phone: Phone,
    door_ids: Iterable[bytes] = (),
    *,
    kinds: Iterable[DoorKind] = (HOME,),
    not_before: dt.datetime,
    valid_for: dt.timedelta = dt.timedelta(hours=8),
    windows: Iterable[TimeWindow] = (),
    subject_type: SubjectType = SubjectType.EMPLOYEE,
    rights: Iterable[Right] = (),
    groups: Iterable[bytes] = (),
    store_for: Iterable[bytes] = (),
) -> bytes:
    """A plain credential with any claim the testbed's helper does not offer (windows, rights)."""
    doors, window_list = list(door_ids), list(windows)
    raw = issue_credential(
        issuer_key=bed.issuer_key,
        subject=phone.subject,
        subject_type=subject_type,
        device_key=phone.device_key.public,
        kinds=kinds,
        not_before=not_before,
        expires=not_before + valid_for,
        serial=bed.next_serial(phone.subject),
        denylist_version=bed.denylist_version,
        doors=doors,
        door_groups=list(groups),
        windows=window_list,
        time_zone=ZONE if window_list else None,
        rights=rights,
    )
    for door_id in [*doors, *store_for]:
        phone.credentials[door_id] = raw
    return raw


class OpenSession:
    """A phone session driven by hand, for later requests that carry a denylist update or come
    after the clock moved (``PhoneDriver.run`` sends only plain follow-up commands)."""

    def __init__(self, bed: Testbed, door: DoorFirmware, phone: Phone) -> None:
        self.link = bed.links[door.door_id].connect()
        phone.driver.counter += 1
        self.session = PhoneSession(
            door_id=door.door_id,
            door_public_key=door.door_key.public,
            device_key=phone.device_key,
            credential=phone.credentials[door.door_id],
            counter=phone.driver.counter,
        )
        self._reassembler = Reassembler(mtu=self.link.mtu)
        self.session.receive_door_hello(self._exchange(self.session.hello()))
        self._freshness = phone.driver.freshness() if phone.driver.freshness else None

    def _exchange(self, message: bytes) -> bytes:
        self.link.send(fragment(message, mtu=self.link.mtu))
        while True:
            whole = self._reassembler.feed(self.link.receive())
            if whole is not None:
                return whole

    def request(
        self,
        command: Command,
        args: Mapping[str, object] | None = None,
        *,
        denylist_update: bytes | None = None,
    ) -> Response:
        record = self.session.request(
            command, args, denylist_update=denylist_update, freshness=self._freshness
        )
        return self.session.receive_response(self._exchange(record))

    def close(self) -> None:
        self.link.close()


# --- expired and not yet valid, at the exact boundaries and with the tolerance ----------------

EXPIRES = dt.datetime(2026, 3, 2, 15, 10, tzinfo=dt.UTC)
NOT_BEFORE = EXPIRES - dt.timedelta(hours=8)


@pytest.mark.parametrize("kind", [HOME, ENTRANCE])
@pytest.mark.parametrize(
    "unsynced_for",
    [dt.timedelta(0), dt.timedelta(days=30)],
    ids=["just-synced (60 s)", "30-days-unsynced (111.84 s)"],
)
@pytest.mark.parametrize(
    ("edge", "offset", "code"),
    [
        ("exp", dt.timedelta(0), "expired"),  # now == exp + tolerance
        ("exp", -US, None),  # 1 µs before: still valid
        ("nbf", dt.timedelta(0), None),  # now == nbf - tolerance: valid
        ("nbf", -US, "not_yet_valid"),  # 1 µs earlier
    ],
    ids=["exp+tol", "exp+tol-1us", "nbf-tol", "nbf-tol-1us"],
)
def test_validity_boundaries_at_the_door_with_its_clock_tolerance(
    kind: DoorKind, unsynced_for: dt.timedelta, edge: str, offset: dt.timedelta, code: str | None
) -> None:
    # The door's tolerance is 60 s plus 20 ppm of the time since its last time token.
    tolerance = drift_tolerance(unsynced_for)
    boundary = EXPIRES + tolerance if edge == "exp" else NOT_BEFORE - tolerance
    now = boundary + offset
    synced_at = boundary - unsynced_for - US  # the door's last time token
    assert drift_tolerance(now - synced_at) == tolerance  # 1 µs does not move the tolerance
    bed = Testbed(start=synced_at)
    door = make_door(bed, kind)
    phone = bed.phone("mette", online=False)  # brings no time token that would resync the door
    issue(bed, phone, [door.door_id], kinds=[kind], not_before=NOT_BEFORE)
    bed.clock.set(now)
    assert door.clock.now() == now
    was = before(door)
    result = bed.visit(phone, door, Command.UNLOCK)
    if code is None:
        assert_opened(door, was, result.response)
    else:
        assert_refused(door, was, result.response, code, subject="mette")


# --- outside the weekday window, across daylight saving in Europe/Copenhagen -----------------

SUNDAY = 6
OUT = "outside_window"
MORNING = (TimeWindow.of(SUNDAY, "07:00", "09:30"),)
NIGHT = (TimeWindow.of(SUNDAY, "02:00", "03:00"),)


def _z(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


# 2026: summer time starts Sunday 29 March (02:00 CET -> 03:00 CEST at 01:00 UTC) and ends
# Sunday 25 October (03:00 CEST -> 02:00 CET at 01:00 UTC). The door's tolerance here is 60 s
# (plus 20 ppm of the four hours since its token), which widens each window by a minute.
WINDOW_CASES = [
    # spring forward: 07:00-09:30 local is 05:00-07:30 UTC
    ("spring 06:58:59 CEST", MORNING, _z("2026-03-29T04:58:59"), OUT),
    ("spring 06:59:00 CEST (tolerance)", MORNING, _z("2026-03-29T04:59:00"), None),
    ("spring 09:30:59 CEST (tolerance)", MORNING, _z("2026-03-29T07:30:59"), None),
    ("spring 09:31 CEST (08:31 on a winter clock)", MORNING, _z("2026-03-29T07:31:00"), OUT),
    ("week before 06:00 CET (07:00 on a summer clock)", MORNING, _z("2026-03-22T05:00:00"), OUT),
    ("week before 07:00 CET", MORNING, _z("2026-03-22T06:00:00"), None),
    ("spring 01:30 CET, before the skipped hour", NIGHT, _z("2026-03-29T00:30:00"), OUT),
    ("spring 03:30 CEST, after the skipped hour", NIGHT, _z("2026-03-29T01:30:00"), OUT),
    # fall back: 07:00-09:30 local is 06:00-08:30 UTC
    ("autumn 06:00 CET (07:00 on a summer clock)", MORNING, _z("2026-10-25T05:00:00"), OUT),
    ("autumn 06:58:59 CET", MORNING, _z("2026-10-25T05:58:59"), OUT),
    ("autumn 06:59:00 CET (tolerance)", MORNING, _z("2026-10-25T05:59:00"), None),
    ("autumn 09:31 CET (10:31 on a summer clock)", MORNING, _z("2026-10-25T08:31:00"), OUT),
    ("autumn 02:30 CEST, first pass", NIGHT, _z("2026-10-25T00:30:00"), None),
    ("autumn 02:30 CET, second pass", NIGHT, _z("2026-10-25T01:30:00"), None),
    ("autumn 03:01 CET", NIGHT, _z("2026-10-25T02:01:00"), OUT),
    ("autumn 01:58:59 CEST", NIGHT, _z("2026-10-24T23:58:59"), OUT),
]  # fmt: skip


@pytest.mark.parametrize(
    ("windows", "now", "code"),
    [case[1:] for case in WINDOW_CASES],
    ids=[case[0] for case in WINDOW_CASES],
)
def test_weekday_window_at_the_door_across_daylight_saving(
    windows: tuple[TimeWindow, ...], now: dt.datetime, code: str | None
) -> None:
    bed = Testbed(start=now - dt.timedelta(hours=4))
    lock = make_door(bed, HOME)
    phone = bed.phone("mette", online=False)
    issue(bed, phone, [lock.door_id], not_before=now - dt.timedelta(hours=4), windows=windows)
    bed.clock.set(now)
    was = before(lock)
    result = bed.visit(phone, lock, Command.UNLOCK)
    if code is None:
        assert_opened(lock, was, result.response)
    else:
        assert_refused(lock, was, result.response, code, subject="mette")


def test_partner_credential_at_an_entrance_outside_its_window() -> None:
    """A pharmacy courier's stairwell key, weekdays 08:00-10:00, by door group."""
    stairwells = b"group:vesterbro-12"
    bed = Testbed(start=dt.datetime(2026, 3, 2, 6, 0, tzinfo=dt.UTC))  # Monday 07:00 CET
    entrance = bed.controller(b"entrance-12", groups=[stairwells])
    gate = bed.controller(b"gate-12", kind=GATE, groups=[stairwells])
    courier = bed.phone("apotek-7", online=False)
    issue(
        bed,
        courier,
        kinds=[ENTRANCE, GATE],
        subject_type=SubjectType.PARTNER,
        groups=[stairwells],
        windows=[TimeWindow.of(day, "08:00", "10:00") for day in range(5)],
        not_before=bed.clock.now(),
        valid_for=dt.timedelta(hours=9),
        store_for=[entrance.door_id, gate.door_id],
    )
    for door in (entrance, gate):
        was = before(door)  # 07:00 CET: an hour early
        result = bed.visit(courier, door, Command.UNLOCK)
        assert_refused(door, was, result.response, "outside_window", subject="apotek-7")
    bed.clock.set(dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC))  # 09:00 CET: inside
    was = before(entrance)
    assert_opened(entrance, was, bed.visit(courier, entrance, Command.UNLOCK).response)
    bed.clock.set(dt.datetime(2026, 3, 2, 9, 1, 0, tzinfo=dt.UTC))  # 10:01 CET: too late
    for door in (entrance, gate):
        was = before(door)
        result = bed.visit(courier, door, Command.UNLOCK)
        assert_refused(door, was, result.response, "outside_window", subject="apotek-7")


def test_partner_credential_with_a_window_at_a_home_lock_is_wrong_kind() -> None:
    """Inside its window, a partner's key still never opens a home lock."""
    bed = Testbed(start=dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC))  # Monday 09:00 CET
    lock = make_door(bed, HOME)
    courier = bed.phone("apotek-7", online=False)
    issue(
        bed,
        courier,
        [lock.door_id],
        kinds=[ENTRANCE],
        subject_type=SubjectType.PARTNER,
        windows=[TimeWindow.of(0, "08:00", "10:00")],
        not_before=bed.clock.now(),
    )
    was = before(lock)
    result = bed.visit(courier, lock, Command.UNLOCK)
    assert_refused(lock, was, result.response, "wrong_kind", subject="apotek-7")


# --- time tokens: older, stale, unsigned, tampered, replayed challenge -------------------------


def _signed_with_kid(payload: bytes, signer: IssuerKey, kid: bytes) -> bytes:
    """A COSE_Sign1 that names ``kid`` but is signed by ``signer`` (a forger guessing the kid)."""
    protected = cbor.dumps({1: -8, 4: kid})
    signature = signer.signer.sign(sig_structure(protected, payload))
    return cbor.dumps(cbor.Tag(18, [protected, {}, payload, signature]))


def _token_claims(bed: Testbed, door_id: bytes, nonce: bytes | None, *, hours: int = 0) -> bytes:
    body: dict[int, object] = {1: door_id}
    if nonce is not None:
        body[2] = nonce
    when = bed.clock.now() + dt.timedelta(hours=hours)
    return cbor.dumps({1: "101", 6: int(when.timestamp()), -65538: body})


TokenForge = Callable[[Testbed, bytes, bytes | None], bytes]


def _bare_claims(bed: Testbed, door_id: bytes, nonce: bytes | None) -> bytes:
    return _token_claims(bed, door_id, nonce)


def _empty_signature(bed: Testbed, door_id: bytes, nonce: bytes | None) -> bytes:
    protected = cbor.dumps({1: -8, 4: bed.issuer_key.kid})
    claims = _token_claims(bed, door_id, nonce)
    return cbor.dumps(cbor.Tag(18, [protected, {}, claims, b""]))


def _zero_signature(bed: Testbed, door_id: bytes, nonce: bytes | None) -> bytes:
    protected = cbor.dumps({1: -8, 4: bed.issuer_key.kid})
    claims = _token_claims(bed, door_id, nonce)
    return cbor.dumps(cbor.Tag(18, [protected, {}, claims, bytes(64)]))


def _alg_none(bed: Testbed, door_id: bytes, nonce: bytes | None) -> bytes:
    protected = cbor.dumps({1: 0, 4: bed.issuer_key.kid})
    claims = _token_claims(bed, door_id, nonce)
    return cbor.dumps(cbor.Tag(18, [protected, {}, claims, bytes(64)]))


def _tampered_time(bed: Testbed, door_id: bytes, nonce: bytes | None) -> bytes:
    genuine = parse_sign1(bed.time_token(door_id, nonce), max_bytes=512)
    later = _token_claims(bed, door_id, nonce, hours=5)  # wind the clock forward 5 hours
    return cbor.dumps(cbor.Tag(18, [genuine.protected, {}, later, genuine.signature]))


def _forged_under_the_trusted_kid(bed: Testbed, door_id: bytes, nonce: bytes | None) -> bytes:
    return _signed_with_kid(
        _token_claims(bed, door_id, nonce), IssuerKey.generate("101"), bed.issuer_key.kid
    )


@pytest.mark.parametrize(
    ("forge", "code"),
    [
        (_bare_claims, "malformed|oversized"),
        (_empty_signature, "bad_signature"),
        (_zero_signature, "bad_signature"),
        (_alg_none, "unsupported_algorithm"),
        (_tampered_time, "bad_signature"),
        (_forged_under_the_trusted_kid, "bad_signature"),
    ],
    ids=["no-envelope", "empty-signature", "zero-signature", "alg-none", "tampered", "forged-kid"],
)
def test_unsigned_or_tampered_time_token_after_power_loss(forge: TokenForge, code: str) -> None:
    bed = Testbed(start=START)
    lock = make_door(bed, HOME)
    phone = bed.phone("mette")
    issue(bed, phone, [lock.door_id], not_before=START - dt.timedelta(minutes=5))
    lock.power_loss()
    phone.driver.time_tokens = lambda door_id, nonce: forge(bed, door_id, nonce)
    was = before(lock)
    result = bed.visit(phone, lock, Command.UNLOCK)
    assert result.response.result in code.split("|")  # a bare map: "malformed" or "oversized"
    assert_refused(lock, was, result.response, result.response.result)
    assert not lock.time_known
    assert not [
        e for e in lock.events if e.event.seq >= was.next_seq and e.event.kind is EventKind.TIME_SET
    ]


def test_older_time_token_is_refused_and_the_clock_does_not_move_back() -> None:
    bed = Testbed(start=START)
    lock = make_door(bed, HOME)
    phone = bed.phone("mette")
    issue(bed, phone, [lock.door_id], not_before=START + dt.timedelta(hours=22))
    older = bed.time_token(lock.door_id)  # START, which the door accepted at installation
    bed.clock.advance(dt.timedelta(hours=25))  # the door now asks for a sync
    phone.driver.time_tokens = lambda door_id, nonce: older
    door_now, last_token = lock.clock.now(), lock.flash.last_token_time
    was = before(lock)
    result = bed.visit(phone, lock, Command.UNLOCK)
    assert_refused(lock, was, result.response, "time_token_not_newer")
    assert lock.clock.now() == door_now
    assert lock.flash.last_token_time == last_token


def test_stale_broadcast_token_cannot_wind_the_clock_back() -> None:
    """Newer than the door's last token, but hours behind its clock: a replayed morning token."""
    bed = Testbed(start=START)
    lock = make_door(bed, HOME)
    phone = bed.phone("mette")
    issue(bed, phone, [lock.door_id], not_before=START + dt.timedelta(hours=22))
    bed.clock.advance(dt.timedelta(hours=1))
    morning = bed.time_token()
    bed.clock.advance(dt.timedelta(hours=24))
    phone.driver.time_tokens = lambda door_id, nonce: morning
    door_now = lock.clock.now()
    was = before(lock)
    result = bed.visit(phone, lock, Command.UNLOCK)
    assert_refused(lock, was, result.response, "stale_time_token")
    assert lock.clock.now() == door_now


def test_older_challenge_token_after_power_loss() -> None:
    """Bound to this session's fresh nonce, but older than the last token the door accepted."""
    bed = Testbed(start=START)
    lock = make_door(bed, HOME)
    phone = bed.phone("mette")
    issue(bed, phone, [lock.door_id], not_before=START - dt.timedelta(minutes=5))
    bed.clock.advance(dt.timedelta(minutes=30))
    lock.power_loss()
    phone.driver.time_tokens = lambda door_id, nonce: issue_time_token(
        issuer_key=bed.issuer_key,
        now=START - dt.timedelta(minutes=1),
        door_id=door_id,
        nonce=nonce,
    )
    was = before(lock)
    result = bed.visit(phone, lock, Command.UNLOCK)
    assert_refused(lock, was, result.response, "time_token_not_newer")
    assert not lock.time_known


def test_replayed_challenge_token_from_an_earlier_session_is_wrong_nonce() -> None:
    """Reused nonce: a challenge token answers one session's nonce and no other."""
    bed = Testbed(start=START)
    lock = make_door(bed, HOME)
    phone = bed.phone("mette")
    issue(bed, phone, [lock.door_id], not_before=START - dt.timedelta(minutes=5))
    bed.clock.advance(dt.timedelta(minutes=1))
    lock.power_loss()
    recorded: list[bytes] = []

    def record(door_id: bytes, nonce: bytes | None) -> bytes:
        recorded.append(bed.time_token(door_id, nonce))
        return recorded[-1]

    phone.driver.time_tokens = record
    assert bed.visit(phone, lock, Command.STATUS).ok  # the genuine token restores the time
    bed.clock.advance(dt.timedelta(minutes=10))
    lock.power_loss()
    phone.driver.time_tokens = lambda door_id, nonce: recorded[0]
    was = before(lock)
    result = bed.visit(phone, lock, Command.UNLOCK)
    assert_refused(lock, was, result.response, "wrong_nonce")
    assert not lock.time_known


# --- denylist: forged, unsigned, tampered; and every kind of entry ----------------------------


def _envelope(protected: bytes, payload: bytes, signature: bytes) -> bytes:
    return cbor.dumps(cbor.Tag(18, [protected, {}, payload, signature]))


def _denylist_forgeries(bed: Testbed) -> dict[str, tuple[bytes, str]]:
    """An empty v2 snapshot (which would lift every block) in the ways an attacker could try."""
    now = bed.clock.now()
    forger = IssuerKey.generate("101")
    empty = issue_denylist_snapshot(issuer_key=forger, version=2, entries=[], now=now)
    payload = parse_sign1(empty, max_bytes=4096).payload
    genuine = parse_sign1(bed.denylist_for(0) or b"", max_bytes=4096)
    emptied = cbor.loads(genuine.payload)
    assert isinstance(emptied, dict)
    emptied[-65539][1] = 2
    emptied[-65539][3] = b""
    protected = cbor.dumps({1: -8, 4: bed.issuer_key.kid})
    alg_none = cbor.dumps({1: 0, 4: bed.issuer_key.kid})
    return {
        "another key": (empty, "unknown_issuer_key"),
        "another key, trusted kid": (
            _signed_with_kid(payload, forger, bed.issuer_key.kid),
            "bad_signature",
        ),
        "tampered genuine": (
            cbor.dumps(
                cbor.Tag(18, [genuine.protected, {}, cbor.dumps(emptied), genuine.signature])
            ),
            "bad_signature",
        ),
        "no envelope": (payload, "malformed|oversized"),
        "empty signature": (_envelope(protected, payload, b""), "bad_signature"),
        "alg none": (_envelope(alg_none, payload, bytes(64)), "unsupported_algorithm"),
    }


@pytest.mark.parametrize(
    "forgery",
    [
        "another key",
        "another key, trusted kid",
        "tampered genuine",
        "no envelope",
        "empty signature",
        "alg none",
    ],
)
def test_forged_or_unsigned_denylist_does_not_lift_a_block(forgery: str) -> None:
    bed = Testbed(start=START)
    lock = make_door(bed, HOME)
    mette = bed.phone("mette")
    issue(bed, mette, [lock.door_id], not_before=START - dt.timedelta(minutes=5))
    ali = bed.phone("ali", online=False)
    issue(bed, ali, [lock.door_id], not_before=START - dt.timedelta(minutes=5))
    bed.block(DenylistEntry.for_device(ali.device_key.public, START + dt.timedelta(hours=9)))
    assert bed.visit(mette, lock, Command.STATUS).ok  # the lock learns v1 from Mette's phone
    held = lock.denylist
    assert held.version == 1
    forged, code = _denylist_forgeries(bed)[forgery]
    ali.driver.denylist = lambda version: forged
    was = before(lock)
    result = bed.visit(ali, lock, Command.UNLOCK)
    assert result.response.result in code.split("|")  # a bare map: "malformed" or "oversized"
    assert_refused(lock, was, result.response, result.response.result)
    assert lock.denylist == held
    was = before(lock)
    ali.driver.denylist = None
    result = bed.visit(ali, lock, Command.UNLOCK)
    assert_refused(lock, was, result.response, "denylisted", subject="ali")


@pytest.mark.parametrize("entry_kind", ["credential", "device", "subject"])
def test_denylisted_credential_phone_or_subject_carried_by_the_phone_itself(
    entry_kind: str,
) -> None:
    bed = Testbed(start=START)
    entrance = make_door(bed, ENTRANCE)
    phone = bed.phone("ali")
    raw = issue(
        bed, phone, [entrance.door_id], kinds=[ENTRANCE], not_before=START - dt.timedelta(hours=1)
    )
    until = START + dt.timedelta(hours=7)
    entry = {
        "credential": DenylistEntry.for_credential(
            decode_credential(raw, keyring=bed.keyring).credential_id, until
        ),
        "device": DenylistEntry.for_device(phone.device_key.public, until),
        "subject": DenylistEntry.for_subject("ali", until),
    }[entry_kind]
    bed.block(entry)  # the app fetched the new denylist; it carries it to the door
    was = before(entrance)
    result = bed.visit(phone, entrance, Command.UNLOCK)
    assert_refused(entrance, was, result.response, "denylisted", subject="ali")
    assert entrance.denylist.version == 1


# --- bundle presentations ----------------------------------------------------------------------


def shift_leaves(*doors: DoorFirmware, total: int = 200) -> list[BundleLeaf]:
    """A shift of ``total`` doors, citizen by citizen (home, entrance, gate), with ``doors``
    among them near the start (the longest proofs)."""
    kinds = (HOME, ENTRANCE, GATE)
    leaves = [BundleLeaf.of(d.door_id, d.kind) for d in doors]
    n = 0
    while len(leaves) < total:
        leaves.append(BundleLeaf.of(f"{kinds[n % 3].value}-{n:06d}".encode(), kinds[n % 3]))
        n += 1
    return leaves


def login(bed: Testbed, phone: Phone, leaves: list[BundleLeaf]) -> bytes:
    """The server's bundle at login, and the phone's presentation for each door."""
    credential = issue_bundle(
        issuer_key=bed.issuer_key,
        subject=phone.subject,
        subject_type=SubjectType.EMPLOYEE,
        device_key=phone.device_key.public,
        leaves=leaves,
        not_before=bed.clock.now() - dt.timedelta(minutes=5),
        expires=bed.clock.now() + dt.timedelta(hours=8),
        serial=bed.next_serial(phone.subject),
        denylist_version=bed.denylist_version,
    )
    for leaf in leaves:
        phone.credentials[leaf.door_id] = present_bundle(credential, leaves, leaf.door_id)
    return credential


def _flip_proof(p: Presentation, other: Presentation) -> Presentation:
    proof = list(p.proof)
    proof[-1] = bytes([proof[-1][0] ^ 0x01]) + proof[-1][1:]
    return Presentation(p.credential, p.index, p.door_id, p.kind_bits, tuple(proof))


def _relabel(p: Presentation, other: Presentation) -> Presentation:
    """Another door's leaf and proof, with this door's id written in."""
    return Presentation(other.credential, other.index, p.door_id, other.kind_bits, other.proof)


def _other_index(p: Presentation, other: Presentation) -> Presentation:
    return Presentation(p.credential, other.index, p.door_id, p.kind_bits, p.proof)


def _kinds_widened(p: Presentation, other: Presentation) -> Presentation:
    return Presentation(p.credential, p.index, p.door_id, p.kind_bits | 0b110, p.proof)


def _proof_truncated(p: Presentation, other: Presentation) -> Presentation:
    return Presentation(p.credential, p.index, p.door_id, p.kind_bits, p.proof[:-1])


def _proof_extended(p: Presentation, other: Presentation) -> Presentation:
    extra = bytes(HASH_BYTES)
    return Presentation(p.credential, p.index, p.door_id, p.kind_bits, (*p.proof, extra))


@pytest.mark.parametrize(
    "tamper",
    [_flip_proof, _relabel, _other_index, _kinds_widened, _proof_truncated, _proof_extended],
    ids=["flipped-sibling", "relabelled-leaf", "other-index", "kinds", "short", "long"],
)
def test_bundle_presentation_with_a_forged_proof(
    tamper: Callable[[Presentation, Presentation], Presentation],
) -> None:
    bed = Testbed(start=START)
    lock = make_door(bed, HOME, b"HL-000042")
    neighbour = make_door(bed, HOME, b"HL-000043")
    phone = bed.phone("mette")
    login(bed, phone, shift_leaves(lock, neighbour))
    mine = decode_presentation(phone.credentials[lock.door_id])
    other = decode_presentation(phone.credentials[neighbour.door_id])
    assert len(mine.proof) == 8  # 200 doors
    phone.credentials[lock.door_id] = tamper(mine, other).encode()
    was = before(lock)
    result = bed.visit(phone, lock, Command.UNLOCK)
    assert_refused(lock, was, result.response, "bad_proof")


def test_bundle_presentation_for_another_door() -> None:
    bed = Testbed(start=START)
    lock = make_door(bed, HOME, b"HL-000042")
    neighbour = make_door(bed, HOME, b"HL-000043")
    entrance = make_door(bed, ENTRANCE, b"EC-000042")
    phone = bed.phone("mette")
    credential = login(bed, phone, shift_leaves(neighbour, entrance))  # not the lock
    for shown in (phone.credentials[neighbour.door_id], phone.credentials[entrance.door_id]):
        phone.credentials[lock.door_id] = shown
        was = before(lock)
        result = bed.visit(phone, lock, Command.UNLOCK)
        assert_refused(lock, was, result.response, "wrong_door", subject="mette")
    # the bundle credential alone, without a presentation, names no door at all
    phone.credentials[entrance.door_id] = credential
    was = before(entrance)
    result = bed.visit(phone, entrance, Command.UNLOCK)
    assert_refused(entrance, was, result.response, "wrong_door", subject="mette")
    # the neighbour's own presentation opens it: the refusals were about the door named
    was = before(neighbour)
    assert_opened(neighbour, was, bed.visit(phone, neighbour, Command.UNLOCK).response)


# --- a withdrawn door -------------------------------------------------------------------------


@pytest.mark.parametrize("form", ["plain", "bundle"])
@pytest.mark.parametrize(
    "rights", [(Right.INSTALLER,), (Right.ADMIN, Right.INSTALLER)], ids=["installer", "admin"]
)
def test_a_withdrawn_door_refuses_the_care_worker_and_opens_for_the_installer(
    form: str, rights: tuple[Right, ...]
) -> None:
    bed = Testbed(start=START)
    lock = make_door(bed, HOME, b"HL-000042")
    mette = bed.phone("mette")
    if form == "plain":
        issue(bed, mette, [lock.door_id], not_before=START - dt.timedelta(minutes=5))
    else:
        login(bed, mette, shift_leaves(lock))
    installer = bed.phone("installer-7", online=False)
    issue(bed, installer, [lock.door_id], not_before=START - dt.timedelta(minutes=5), rights=rights)
    assert bed.visit(mette, lock, Command.LOCK).ok  # opened for her before the withdrawal
    bed.block(DenylistEntry.for_door(lock.door_id, START + dt.timedelta(hours=9)))
    was = before(lock)
    result = bed.visit(mette, lock, Command.UNLOCK)  # her phone carries the update
    assert_refused(lock, was, result.response, "door_withdrawn", subject="mette")
    assert lock.denylist.blocks_door(lock.door_id)
    was = before(lock)
    assert_opened(lock, was, bed.visit(installer, lock, Command.UNLOCK).response)


# --- later requests in the same session (``DoorFirmware._recheck``) --------------------------


def test_door_withdrawn_by_an_update_on_a_later_request_in_the_session() -> None:
    bed = Testbed(start=START)
    lock = make_door(bed, HOME)
    mette = bed.phone("mette", online=False)
    issue(bed, mette, [lock.door_id], not_before=START - dt.timedelta(minutes=5))
    bed.block(DenylistEntry.for_door(lock.door_id, START + dt.timedelta(hours=9)))
    update = bed.denylist_for(0)
    session = OpenSession(bed, lock, mette)
    assert session.request(Command.STATUS).ok
    was = before(lock)
    response = session.request(Command.UNLOCK, denylist_update=update)
    session.close()
    assert_refused(lock, was, response, "door_withdrawn", subject="mette")
    assert lock.denylist.blocks_door(lock.door_id)


def test_an_installer_session_survives_the_withdrawal_on_a_later_request() -> None:
    bed = Testbed(start=START)
    lock = make_door(bed, HOME)
    installer = bed.phone("installer-7", online=False)
    issue(
        bed,
        installer,
        [lock.door_id],
        not_before=START - dt.timedelta(minutes=5),
        rights=[Right.INSTALLER],
    )
    bed.block(DenylistEntry.for_door(lock.door_id, START + dt.timedelta(hours=9)))
    session = OpenSession(bed, lock, installer)
    assert session.request(Command.STATUS).ok
    was = before(lock)
    response = session.request(Command.UNLOCK, denylist_update=bed.denylist_for(0))
    session.close()
    assert_opened(lock, was, response)


def test_a_session_kept_open_past_the_window_refuses_a_later_unlock() -> None:
    bed = Testbed(start=dt.datetime(2026, 3, 2, 6, 0, tzinfo=dt.UTC))  # Monday 07:00 CET
    lock = make_door(bed, HOME)
    # The session limit (60 s) ends such a session first (next test); the re-check behind it:
    lock.session_limits = SessionLimits(handshake_s=10, session_s=7200)
    mette = bed.phone("mette", online=False)
    issue(
        bed,
        mette,
        [lock.door_id],
        not_before=bed.clock.now(),
        windows=[TimeWindow.of(0, "07:00", "07:30")],
    )
    session = OpenSession(bed, lock, mette)
    assert session.request(Command.STATUS).ok  # 07:00, inside the window
    bed.clock.advance(dt.timedelta(minutes=31, seconds=1))  # 07:31:01, past window + tolerance
    was = before(lock)
    response = session.request(Command.UNLOCK)
    session.close()
    assert_refused(lock, was, response, "outside_window", subject="mette")


def test_a_session_kept_open_past_expiry_refuses_a_later_unlock() -> None:
    bed = Testbed(start=START)
    lock = make_door(bed, HOME)
    mette = bed.phone("mette", online=False)
    expires = START + dt.timedelta(minutes=1)
    lock.session_limits = SessionLimits(handshake_s=10, session_s=7200)  # see above
    issue(bed, mette, [lock.door_id], not_before=expires - dt.timedelta(hours=8))
    session = OpenSession(bed, lock, mette)
    assert session.request(Command.STATUS).ok  # a minute before expiry
    bed.clock.advance(dt.timedelta(minutes=2, seconds=1))  # past expiry + the 60 s tolerance
    was = before(lock)
    response = session.request(Command.UNLOCK)
    session.close()
    assert_refused(lock, was, response, "expired", subject="mette")


# --- one byte flipped in any claim, through the door ------------------------------------------


def _claim_offsets(raw: bytes) -> dict[str, int]:
    """Offset in ``raw`` of the last byte of each claim's value (and of kid, alg, signature)."""
    message = parse_sign1(raw, max_bytes=1024)
    payload = message.payload
    base = raw.index(payload)
    claims = cbor.loads(payload)
    assert isinstance(claims, dict)
    offsets: dict[str, int] = {}

    def locate(name: str, within: bytes, key: int, value: object, at: int) -> None:
        needle = cbor.dumps(key) + cbor.dumps(value)
        assert within.count(needle) == 1, name
        offsets[name] = at + within.index(needle) + len(needle) - 1

    for key, name in [(1, "iss"), (2, "sub"), (4, "exp"), (5, "nbf"), (7, "cti"), (8, "cnf")]:
        locate(name, payload, key, claims[key], base)
    private = claims[-65537]
    assert isinstance(private, dict)
    private_raw = cbor.dumps(private)
    private_at = base + payload.index(private_raw)
    names = ["doors", "groups", "kinds", "subject_type", "serial", "denylist_version"]
    for key, name in enumerate([*names, "windows", "time_zone", "rights"], start=1):
        locate(name, private_raw, key, private[key], private_at)
    protected_at = raw.index(message.protected)
    offsets["kid"] = protected_at + len(message.protected) - 1
    offsets["alg"] = protected_at + message.protected.index(b"\x01\x27") + 1
    offsets["signature"] = len(raw) - 1
    return offsets


CLAIMS = [
    "iss",
    "sub",
    "exp",
    "nbf",
    "cti",
    "cnf",
    "doors",
    "groups",
    "kinds",
    "subject_type",
    "serial",
    "denylist_version",
    "windows",
    "time_zone",
    "rights",
    "signature",
]


def test_a_session_kept_open_past_the_session_limit_is_ended() -> None:
    bed = Testbed(start=START)
    lock = make_door(bed, HOME)
    mette = bed.phone("mette", online=False)
    issue(bed, mette, [lock.door_id], not_before=START - dt.timedelta(hours=1))
    session = OpenSession(bed, lock, mette)
    assert session.request(Command.STATUS).ok
    bed.clock.advance(dt.timedelta(seconds=lock.session_limits.session_s + 1))
    with pytest.raises(SessionError, match="session_timeout"):
        session.request(Command.UNLOCK)
    assert lock.stats.actuations == 0
    assert lock.events[-1].event.reason == "session_timeout"


def test_one_byte_flipped_in_any_claim_is_refused_at_the_door() -> None:
    bed = Testbed(start=dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC))  # Monday 09:00 CET
    lock = make_door(bed, HOME, b"HL-000042")
    phone = bed.phone("installer-7")
    genuine = issue(
        bed,
        phone,
        [lock.door_id],
        groups=[b"group:vesterbro-12"],
        rights=[Right.ADMIN],
        windows=[TimeWindow.of(0, "08:00", "16:00")],
        not_before=bed.clock.now() - dt.timedelta(minutes=5),
    )
    offsets = _claim_offsets(genuine)
    expected = dict.fromkeys(CLAIMS, "bad_signature")
    expected |= {"kid": "unknown_issuer_key", "alg": "unsupported_algorithm"}
    for name, code in expected.items():
        flipped = bytearray(genuine)
        flipped[offsets[name]] ^= 0x01
        phone.credentials[lock.door_id] = bytes(flipped)
        was = before(lock)
        result = bed.visit(phone, lock, Command.UNLOCK)
        assert result.response.result == code, name
        assert_refused(lock, was, result.response, code)
    phone.credentials[lock.door_id] = genuine
    was = before(lock)
    assert_opened(lock, was, bed.visit(phone, lock, Command.UNLOCK).response)
