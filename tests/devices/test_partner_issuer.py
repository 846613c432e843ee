"""The partner issuer key at the door (``carekey.protocol.partner``): partners' stairwell keys are
signed by a separate key that entrance and gate controllers trust and home locks never hold.

Each door test runs through the real firmware and session and checks the three properties of
the attack suite (``test_attacks_door``): the refusal code, nothing actuated, the refusal logged
and signed. The phones here are offline (they bring no time token), so a door's clock tolerance
is 60 s plus 20 ppm of the time since it was installed (whole seconds: 60 s in every case).

The window rule (``protocol/windows.py``): a window is ``[start, end)`` on the local wall clock of
the credential's zone, read to the whole second, widened by the door's tolerance on both edges.
So with a 60 s tolerance a 09:00-10:00 window opens at 08:59:00 and closes at 10:01:00 (the
instant itself excluded). On the spring-forward Sunday the wall clock jumps from 01:59:59 CET to
03:00:00 CEST: a window inside 02:00-03:00 is open only within the tolerance around the jump
(01:59:00 CET to 03:00:59 CEST, two minutes), a window ending inside the skipped hour closes at
the jump, and one starting inside it opens at the jump (03:00 CEST). On the autumn Sunday
02:00-02:59 happens twice, and both count.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from carekey.devices.controller import EntranceController
from carekey.devices.firmware import DoorFirmware
from carekey.devices.homelock import HomeLock
from carekey.devices.kinds import build_door
from carekey.devices.statefile import DoorStateError, door_state, load_door, restore_door, save_door
from carekey.link.driver import DoorEntry, VisitResult
from carekey.link.transport import BluetoothLink
from carekey.protocol import cbor
from carekey.protocol.credential import (
    CLAIM_CAREKEY,
    BundleLeaf,
    DoorKind,
    Right,
    SubjectType,
    issue_bundle,
    issue_credential,
    present_bundle,
)
from carekey.protocol.denylist import DenylistEntry, issue_denylist_snapshot
from carekey.protocol.freshness import issue_freshness
from carekey.protocol.keys import DoorKey, IssuerKey, IssuerKeyring, parse_sign1, sign1
from carekey.protocol.session import Command
from carekey.protocol.timetoken import issue_time_token
from carekey.protocol.windows import TimeWindow
from carekey.sim.testbed import Phone, Testbed
from tests.devices.conftest import START
from tests.devices.test_attacks_door import assert_opened, assert_refused, before, lenient

ZONE = ZoneInfo("Europe/Copenhagen")
MISUSE = "partner_issuer_misuse"
OUT = "outside_window"
HOME, ENTRANCE, GATE = DoorKind.HOME, DoorKind.ENTRANCE, DoorKind.GATE
US = dt.timedelta(microseconds=1)
EVERY_DAY = range(7)


def controller(bed: Testbed, door_id: bytes = b"entrance-12", **kwargs: Any) -> EntranceController:
    door = bed.controller(door_id, **kwargs)
    door.limiter = lenient()
    return door


def courier(bed: Testbed, subject: str = "post-17") -> Phone:
    """A partner's phone (post, newspapers, meal boxes), offline: it carries no time token."""
    return bed.phone(subject, online=False)


def resigned(raw: bytes, key: IssuerKey, **private: int) -> bytes:
    """The credential's claims with CareKey claims ``private`` changed (e.g. ``k3=1`` for the
    kinds claim), signed again with the low-level COSE_Sign1 by ``key``: what a forger holding
    the partner key could sign, since ``issue_credential`` refuses a partner's home key."""
    claims = cbor.loads(parse_sign1(raw, max_bytes=1024).payload)
    assert isinstance(claims, dict)
    for name, value in private.items():
        claims[CLAIM_CAREKEY][int(name[1:])] = value
    return sign1(cbor.dumps(claims), key.signer)


def store(phone: Phone, raw: bytes, *doors: DoorFirmware) -> bytes:
    for door in doors:
        phone.credentials[door.door_id] = raw
    return raw


# --- home locks never trust the partner key ---------------------------------------------------


def test_a_partner_credential_is_refused_by_every_home_lock(
    bed: Testbed, lock: HomeLock, phone: Phone
) -> None:
    other = bed.home_lock(b"home-0002", limiter=lenient())
    lock.limiter = lenient()
    post = courier(bed)
    for home in (lock, other):
        attempts = {
            # what the partner issuer would sign for a home door id: kinds entrance and gate
            "partner key": bed.partner_credential(post, home.door_id),
            # forged: a partner's key that claims the home kind (issue_credential refuses it)
            "claims home": resigned(
                bed.partner_credential(post, home.door_id), bed.partner_key, k3=1
            ),
            # forged: an employee's home key with every right, signed by the partner key
            "employee admin": resigned(
                bed.partner_credential(post, home.door_id), bed.partner_key, k3=1, k4=0, k9=3
            ),
        }
        for name, raw in attempts.items():
            store(post, raw, home)
            was = before(home)
            response = bed.visit(post, home, Command.UNLOCK).response
            logged = assert_refused(home, was, response, "unknown_issuer_key")
            assert logged.subject is None, name  # not even attributed: the key is unknown here
    # A forged partner bundle presentation with a home leaf, signed by the partner key.
    leaves = [BundleLeaf.of(lock.door_id, HOME), BundleLeaf.of(b"entrance-12", ENTRANCE)]
    bundle = issue_bundle(
        issuer_key=bed.partner_key,
        subject="post-17",
        subject_type=SubjectType.EMPLOYEE,
        device_key=post.device_key.public,
        leaves=leaves,
        not_before=START - dt.timedelta(minutes=5),
        expires=START + dt.timedelta(hours=8),
        serial=99,
        denylist_version=0,
    )
    forged = resigned(bundle, bed.partner_key, k4=1)
    store(post, present_bundle(forged, leaves, lock.door_id), lock)
    was = before(lock)
    assert_refused(lock, was, bed.visit(post, lock).response, "unknown_issuer_key")
    # The control: the lock opens for its care worker.
    was = before(lock)
    assert_opened(lock, was, bed.visit(phone, lock).response)


def test_a_home_lock_is_never_built_with_a_partner_keyring(bed: Testbed, lock: HomeLock) -> None:
    with pytest.raises(ValueError, match="partner"):
        HomeLock(
            door_id=b"home-9",
            door_key=DoorKey.generate(),
            keyring=bed.keyring,
            clock=bed.clock,
            partner_keyring=bed.partner_keyring,
        )
    assert lock.flash.partner_keyring == IssuerKeyring()
    # build_door gives the partner keyring to entrances and gates only.
    built = {
        kind: build_door(
            serial=f"{kind}-1",
            kind=kind,
            keyring=bed.keyring,
            clock=bed.clock,
            door_key=DoorKey.generate(),
            partner_keyring=bed.partner_keyring,
        )
        for kind in ("home_lock", "entrance", "gate_controller")
    }
    assert isinstance(built["home_lock"], HomeLock)
    assert built["home_lock"].flash.partner_keyring == IssuerKeyring()
    assert built["entrance"].flash.partner_keyring == bed.partner_keyring
    assert built["gate_controller"].flash.partner_keyring == bed.partner_keyring
    # No door holds one key id in both keyrings.
    with pytest.raises(ValueError, match="both"):
        EntranceController(
            door_id=b"entrance-9",
            door_key=DoorKey.generate(),
            keyring=bed.keyring,
            clock=bed.clock,
            partner_keyring=IssuerKeyring.of([bed.issuer_key.public]),
        )


def test_a_home_lock_ignores_a_partner_keyring_slipped_into_its_flash(
    bed: Testbed, lock: HomeLock
) -> None:
    """The home lock's firmware never hands a partner keyring to the credential check."""
    lock.limiter = lenient()
    lock.flash.partner_keyring = bed.partner_keyring
    post = courier(bed)
    bed.partner_credential(post, lock.door_id, kinds=[ENTRANCE])
    was = before(lock)
    assert_refused(lock, was, bed.visit(post, lock).response, "unknown_issuer_key")


# --- entrances and gates: inside and outside the weekly window --------------------------------

MONDAY_MORNING = [TimeWindow.of(0, "09:00", "10:00")]  # 08:00-09:00 UTC in winter (CET)


def test_a_partner_credential_opens_an_entrance_and_a_gate_inside_its_window(
    bed: Testbed,
) -> None:
    entrance = controller(bed)
    gate = controller(bed, b"gate-12", kind=GATE)
    post = courier(bed)
    raw = bed.partner_credential(
        post, entrance.door_id, gate.door_id, windows=MONDAY_MORNING, not_before=START
    )
    bed.clock.set(dt.datetime(2026, 3, 2, 8, 30, tzinfo=dt.UTC))  # Monday 09:30 CET
    for door in (entrance, gate):
        was = before(door)
        result = bed.visit(post, door)
        assert_opened(door, was, result.response)
        assert result.receipt is not None
        assert result.receipt.subject == "post-17"
    assert post.credentials[gate.door_id] == raw
    # Outside: before and after the window that Monday, and a Tuesday window on a Monday.
    for hour in (7, 10):
        bed.clock.set(dt.datetime(2026, 3, 2, hour, 30, tzinfo=dt.UTC))
        was = before(entrance)
        response = bed.visit(post, entrance).response
        assert_refused(entrance, was, response, "outside_window", subject="post-17")
    bed.partner_credential(post, entrance.door_id, windows=[TimeWindow.of(1, "09:00", "12:00")])
    was = before(entrance)
    assert_refused(entrance, was, bed.visit(post, entrance).response, OUT, subject="post-17")


OPENS = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)  # Monday 09:00 CET
CLOSES = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)  # Monday 10:00 CET
TOLERANCE = dt.timedelta(seconds=60)


@pytest.mark.parametrize(
    ("now", "code"),
    [
        (OPENS - dt.timedelta(minutes=5), "outside_window"),
        (OPENS - TOLERANCE - US, "outside_window"),  # 08:58:59.999999: outside the tolerance
        (OPENS - TOLERANCE, None),  # 08:59:00: the widened start, inclusive
        (OPENS, None),  # 09:00:00: the window's own start
        (CLOSES - US, None),  # 09:59:59.999999: the window's own end is exclusive...
        (CLOSES, None),  # ...but 10:00:00 is within the tolerance
        (CLOSES + TOLERANCE - US, None),  # 10:00:59.999999
        (CLOSES + TOLERANCE, "outside_window"),  # 10:01:00: the widened end, exclusive
        (CLOSES + dt.timedelta(minutes=5), "outside_window"),
    ],
    ids=[
        "start-5min",
        "start-tol-1us",
        "start-tol",
        "start",
        "end-1us",
        "end",
        "end+tol-1us",
        "end+tol",
        "end+5min",
    ],
)
def test_a_partner_credential_at_the_edges_of_its_window(
    bed: Testbed, now: dt.datetime, code: str | None
) -> None:
    entrance = controller(bed)
    post = courier(bed)
    bed.partner_credential(post, entrance.door_id, windows=MONDAY_MORNING, not_before=START)
    bed.clock.set(now)
    assert int(entrance._tolerance(now).total_seconds()) == 60
    was = before(entrance)
    response = bed.visit(post, entrance).response
    if code is None:
        assert_opened(entrance, was, response)
    else:
        assert_refused(entrance, was, response, code, subject="post-17")


# --- across daylight saving in Europe/Copenhagen, 2027 -----------------------------------------

EARLY = [TimeWindow(day, 4 * 60, 7 * 60) for day in EVERY_DAY]  # 04:00-07:00 every day
SUNDAY = 6
SKIPPED = [TimeWindow.of(SUNDAY, "02:00", "03:00")]
INTO_GAP = [TimeWindow.of(SUNDAY, "01:00", "02:30")]
OUT_OF_GAP = [TimeWindow.of(SUNDAY, "02:30", "04:00")]


# Summer time starts Sunday 28 March 2027 (01:00 UTC: 02:00 CET -> 03:00 CEST) and ends
# Sunday 31 October 2027 (01:00 UTC: 03:00 CEST -> 02:00 CET). (label, windows, UTC instant,
# the local wall time it reads as on the same date, refusal or None)
DST_CASES = [
    # 04:00-07:00 opens at local 04:00 the day before, of and after each change
    ("sat 27 mar 04:00 CET", EARLY, "2027-03-27T03:00:00", "04:00:00 CET", None),
    ("sat 27 mar 03:58:59 CET", EARLY, "2027-03-27T02:58:59", "03:58:59 CET", OUT),
    ("sun 28 mar 04:00 CEST", EARLY, "2027-03-28T02:00:00", "04:00:00 CEST", None),
    ("sun 28 mar 03:58:59 CEST", EARLY, "2027-03-28T01:58:59", "03:58:59 CEST", OUT),
    ("mon 29 mar 04:00 CEST", EARLY, "2027-03-29T02:00:00", "04:00:00 CEST", None),
    ("mon 29 mar 03:58:59 CEST", EARLY, "2027-03-29T01:58:59", "03:58:59 CEST", OUT),
    ("mon 29 mar 07:01 CEST", EARLY, "2027-03-29T05:01:00", "07:01:00 CEST", OUT),
    ("sat 30 oct 04:00 CEST", EARLY, "2027-10-30T02:00:00", "04:00:00 CEST", None),
    ("sat 30 oct 03:58:59 CEST", EARLY, "2027-10-30T01:58:59", "03:58:59 CEST", OUT),
    ("sun 31 oct 04:00 CET", EARLY, "2027-10-31T03:00:00", "04:00:00 CET", None),
    ("sun 31 oct 03:00 CET", EARLY, "2027-10-31T02:00:00", "03:00:00 CET", OUT),
    ("mon 1 nov 04:00 CET", EARLY, "2027-11-01T03:00:00", "04:00:00 CET", None),
    ("mon 1 nov 03:58:59 CET", EARLY, "2027-11-01T02:58:59", "03:58:59 CET", OUT),
    ("mon 1 nov 07:00:59 CET", EARLY, "2027-11-01T06:00:59", "07:00:59 CET", None),
    # the spring Sunday, 02:00-03:00 does not exist: open only within the tolerance of the jump
    ("02-03 at 01:30 CET", SKIPPED, "2027-03-28T00:30:00", "01:30:00 CET", OUT),
    ("02-03 at 01:58:59 CET", SKIPPED, "2027-03-28T00:58:59", "01:58:59 CET", OUT),
    ("02-03 at 01:59:00 CET", SKIPPED, "2027-03-28T00:59:00", "01:59:00 CET", None),
    ("02-03 at 03:00:00 CEST", SKIPPED, "2027-03-28T01:00:00", "03:00:00 CEST", None),
    ("02-03 at 03:00:59 CEST", SKIPPED, "2027-03-28T01:00:59", "03:00:59 CEST", None),
    ("02-03 at 03:01:00 CEST", SKIPPED, "2027-03-28T01:01:00", "03:01:00 CEST", OUT),
    # a window ending in the skipped hour closes at the jump
    ("01-02:30 at 01:59:59 CET", INTO_GAP, "2027-03-28T00:59:59", "01:59:59 CET", None),
    ("01-02:30 at 03:00:00 CEST", INTO_GAP, "2027-03-28T01:00:00", "03:00:00 CEST", OUT),
    # a window starting in the skipped hour opens at the jump
    ("02:30-04 at 01:59:59 CET", OUT_OF_GAP, "2027-03-28T00:59:59", "01:59:59 CET", OUT),
    ("02:30-04 at 03:00:00 CEST", OUT_OF_GAP, "2027-03-28T01:00:00", "03:00:00 CEST", None),
    ("02:30-04 at 04:00:59 CEST", OUT_OF_GAP, "2027-03-28T02:00:59", "04:00:59 CEST", None),
    ("02:30-04 at 04:01:00 CEST", OUT_OF_GAP, "2027-03-28T02:01:00", "04:01:00 CEST", OUT),
    # the autumn Sunday, 02:00-03:00 happens twice: both count
    ("autumn 02:30 CEST", SKIPPED, "2027-10-31T00:30:00", "02:30:00 CEST", None),
    ("autumn 02:30 CET", SKIPPED, "2027-10-31T01:30:00", "02:30:00 CET", None),
    ("autumn 03:01 CET", SKIPPED, "2027-10-31T02:01:00", "03:01:00 CET", OUT),
]  # fmt: skip


@pytest.mark.parametrize(
    ("windows", "utc", "local", "code"),
    [case[1:] for case in DST_CASES],
    ids=[case[0] for case in DST_CASES],
)
def test_a_partner_window_across_daylight_saving_in_2027(
    windows: list[TimeWindow], utc: str, local: str, code: str | None
) -> None:
    now = dt.datetime.fromisoformat(utc).replace(tzinfo=dt.UTC)
    wall = now.astimezone(ZONE)
    assert (wall.date(), wall.strftime("%H:%M:%S %Z")) == (now.date(), local)
    bed = Testbed(start=now - dt.timedelta(hours=4))
    gate = controller(bed, b"gate-12", kind=GATE)
    post = courier(bed)
    bed.partner_credential(post, gate.door_id, windows=windows, not_before=bed.clock.now())
    bed.clock.set(now)
    was = before(gate)
    response = bed.visit(post, gate).response
    if code is None:
        assert_opened(gate, was, response)
    else:
        assert_refused(gate, was, response, code, subject="post-17")


# --- what the partner key may not sign, at an entrance -----------------------------------------


def _signed(bed: Testbed, post: Phone, door: DoorFirmware, **kwargs: Any) -> bytes:
    """A credential for ``door`` that ``issue_credential`` signs with the partner key."""
    args: dict[str, Any] = {
        "issuer_key": bed.partner_key,
        "subject": post.subject,
        "subject_type": SubjectType.PARTNER,
        "device_key": post.device_key.public,
        "kinds": [ENTRANCE],
        "not_before": bed.clock.now() - dt.timedelta(minutes=5),
        "expires": bed.clock.now() + dt.timedelta(hours=8),
        "serial": bed.next_serial(post.subject),
        "denylist_version": 0,
        "doors": [door.door_id],
    }
    args.update(kwargs)
    return issue_credential(**args)


MISUSES = {
    "employee": {"subject_type": SubjectType.EMPLOYEE},
    "employee-with-home": {"subject_type": SubjectType.EMPLOYEE, "kinds": [HOME, ENTRANCE]},
    "admin-right": {"rights": [Right.ADMIN]},
    "installer-right": {"rights": [Right.INSTALLER]},
}


@pytest.mark.parametrize("misuse", [*MISUSES, "forged-home", "forged-home-only"])
def test_a_partner_key_credential_that_is_not_a_partners_stairwell_key_is_refused(
    bed: Testbed, misuse: str
) -> None:
    entrance = controller(bed)
    post = courier(bed)
    if misuse == "forged-home":
        raw = resigned(_signed(bed, post, entrance), bed.partner_key, k3=1 | 2)
    elif misuse == "forged-home-only":
        raw = resigned(_signed(bed, post, entrance), bed.partner_key, k3=1)
    else:
        raw = _signed(bed, post, entrance, **MISUSES[misuse])
    store(post, raw, entrance)
    was = before(entrance)
    assert_refused(entrance, was, bed.visit(post, entrance).response, MISUSE)
    # The control: the partner's proper key opens the same entrance.
    store(post, _signed(bed, post, entrance), entrance)
    was = before(entrance)
    assert_opened(entrance, was, bed.visit(post, entrance).response)


def test_a_partner_key_bundle_of_an_employee_is_refused_at_the_entrance(bed: Testbed) -> None:
    entrance = controller(bed)
    post = courier(bed)
    leaves = [BundleLeaf.of(entrance.door_id, ENTRANCE), BundleLeaf.of(b"gate-12", GATE)]
    common: dict[str, Any] = {
        "issuer_key": bed.partner_key,
        "subject": post.subject,
        "device_key": post.device_key.public,
        "leaves": leaves,
        "not_before": bed.clock.now() - dt.timedelta(minutes=5),
        "expires": bed.clock.now() + dt.timedelta(hours=8),
        "denylist_version": 0,
    }
    employee = issue_bundle(subject_type=SubjectType.EMPLOYEE, serial=1, **common)
    store(post, present_bundle(employee, leaves, entrance.door_id), entrance)
    was = before(entrance)
    assert_refused(entrance, was, bed.visit(post, entrance).response, MISUSE)
    partner = issue_bundle(subject_type=SubjectType.PARTNER, serial=2, **common)
    store(post, present_bundle(partner, leaves, entrance.door_id), entrance)
    was = before(entrance)
    assert_opened(entrance, was, bed.visit(post, entrance).response)


def test_a_partner_credential_for_another_entrance_is_wrong_door(bed: Testbed) -> None:
    entrance = controller(bed, b"entrance-12", groups=[b"group:vesterbro-12"])
    neighbour = controller(bed, b"entrance-14", groups=[b"group:vesterbro-14"])
    post = courier(bed)
    by_door = bed.partner_credential(post, entrance.door_id, store_for=[neighbour.door_id])
    assert post.credentials[neighbour.door_id] == by_door
    was = before(neighbour)
    assert_refused(
        neighbour, was, bed.visit(post, neighbour).response, "wrong_door", subject="post-17"
    )
    bed.partner_credential(
        post, groups=[b"group:vesterbro-12"], store_for=[entrance.door_id, neighbour.door_id]
    )
    was = before(neighbour)
    assert_refused(
        neighbour, was, bed.visit(post, neighbour).response, "wrong_door", subject="post-17"
    )
    was = before(entrance)
    assert_opened(entrance, was, bed.visit(post, entrance).response)


# --- the partner key never signs time, denylists or freshness ---------------------------------


def _run(bed: Testbed, phone: Phone, door: DoorFirmware, *, correct_time: bool) -> VisitResult:
    link = bed.links[door.door_id].connect()
    entry = DoorEntry(door.door_id, door.door_key.public, phone.credentials[door.door_id])
    try:
        return phone.driver.run(link, entry, Command.UNLOCK, correct_time=correct_time)
    finally:
        link.close()


def test_a_partner_key_signed_time_token_denylist_or_freshness_is_refused(bed: Testbed) -> None:
    entrance = controller(bed)
    post = courier(bed)
    bed.partner_credential(post, entrance.door_id)
    clock_before, synced_before = entrance.clock.now(), entrance.flash.last_token_time
    bed.clock.advance(dt.timedelta(minutes=10))

    # A challenge-bound time token, signed by the partner key, one hour ahead.
    post.driver.time_tokens = lambda door_id, nonce: issue_time_token(
        issuer_key=bed.partner_key,
        now=bed.clock.now() + dt.timedelta(hours=1),
        door_id=door_id,
        nonce=nonce,
    )
    was = before(entrance)
    response = _run(bed, post, entrance, correct_time=True).response
    assert_refused(entrance, was, response, "unknown_issuer_key")
    assert entrance.flash.last_token_time == synced_before
    assert entrance.clock.now() == clock_before + dt.timedelta(minutes=10)
    post.driver.time_tokens = None

    # A denylist that blocks the partner's own key would be honoured; signed by the partner
    # key it is not even read (and a list it signed could lift a block).
    post.driver.denylist = lambda version: issue_denylist_snapshot(
        issuer_key=bed.partner_key,
        version=version + 1,
        entries=[
            DenylistEntry.for_device(
                post.device_key.public, bed.clock.now() + dt.timedelta(hours=9)
            )
        ],
        now=bed.clock.now(),
    )
    was = before(entrance)
    response = _run(bed, post, entrance, correct_time=False).response
    assert_refused(entrance, was, response, "unknown_issuer_key")
    assert entrance.flash.denylist.version == 0
    post.driver.denylist = None

    # A proof of freshness for the partner's phone signed by the partner key.
    post.driver.freshness = lambda: issue_freshness(
        issuer_key=bed.partner_key,
        device_key_id=post.device_key.public.key_id,
        denylist_version=0,
        now=bed.clock.now(),
    )
    was = before(entrance)
    response = _run(bed, post, entrance, correct_time=False).response
    assert_refused(entrance, was, response, "unknown_issuer_key", subject="post-17")

    # The control: with the issuer's proof the same credential opens.
    post.driver.freshness = lambda: bed.freshness(post, denylist_version=0)
    was = before(entrance)
    assert_opened(entrance, was, _run(bed, post, entrance, correct_time=False).response)


# --- CONFIGURE ---------------------------------------------------------------------------------


def _installer(bed: Testbed, door: DoorFirmware) -> Phone:
    phone = bed.phone("installer-1")
    kinds = [door.kind]
    bed.credential(phone, door.door_id, kinds=kinds, admin=True)
    return phone


@pytest.mark.parametrize(
    "args",
    [
        {"add_partner_issuer_key": ["101", IssuerKey.generate("101").public.key.raw]},
        {"retire_partner_issuer_key": b"\x00" * 8},
        {"auto_relock_s": 20, "add_partner_issuer_key": ["101", b"\x01" * 32]},
    ],
    ids=["add", "retire", "with-other-settings"],
)
def test_configure_partner_issuer_keys_is_not_supported_on_a_home_lock(
    bed: Testbed, lock: HomeLock, args: dict[str, object]
) -> None:
    installer = _installer(bed, lock)
    config_before = dataclasses.replace(lock.flash.config)
    was = before(lock)
    result = bed.visit(installer, lock, Command.CONFIGURE, args)
    assert_refused(lock, was, result.response, "not_supported", subject="installer-1")
    assert lock.flash.partner_keyring == IssuerKeyring()
    assert lock.flash.config == config_before


def test_configure_adds_and_retires_partner_issuer_keys_on_a_controller(bed: Testbed) -> None:
    entrance = controller(bed)
    installer = _installer(bed, entrance)
    post = courier(bed)
    old = bed.partner_credential(post, entrance.door_id)
    successor = IssuerKey.generate("101")
    change = {
        "add_partner_issuer_key": [successor.issuer, successor.public.key.raw],
        "retire_partner_issuer_key": bed.partner_key.kid,
    }
    assert bed.visit(installer, entrance, Command.CONFIGURE, change).ok
    assert successor.public in entrance.flash.partner_keyring.active
    assert entrance.flash.partner_keyring.active == (successor.public,)
    assert entrance.flash.keyring == bed.keyring
    was = before(entrance)
    assert_refused(entrance, was, bed.visit(post, entrance).response, "retired_issuer_key")
    bed.partner_key = successor  # the server signs partners' keys with the successor now
    assert bed.partner_credential(post, entrance.door_id) != old
    was = before(entrance)
    assert_opened(entrance, was, bed.visit(post, entrance).response)
    # A key in both keyrings, a retired key made active again, a bad value: nothing changes.
    partners = entrance.flash.partner_keyring
    issuer, first_partner = bed.issuer_key.public, bed.partner_keyring.active[0]
    refusals = [
        ({"add_partner_issuer_key": [issuer.issuer, issuer.key.raw]}, "invalid_argument"),
        ({"add_issuer_key": [successor.issuer, successor.public.key.raw]}, "invalid_argument"),
        ({"add_partner_issuer_key": ["101", first_partner.key.raw]}, "retired_issuer_key"),
        ({"retire_partner_issuer_key": b"\x00" * 8}, "unknown_issuer_key"),
        ({"add_partner_issuer_key": ["101", b"short"]}, "invalid_argument"),
    ]
    for args, code in refusals:
        was = before(entrance)
        result = bed.visit(installer, entrance, Command.CONFIGURE, args)
        assert_refused(entrance, was, result.response, code, subject="installer-1")
        assert entrance.flash.partner_keyring == partners
        assert entrance.flash.keyring == bed.keyring


# --- the state file ----------------------------------------------------------------------------


def test_a_controller_with_a_partner_keyring_survives_a_restart(
    bed: Testbed, tmp_path: Path
) -> None:
    entrance = controller(bed)
    retired = IssuerKey.generate("101")
    entrance.flash.partner_keyring = bed.partner_keyring.with_active(retired.public).with_retired(
        retired.kid
    )
    path = tmp_path / "entrance.json"
    save_door(entrance, path)
    loaded = load_door(path, bed.clock)
    assert isinstance(loaded, EntranceController)
    assert loaded.flash.partner_keyring == entrance.flash.partner_keyring
    assert loaded.flash.keyring == entrance.flash.keyring
    bed.links[loaded.door_id] = BluetoothLink(loaded)
    post = courier(bed)
    bed.partner_credential(post, loaded.door_id)
    was = before(loaded)
    assert_opened(loaded, was, bed.visit(post, loaded).response)


def test_state_files_without_or_with_a_wrong_partner_keyring(
    bed: Testbed, lock: HomeLock, tmp_path: Path
) -> None:
    entrance = controller(bed)
    older = door_state(entrance)
    del older["partner_keyring"]  # written before partner keys existed
    assert restore_door(older, bed.clock).flash.partner_keyring == IssuerKeyring()
    partner = {"issuer": "101", "key": bed.partner_key.public.key.raw.hex(), "status": "active"}
    home = door_state(lock)
    assert home["partner_keyring"] == []
    home["partner_keyring"] = [partner]
    with pytest.raises(DoorStateError, match="home lock"):
        restore_door(home, bed.clock)
    shared = door_state(entrance)
    shared["partner_keyring"] = [*shared["keyring"]]
    with pytest.raises(DoorStateError, match="shares a key id"):
        restore_door(shared, bed.clock)
    broken = door_state(entrance)
    broken["partner_keyring"] = [{"issuer": "101", "key": "00", "status": "active"}]
    with pytest.raises(DoorStateError, match=r"partner_keyring\[0\]"):
        restore_door(broken, bed.clock)
