"""Hostile but well-signed values at the door (issue 13): credentials, time tokens, denylists
(snapshots, deltas, pieces) and proofs of freshness signed with the testbed's own issuer key,
carrying extreme but type-valid values (huge ints, far-future and zero times, long strings,
many records), sent through a real session to a real home lock.

For every example: no exception escapes the door, the door answers with a known refusal code (or
accepts) and logs that refusal, and afterwards a legitimate phone still opens the door. The
default run is a few seconds; ``CAREKEY_FUZZ_EXAMPLES=2000`` (``make fuzz``) runs many more.

The three named regressions (denylist version above u32, times past year 9999, a door clock at
the end of the calendar) have their own plain tests at the bottom.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from carekey.devices.firmware import DoorFirmware, FailureLimiter
from carekey.devices.hardware import END_OF_TIME, DoorState
from carekey.protocol import cbor
from carekey.protocol.credential import CLAIM_CAREKEY, DoorKind, SubjectType, issue_credential
from carekey.protocol.denylist import CLAIM_DENYLIST, PREFIX_SPACE
from carekey.protocol.errors import ProtocolError
from carekey.protocol.events import EventKind
from carekey.protocol.framing import Reassembler, fragment
from carekey.protocol.freshness import CLAIM_FRESHNESS, issue_freshness
from carekey.protocol.keys import DeviceKey, DeviceSigner, parse_sign1, sign1
from carekey.protocol.limits import DENYLIST_VERSION_LIMIT, TIME_LIMIT
from carekey.protocol.session import Command, PhoneSession, is_known_code
from carekey.protocol.timetoken import CLAIM_TIME, issue_time_token
from carekey.protocol.windows import TimeWindow
from carekey.sim.testbed import Testbed

START = dt.datetime(2026, 3, 2, 7, 10, tzinfo=dt.UTC)  # Monday, 08:10 in Copenhagen
NOW = int(START.timestamp())
DOOR = b"home-0001"
ISSUER = "101"
ZONE = "Europe/Copenhagen"
NONCE = b"\x00fuzz:the-door-nonce"  # replaced by the session's nonce
KEY_ID = b"\x00fuzz:the-key-id"  # replaced by the phone's device key id
COSE_KEY = b"\x00fuzz:the-cose-key"  # replaced by the phone's COSE_Key
EXAMPLES = int(os.environ.get("CAREKEY_FUZZ_EXAMPLES", "20"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
_COUNTER = itertools.count(1)

# --- extreme values ------------------------------------------------------------------------------

EDGE_INTS = [0, 1, 2**16, 2**31, 2**32 - 1, 2**32, 2**40 - 1, 2**40, 2**63 - 1, 2**63, 2**64 - 1]
EDGE_TIMES = [0, 1, NOW - 1, NOW, NOW + 1, NOW + 3600, TIME_LIMIT - 1, TIME_LIMIT, 2**40 - 1]
uints = st.one_of(st.sampled_from(EDGE_INTS), st.integers(0, 2**64 - 1))
ints = st.one_of(uints, st.integers(-(2**64), -1))
times = st.one_of(
    st.sampled_from(EDGE_TIMES),
    st.integers(NOW - 86400, NOW + 86400),
    st.integers(0, 2**64 - 1),
)
versions = st.one_of(
    st.sampled_from([0, 1, 2, DENYLIST_VERSION_LIMIT - 1, DENYLIST_VERSION_LIMIT, 2**63 - 1]),
    uints,
)
long_text = st.one_of(st.text(max_size=8), st.text(min_size=60, max_size=300))
ids = st.one_of(st.just(DOOR), st.binary(max_size=40))


def fill(value: object, nonce: bytes, signer: DeviceSigner) -> object:
    """Replace the placeholders by what only the session knows."""
    if value == NONCE:
        return nonce
    if value == KEY_ID:
        return signer.public.key_id
    if value == COSE_KEY:
        return signer.public.to_cose_key()
    if isinstance(value, dict):
        return {k: fill(v, nonce, signer) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, nonce, signer) for v in value]
    return value


@st.composite
def time_token_claims(draw: st.DrawFn) -> dict[int, object]:
    body: dict[int, object] = {}
    if draw(st.booleans()):
        body[1] = draw(ids)
    if draw(st.booleans()):
        body[2] = draw(st.one_of(st.just(NONCE), st.binary(max_size=40)))
    return {1: ISSUER, 6: draw(times), CLAIM_TIME: body}


@st.composite
def freshness_claims(draw: st.DrawFn) -> dict[int, object]:
    iat = draw(times)
    exp = draw(st.one_of(times, st.integers(0, 7200).map(lambda d: min(iat + d, 2**64 - 1))))
    key_id = draw(st.one_of(st.just(KEY_ID), st.binary(min_size=16, max_size=16)))
    return {1: ISSUER, 4: exp, 6: iat, CLAIM_FRESHNESS: {1: key_id, 2: draw(versions)}}


@st.composite
def records(draw: st.DrawFn, size: int) -> bytes:
    count = draw(st.sampled_from([0, 1, 2, 169, 170, 171, 190]))
    expires = draw(st.sampled_from([0, 1, NOW, 2**31, 2**32 - 1]))
    start = draw(st.integers(0, 2**128 - 1 - count))
    kind = draw(st.integers(1, 4))
    tail = expires.to_bytes(4, "big") if size == 21 else b""
    return b"".join(bytes([kind]) + (start + i).to_bytes(16, "big") + tail for i in range(count))


@st.composite
def denylist_claims(draw: st.DrawFn) -> dict[int, object]:
    body: dict[int, object] = {1: draw(versions), 3: draw(records(21))}
    form = draw(st.sampled_from(["snapshot", "delta", "piece"]))
    if form == "delta":
        body[2] = draw(st.one_of(st.just(0), versions))
        body[4] = draw(records(17))
    elif form == "piece":
        edges = st.one_of(st.sampled_from([0, 1, PREFIX_SPACE - 1, PREFIX_SPACE]), uints)
        body[5], body[6] = draw(edges), draw(edges)
    return {1: ISSUER, 6: draw(times), CLAIM_DENYLIST: body}


zones = st.sampled_from(["Europe/Copenhagen", "UTC", "Pacific/Kiritimati", "Etc/GMT+12", "x"])
window_lists = st.lists(st.lists(ints, min_size=3, max_size=3), min_size=1, max_size=30)


@st.composite
def credential_claims(draw: st.DrawFn) -> dict[int, object]:
    nbf = draw(times)
    exp = draw(st.one_of(times, st.integers(1, 32400).map(lambda d: min(nbf + d, 2**64 - 1))))
    private: dict[int, object] = {
        1: draw(st.one_of(st.just([DOOR]), st.lists(ids, min_size=1, max_size=9))),
        3: draw(st.one_of(st.integers(1, 7), ints)),
        4: draw(st.one_of(st.sampled_from([0, 1]), ints)),
        5: draw(uints),
        6: draw(uints),
    }
    if draw(st.booleans()):
        private[7] = draw(st.one_of(st.just([[127, 0, 1440]]), window_lists))
        private[8] = draw(zones)
    if draw(st.booleans()):
        private[9] = draw(st.one_of(st.integers(1, 3), ints))
    return {
        1: ISSUER,
        2: "fuzz-" + draw(long_text),  # never the legitimate phone's subject
        4: exp,
        5: nbf,
        7: draw(st.one_of(st.binary(min_size=16, max_size=16), st.binary(max_size=40))),
        8: {1: COSE_KEY},
        CLAIM_CAREKEY: private,
    }


# --- the world -----------------------------------------------------------------------------------


def world() -> tuple[Testbed, DoorFirmware]:
    bed = Testbed(start=START, issuer=ISSUER)
    return bed, bed.home_lock(DOOR, limiter=FailureLimiter(free_failures=1_000_000))


def signed(bed: Testbed, claims: object) -> bytes:
    return sign1(cbor.dumps(claims), bed.issuer_key.signer)


def door_now(door: DoorFirmware) -> dt.datetime:
    now = door.clock.now()
    assert now is not None
    return now


def legit_credential(
    bed: Testbed,
    door: DoorFirmware,
    signer: DeviceSigner,
    valid_for: dt.timedelta = dt.timedelta(hours=1),
    **kw: object,
) -> bytes:
    """An ordinary credential for this door, valid at the door's own clock."""
    now = door_now(door)
    nbf = now - dt.timedelta(minutes=5)
    last = END_OF_TIME.replace(microsecond=0)
    exp = now + valid_for if now < last - valid_for else last
    return issue_credential(
        issuer_key=bed.issuer_key,
        subject="carer",
        subject_type=SubjectType.EMPLOYEE,
        device_key=signer.public,
        kinds=DoorKind.HOME,
        not_before=nbf,
        expires=exp,
        serial=next(_COUNTER),
        denylist_version=0,
        doors=[door.door_id],
        **kw,  # type: ignore[arg-type]
    )


def legit_freshness(bed: Testbed, door: DoorFirmware, signer: DeviceSigner) -> bytes:
    iat = door_now(door) - dt.timedelta(minutes=1)
    lifetime = min(dt.timedelta(minutes=30), END_OF_TIME.replace(microsecond=0) - iat)
    return issue_freshness(
        issuer_key=bed.issuer_key,
        device_key_id=signer.public.key_id,
        denylist_version=0,
        now=iat,
        lifetime=lifetime,
    )


TokenFor = Callable[[bytes], bytes]


def run_session(
    bed: Testbed,
    door: DoorFirmware,
    signer: DeviceSigner,
    credential: bytes,
    *,
    freshness: bytes | None,
    time_token: TokenFor | None = None,
    denylist_update: bytes | None = None,
) -> str:
    """One UNLOCK session by hand; the door's answer code (``ok`` or a refusal)."""
    link = bed.links[door.door_id].connect()
    reassembler = Reassembler(mtu=link.mtu)

    def exchange(message: bytes) -> bytes:
        link.send(fragment(message, mtu=link.mtu))
        while True:
            whole = reassembler.feed(link.receive())
            if whole is not None:
                return whole

    phone = PhoneSession(
        door_id=door.door_id,
        door_public_key=door.door_key.public,
        device_key=signer,
        credential=credential,
        counter=next(_COUNTER),
    )
    try:
        phone.receive_door_hello(exchange(phone.hello()))
        assert phone.door_nonce is not None
        token = time_token(phone.door_nonce) if time_token else None
        try:
            record = phone.request(
                Command.UNLOCK,
                time_token=token,
                denylist_update=denylist_update,
                freshness=freshness,
            )
        except ProtocolError as error:
            return f"phone:{error.code}"  # too big to send: the phone gives up, the door aborts
        response = phone.receive_response(exchange(record))
    except ProtocolError as error:
        return error.code
    finally:
        link.close()
    return response.result


def assert_clean(door: DoorFirmware, code: str, seq_before: int) -> None:
    """A known code, never an internal error; a refusal is in the door's signed log."""
    if code.startswith("phone:"):
        code = "aborted"  # the phone never sent it; the door logs the dropped session
    assert is_known_code(code) or code == "ok", code
    assert code != "internal_error"
    if code != "ok":
        new = [e.event for e in door.events if e.event.seq >= seq_before]
        refused = [e.reason for e in new if e.kind is EventKind.REFUSED]
        assert code in refused, (code, refused)


def assert_usable(bed: Testbed, door: DoorFirmware) -> None:
    """A legitimate phone, with a credential and proof for the door's own time, opens."""
    door.state = DoorState.LOCKED
    signer = DeviceKey.generate()
    credential = legit_credential(bed, door, signer)
    code = run_session(bed, door, signer, credential, freshness=legit_freshness(bed, door, signer))
    assert code == "ok"
    assert door.state is DoorState.UNLOCKED


def attack(
    *,
    credential: object = None,
    time_token: object = None,
    denylist: object = None,
    freshness: object = None,
) -> None:
    bed, door = world()
    signer = DeviceKey.generate()
    raw_credential = (
        legit_credential(bed, door, signer)
        if credential is None
        else signed(bed, fill(credential, b"", signer))
    )
    proof = (
        legit_freshness(bed, door, signer)
        if freshness is None
        else signed(bed, fill(freshness, b"", signer))
    )
    token: TokenFor | None = None
    if time_token is not None:

        def token(nonce: bytes) -> bytes:
            return signed(bed, fill(time_token, nonce, signer))

    update = None if denylist is None else signed(bed, denylist)
    seq = door.flash.chain.next_seq
    code = run_session(
        bed, door, signer, raw_credential, freshness=proof, time_token=token, denylist_update=update
    )
    assert_clean(door, code, seq)
    assert_usable(bed, door)


# --- the fuzz tests ------------------------------------------------------------------------------


@FUZZ
@given(credential_claims())
def test_signed_hostile_credential(claims: dict[int, object]) -> None:
    attack(credential=claims)


@FUZZ
@given(time_token_claims())
def test_signed_hostile_time_token(claims: dict[int, object]) -> None:
    attack(time_token=claims)


@FUZZ
@given(denylist_claims())
def test_signed_hostile_denylist(claims: dict[int, object]) -> None:
    attack(denylist=claims)


@FUZZ
@given(freshness_claims())
def test_signed_hostile_freshness(claims: dict[int, object]) -> None:
    attack(freshness=claims)


@FUZZ
@given(credential_claims(), time_token_claims(), denylist_claims(), freshness_claims())
def test_signed_hostile_everything_at_once(
    credential: dict[int, object],
    time_token: dict[int, object],
    denylist: dict[int, object],
    freshness: dict[int, object],
) -> None:
    attack(credential=credential, time_token=time_token, denylist=denylist, freshness=freshness)


# --- the three regressions of issue 13 -----------------------------------------------------------


def test_denylist_version_above_u32_is_malformed_and_later_hellos_work() -> None:
    """(1) A signed snapshot at version 2**32 used to be accepted; every later DOOR_HELLO then
    failed to pack the status (u32). Now it is ``malformed`` and the door stays usable."""
    bed, door = world()
    update = signed(bed, {1: ISSUER, 6: NOW, CLAIM_DENYLIST: {1: 2**32, 3: b""}})
    signer = DeviceKey.generate()
    seq = door.flash.chain.next_seq
    code = run_session(
        bed,
        door,
        signer,
        legit_credential(bed, door, signer),
        freshness=legit_freshness(bed, door, signer),
        denylist_update=update,
    )
    assert code == "malformed"
    assert_clean(door, code, seq)
    assert door.denylist.version == 0
    assert_usable(bed, door)


@pytest.mark.parametrize("when", [TIME_LIMIT, 2**40 - 1])
@pytest.mark.parametrize("what", ["time_token", "freshness", "denylist", "credential"])
def test_times_past_year_9999_are_malformed(what: str, when: int) -> None:
    """(2) ``iat``/``exp``/``nbf`` up to 2**40 passed the decoders, and ``fromtimestamp`` then
    raised out of the packet handler. Now they are ``malformed``."""
    bed, door = world()
    signer = DeviceKey.generate()
    credential = legit_credential(bed, door, signer)
    proof = legit_freshness(bed, door, signer)
    token: TokenFor | None = None
    update = None
    if what == "time_token":

        def token(nonce: bytes) -> bytes:
            return signed(bed, {1: ISSUER, 6: when, CLAIM_TIME: {1: DOOR, 2: nonce}})

    elif what == "freshness":
        claims = {1: ISSUER, 4: when, 6: when - 60, CLAIM_FRESHNESS: {1: KEY_ID, 2: 0}}
        proof = signed(bed, fill(claims, b"", signer))
    elif what == "denylist":
        update = signed(bed, {1: ISSUER, 6: when, CLAIM_DENYLIST: {1: 1, 3: b""}})
    else:
        claims = cbor.loads(parse_sign1(credential, max_bytes=1024).payload, max_depth=8)
        assert isinstance(claims, dict)
        claims[4], claims[5] = when, when - 60
        credential = signed(bed, claims)
    seq = door.flash.chain.next_seq
    code = run_session(
        bed, door, signer, credential, freshness=proof, time_token=token, denylist_update=update
    )
    assert code == "malformed"
    assert_clean(door, code, seq)
    assert_usable(bed, door)


def test_door_clock_at_the_end_of_the_calendar_opens_and_then_refuses_cleanly() -> None:
    """(3) A door whose clock stands minutes before the end of year 9999 used to overflow
    (``expires + tolerance``, the window check on the Copenhagen wall clock, the crystal
    itself). Now it opens for a credential valid then, and, once its crystal runs past the
    end, stops at the last instant and refuses with ``expired``."""
    bed, door = world()
    end = dt.datetime(9999, 12, 31, 23, 30, tzinfo=dt.UTC)
    door.clock.set(end)
    door.flash.last_token_time = end
    signer = DeviceKey.generate()
    every_day = [TimeWindow(d, 0, 1440) for d in range(7)]
    credential = legit_credential(
        bed, door, signer, dt.timedelta(minutes=15), windows=every_day, time_zone=ZONE
    )
    assert (
        run_session(bed, door, signer, credential, freshness=legit_freshness(bed, door, signer))
        == "ok"
    )
    bed.clock.advance(dt.timedelta(hours=2))
    assert door.clock.now() == END_OF_TIME
    door.state = DoorState.LOCKED
    seq = door.flash.chain.next_seq
    code = run_session(bed, door, signer, credential, freshness=legit_freshness(bed, door, signer))
    assert code == "expired"
    assert_clean(door, code, seq)
    assert_usable(bed, door)


def test_time_token_issuing_refuses_what_a_door_refuses() -> None:
    bed, _ = world()
    with pytest.raises(ProtocolError):
        issue_time_token(issuer_key=bed.issuer_key, now=dt.datetime(1969, 12, 31, tzinfo=dt.UTC))


def test_an_exception_inside_packet_handling_is_a_logged_internal_error(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """(b) Whatever a bug raises while the door handles a message becomes a clean refusal
    (``internal_error``, in the signed log), the session is dropped and the door stays usable."""
    import carekey.devices.firmware as firmware

    bed, door = world()
    signer = DeviceKey.generate()

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(firmware, "verify_credential", broken)
    seq = door.flash.chain.next_seq
    code = run_session(
        bed,
        door,
        signer,
        legit_credential(bed, door, signer),
        freshness=legit_freshness(bed, door, signer),
    )
    assert code == "internal_error"
    assert "internal error in packet handling" in caplog.text
    refused = [e.event.reason for e in door.events if e.event.seq >= seq]
    assert refused == ["internal_error"]
    assert door.state is DoorState.LOCKED
    monkeypatch.undo()
    assert_usable(bed, door)
