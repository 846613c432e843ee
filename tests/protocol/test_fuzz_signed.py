"""Hostile but well-signed values at the decoders (issue 13): whatever an issuer signs, a decoder
returns an object inside the documented ranges (times before year 10000, denylist versions below
2**32) or refuses with a protocol code; it never raises anything else. The issuers never sign
what the decoders refuse. The door-level fuzz is in ``tests/devices/test_fuzz_signed_door.py``.
"""

from __future__ import annotations

import datetime as dt
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from carekey.clock import FrozenClock
from carekey.devices.hardware import END_OF_TIME, DoorClock
from carekey.protocol import cbor
from carekey.protocol.denylist import (
    CLAIM_DENYLIST,
    decode_denylist_update,
    issue_denylist_delta,
    issue_denylist_pieces,
    issue_denylist_snapshot,
)
from carekey.protocol.errors import ProtocolError
from carekey.protocol.freshness import CLAIM_FRESHNESS, decode_freshness, issue_freshness
from carekey.protocol.keys import IssuerKey, IssuerKeyring, sign1
from carekey.protocol.limits import DENYLIST_VERSION_LIMIT, TIME_LIMIT
from carekey.protocol.session import DoorStatus, StatusFlag
from carekey.protocol.timetoken import CLAIM_TIME, decode_time_token, issue_time_token
from carekey.protocol.windows import TimeWindow, is_within, load_time_zone

KEY = IssuerKey.generate("101")
KEYRING = IssuerKeyring.of([KEY.public])
FUZZ = settings(
    max_examples=int(os.environ.get("CAREKEY_FUZZ_EXAMPLES", "60")),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
EDGES = [0, 1, TIME_LIMIT - 1, TIME_LIMIT, 2**32 - 1, 2**32, 2**40 - 1, 2**63 - 1, 2**64 - 1]
uints = st.one_of(st.sampled_from(EDGES), st.integers(0, 2**64 - 1))
LAST = dt.datetime.fromtimestamp(TIME_LIMIT - 1, dt.UTC)


def signed(claims: object) -> bytes:
    return sign1(cbor.dumps(claims), KEY.signer)


def in_range(when: dt.datetime) -> bool:
    return 0 <= when.timestamp() < TIME_LIMIT


@FUZZ
@given(uints, st.dictionaries(st.sampled_from([1, 2]), st.binary(max_size=40), max_size=2))
def test_time_token_decoder(iat: int, body: dict[int, bytes]) -> None:
    try:
        token = decode_time_token(signed({1: "101", 6: iat, CLAIM_TIME: body}), keyring=KEYRING)
    except ProtocolError:
        assert iat >= TIME_LIMIT or body
        return
    assert in_range(token.time)


@FUZZ
@given(uints, uints, uints)
def test_freshness_decoder(iat: int, exp: int, version: int) -> None:
    claims = {1: "101", 4: exp, 6: iat, CLAIM_FRESHNESS: {1: bytes(16), 2: version}}
    try:
        proof = decode_freshness(signed(claims), keyring=KEYRING)
    except ProtocolError:
        return
    assert in_range(proof.issued_at)
    assert in_range(proof.expires)
    assert proof.denylist_version < DENYLIST_VERSION_LIMIT


@FUZZ
@given(uints, uints, st.one_of(st.none(), uints), st.one_of(st.none(), st.tuples(uints, uints)))
def test_denylist_decoder(
    iat: int, version: int, base: int | None, span: tuple[int, int] | None
) -> None:
    body: dict[int, object] = {1: version, 3: b""}
    if base is not None:
        body[2], body[4] = base, b""
    elif span is not None:
        body[5], body[6] = span
    try:
        update = decode_denylist_update(
            signed({1: "101", 6: iat, CLAIM_DENYLIST: body}), keyring=KEYRING
        )
    except ProtocolError:
        return
    assert in_range(update.issued_at)
    assert 0 < update.version < DENYLIST_VERSION_LIMIT
    # The door status that carries the version packs it (it used to overflow the u32).
    DoorStatus(StatusFlag.NONE, 100, update.version, 0).encode()


@pytest.mark.parametrize("version", [DENYLIST_VERSION_LIMIT - 1, DENYLIST_VERSION_LIMIT])
def test_denylist_version_limit_at_the_decoder(version: int) -> None:
    data = signed({1: "101", 6: 0, CLAIM_DENYLIST: {1: version, 3: b""}})
    if version < DENYLIST_VERSION_LIMIT:
        assert decode_denylist_update(data, keyring=KEYRING).version == version
    else:
        with pytest.raises(ProtocolError) as error:
            decode_denylist_update(data, keyring=KEYRING)
        assert error.value.code == "malformed"


@pytest.mark.parametrize("iat", [TIME_LIMIT - 1, TIME_LIMIT, 2**40 - 1])
def test_time_limit_at_every_decoder(iat: int) -> None:
    """(2) on the decoders: year 10000 and later used to pass and crash ``fromtimestamp``."""
    objects = [
        (decode_time_token, {1: "101", 6: iat, CLAIM_TIME: {}}),
        (decode_denylist_update, {1: "101", 6: iat, CLAIM_DENYLIST: {1: 1, 3: b""}}),
        (decode_freshness, {1: "101", 4: iat, 6: iat - 1, CLAIM_FRESHNESS: {1: bytes(16), 2: 0}}),
    ]
    for decode, claims in objects:
        if iat < TIME_LIMIT:
            decode(signed(claims), keyring=KEYRING)
        else:
            with pytest.raises(ProtocolError) as error:
                decode(signed(claims), keyring=KEYRING)
            assert error.value.code == "malformed"


def test_issuers_never_sign_what_doors_refuse() -> None:
    with pytest.raises(ProtocolError):
        issue_denylist_snapshot(issuer_key=KEY, version=2**32, entries=[], now=LAST)
    with pytest.raises(ProtocolError):
        issue_denylist_pieces(issuer_key=KEY, version=2**32, entries=[], now=LAST)
    with pytest.raises(ProtocolError):
        issue_denylist_delta(issuer_key=KEY, base_version=1, version=2**32, added=[], now=LAST)
    with pytest.raises(ProtocolError):
        issue_freshness(issuer_key=KEY, device_key_id=bytes(16), denylist_version=2**32, now=LAST)
    with pytest.raises(ProtocolError):  # iat fits, exp would be in year 10000
        issue_freshness(issuer_key=KEY, device_key_id=bytes(16), denylist_version=0, now=LAST)
    before_epoch = dt.datetime(1969, 12, 31, tzinfo=dt.UTC)
    with pytest.raises(ProtocolError):
        issue_time_token(issuer_key=KEY, now=before_epoch)
    with pytest.raises(ProtocolError):
        issue_denylist_snapshot(issuer_key=KEY, version=1, entries=[], now=before_epoch)
    # The last representable second is still fine.
    decode_time_token(issue_time_token(issuer_key=KEY, now=LAST), keyring=KEYRING)
    snapshot = issue_denylist_snapshot(issuer_key=KEY, version=2**32 - 1, entries=[], now=LAST)
    assert decode_denylist_update(snapshot, keyring=KEYRING).version == 2**32 - 1


def test_windows_and_crystal_at_the_end_of_the_calendar() -> None:
    """(3) The wall clock east of UTC in the last hour of 9999 is in year 10000."""
    every_day = [TimeWindow(d, 0, 1440) for d in range(7)]
    zone = load_time_zone("Europe/Copenhagen")
    assert is_within(every_day, END_OF_TIME, zone, dt.timedelta(minutes=30))
    friday_evening = [TimeWindow(4, 23 * 60, 24 * 60)]  # 9999-12-31 is a Friday
    assert is_within(friday_evening, dt.datetime(9999, 12, 31, 22, 30, tzinfo=dt.UTC), zone)
    assert not is_within(friday_evening, dt.datetime(9999, 12, 31, 21, 30, tzinfo=dt.UTC), zone)
    true = FrozenClock(dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    clock = DoorClock(true, drift_ppm=20.0)
    clock.set(END_OF_TIME - dt.timedelta(seconds=1))
    true.advance(dt.timedelta(days=3))
    assert clock.now() == END_OF_TIME
