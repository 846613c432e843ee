"""The proof of freshness: issued by the server, checked by the door with its clock tolerance."""

from __future__ import annotations

import datetime as dt

import pytest

from carekey.protocol import cbor
from carekey.protocol.errors import ProtocolError
from carekey.protocol.freshness import (
    CLAIM_FRESHNESS,
    DEFAULT_FRESHNESS_LIFETIME,
    MAX_FRESHNESS_LIFETIME,
    decode_freshness,
    issue_freshness,
    verify_freshness,
)
from carekey.protocol.keys import DeviceKey, IssuerKey, IssuerKeyring, sign1
from carekey.protocol.timetoken import issue_time_token

NOW = dt.datetime(2026, 1, 6, 9, 0, tzinfo=dt.UTC)
TOL = dt.timedelta(seconds=60)
US = dt.timedelta(microseconds=1)


@pytest.fixture
def issuer() -> IssuerKey:
    return IssuerKey.generate("101")


@pytest.fixture
def ring(issuer: IssuerKey) -> IssuerKeyring:
    return IssuerKeyring.of([issuer.public])


def _proof(issuer: IssuerKey, key_id: bytes, **kw: object) -> bytes:
    return issue_freshness(
        issuer_key=issuer, device_key_id=key_id, denylist_version=7, now=NOW, **kw
    )  # type: ignore[arg-type]


def test_a_live_proof_for_the_phone_is_accepted(issuer: IssuerKey, ring: IssuerKeyring) -> None:
    key_id = DeviceKey.generate().public.key_id
    proof = verify_freshness(
        _proof(issuer, key_id),
        keyring=ring,
        device_key_id=key_id,
        now=NOW + dt.timedelta(minutes=30),
        clock_tolerance=TOL,
    )
    assert proof.device_key_id == key_id
    assert proof.denylist_version == 7
    assert proof.expires - proof.issued_at == DEFAULT_FRESHNESS_LIFETIME


def test_expiry_and_start_boundaries_with_the_tolerance(
    issuer: IssuerKey, ring: IssuerKeyring
) -> None:
    key_id = DeviceKey.generate().public.key_id
    raw = _proof(issuer, key_id)
    end = NOW + DEFAULT_FRESHNESS_LIFETIME + TOL

    def check(at: dt.datetime) -> None:
        verify_freshness(raw, keyring=ring, device_key_id=key_id, now=at, clock_tolerance=TOL)

    check(end - US)
    with pytest.raises(ProtocolError) as caught:
        check(end)
    assert caught.value.code == "freshness_expired"
    check(NOW - TOL)
    with pytest.raises(ProtocolError) as caught:
        check(NOW - TOL - US)
    assert caught.value.code == "freshness_not_yet_valid"
    with pytest.raises(ProtocolError) as caught:
        verify_freshness(raw, keyring=ring, device_key_id=key_id, now=None, clock_tolerance=TOL)
    assert caught.value.code == "time_unknown"


def test_missing_wrong_phone_forged_or_another_object_is_refused(
    issuer: IssuerKey, ring: IssuerKeyring
) -> None:
    key_id = DeviceKey.generate().public.key_id
    other = DeviceKey.generate().public.key_id

    def code(raw: bytes | None, device: bytes = key_id) -> str:
        with pytest.raises(ProtocolError) as caught:
            verify_freshness(raw, keyring=ring, device_key_id=device, now=NOW, clock_tolerance=TOL)
        return caught.value.code

    assert code(None) == "freshness_missing"
    assert code(_proof(issuer, other)) == "freshness_wrong_phone"
    assert code(_proof(IssuerKey.generate("101"), key_id)) == "unknown_issuer_key"
    raw = bytearray(_proof(issuer, key_id))
    raw[-70] ^= 1
    assert code(bytes(raw)) in {"bad_signature", "malformed"}
    assert code(issue_time_token(issuer_key=issuer, now=NOW)) == "malformed"


def test_a_proof_longer_than_the_door_allows_is_refused(
    issuer: IssuerKey, ring: IssuerKeyring
) -> None:
    key_id = DeviceKey.generate().public.key_id
    with pytest.raises(ProtocolError) as caught:
        _proof(issuer, key_id, lifetime=MAX_FRESHNESS_LIFETIME + dt.timedelta(seconds=1))
    assert caught.value.code == "freshness_too_long"
    iat = int(NOW.timestamp())
    claims = {
        1: "101",
        4: iat + int(MAX_FRESHNESS_LIFETIME.total_seconds()) + 1,
        6: iat,
        CLAIM_FRESHNESS: {1: key_id, 2: 0},
    }
    forged_by_a_wrong_server = sign1(cbor.dumps(claims), issuer.signer)
    with pytest.raises(ProtocolError) as caught:
        decode_freshness(forged_by_a_wrong_server, keyring=ring)
    assert caught.value.code == "freshness_too_long"
    claims[4] = iat  # exp not after iat
    with pytest.raises(ProtocolError) as caught:
        decode_freshness(sign1(cbor.dumps(claims), issuer.signer), keyring=ring)
    assert caught.value.code == "malformed"
