"""Our credentials, time tokens and denylists verify with an independent COSE/CWT library."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import cwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cwt import COSE, COSEKey

from carekey.protocol.credential import (
    CLAIM_CAREKEY,
    DoorKind,
    SubjectType,
    issue_credential,
    verify_credential,
)
from carekey.protocol.keys import DeviceKey, IssuerKey, IssuerKeyring
from carekey.protocol.timetoken import issue_time_token
from carekey.protocol.windows import TimeWindow

ISSUER = IssuerKey.generate("101")
DEVICE = DeviceKey.generate()
DOOR = b"door-0001"


def cose_key(issuer: IssuerKey) -> Any:
    # OKP (1), Ed25519 (6), EdDSA (-8), with our kid.
    return COSEKey.new({1: 1, -1: 6, -2: issuer.public.key.raw, 3: -8, 2: issuer.kid})


def fresh_credential() -> tuple[bytes, datetime]:
    # python-cwt checks exp/nbf against the real clock, so this test issues for "now".
    now = datetime.now(UTC).replace(microsecond=0)
    data = issue_credential(
        issuer_key=ISSUER,
        subject="emp-4711",
        subject_type=SubjectType.EMPLOYEE,
        device_key=DEVICE.public,
        kinds=[DoorKind.HOME, DoorKind.ENTRANCE],
        not_before=now - timedelta(minutes=5),
        expires=now + timedelta(hours=8),
        serial=12,
        denylist_version=3,
        doors=[DOOR],
        windows=[TimeWindow(d, 0, 1440) for d in range(7)],
        time_zone="Europe/Copenhagen",
        credential_id=bytes(range(16)),
    )
    return data, now


def test_python_cwt_verifies_our_credential_and_reads_the_claims() -> None:
    data, now = fresh_credential()
    claims = cwt.decode(data, keys=cose_key(ISSUER))
    assert isinstance(claims, dict)
    assert claims[1] == "101"
    assert claims[2] == "emp-4711"
    assert claims[7] == bytes(range(16))
    assert claims[4] - claims[5] == 8 * 3600 + 300
    assert claims[CLAIM_CAREKEY][1] == [DOOR]
    assert verify_credential(
        data,
        keyring=IssuerKeyring.of([ISSUER.public]),
        door_id=DOOR,
        door_kind=DoorKind.HOME,
        now=now,
        clock_tolerance=timedelta(0),
    )


def test_cnf_key_is_a_valid_compressed_cose_key() -> None:
    data, _ = fresh_credential()
    claims = cwt.decode(data, keys=cose_key(ISSUER))
    assert isinstance(claims, dict)
    key = claims[8][1]
    assert key[1] == 2
    assert key[-1] == 1
    point = bytes([3 if key[-3] else 2]) + key[-2]
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    assert public.public_numbers() == DEVICE.private.public_key().public_numbers()


def test_python_cwt_rejects_a_tampered_credential() -> None:
    data, _ = fresh_credential()
    tampered = bytearray(data)
    tampered[-70] ^= 0x01  # inside the payload, just before the signature
    with pytest.raises(cwt.VerifyError):
        cwt.decode(bytes(tampered), keys=cose_key(ISSUER))
    impostor = IssuerKey.generate("101").public.key.raw
    same_kid = COSEKey.new({1: 1, -1: 6, -2: impostor, 3: -8, 2: ISSUER.kid})
    with pytest.raises(cwt.VerifyError):
        cwt.decode(data, keys=same_kid)


def test_python_cwt_cose_layer_verifies_a_time_token() -> None:
    now = datetime.now(UTC)
    token = issue_time_token(issuer_key=ISSUER, now=now, door_id=DOOR)
    payload = COSE.new().decode(token, keys=cose_key(ISSUER))
    assert isinstance(payload, bytes)
