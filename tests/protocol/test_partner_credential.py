"""The partner issuer key at the protocol level: ``verify_credential``/``decode_credential`` with a
``partner_keyring`` (see ``carekey.protocol.partner``).

A partner key may sign a partner's entrance/gate credential and nothing else: not an employee's,
not one with rights, not one naming the home kind (plain, bundle union or leaf). Without a
partner keyring (every existing caller, every home lock) its signature is an unknown key.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from carekey.protocol import cbor
from carekey.protocol.credential import (
    CLAIM_CAREKEY,
    BundleLeaf,
    Credential,
    DoorKind,
    Right,
    SubjectType,
    decode_credential,
    issue_bundle,
    issue_credential,
    present_bundle,
    verify_credential,
)
from carekey.protocol.errors import MESSAGES, ProtocolError
from carekey.protocol.keys import (
    DeviceKey,
    IssuerKey,
    IssuerKeyring,
    IssuerPublicKey,
    parse_sign1,
    sign1,
)
from carekey.protocol.windows import TimeWindow

ISSUER = IssuerKey.from_seed("101", bytes(range(32)))
PARTNER = IssuerKey.from_seed("101", bytes(range(2, 34)))
KEYRING = IssuerKeyring.of([ISSUER.public])
PARTNERS = IssuerKeyring.of([PARTNER.public])
DEVICE = DeviceKey.from_scalar(0xC0FFEE)
ENTRANCE_ID = uuid.UUID(int=21).bytes
GATE_ID = uuid.UUID(int=22).bytes
HOME_ID = uuid.UUID(int=23).bytes
START = datetime(2026, 6, 1, 6, 0, tzinfo=UTC)  # Monday 08:00 in Copenhagen (CEST)
END = START + timedelta(hours=8)
NO_SLACK = timedelta(0)
US = timedelta(microseconds=1)
MISUSE = "partner_issuer_misuse"


def issue(**overrides: Any) -> bytes:
    """A partner's entrance key signed by the partner key, unless overridden."""
    args: dict[str, Any] = {
        "issuer_key": PARTNER,
        "subject": "post-17",
        "subject_type": SubjectType.PARTNER,
        "device_key": DEVICE.public,
        "kinds": [DoorKind.ENTRANCE, DoorKind.GATE],
        "not_before": START,
        "expires": END,
        "serial": 1,
        "denylist_version": 0,
        "doors": [ENTRANCE_ID, GATE_ID],
    }
    args.update(overrides)
    return issue_credential(**args)


def verify(data: bytes, **overrides: Any) -> Credential:
    args: dict[str, Any] = {
        "keyring": KEYRING,
        "partner_keyring": PARTNERS,
        "door_id": ENTRANCE_ID,
        "door_kind": DoorKind.ENTRANCE,
        "now": START + timedelta(hours=1),
        "clock_tolerance": NO_SLACK,
    }
    args.update(overrides)
    return verify_credential(data, **args)


def refusal(call: Callable[[], object]) -> str:
    with pytest.raises(ProtocolError) as caught:
        call()
    return caught.value.code


def resign(data: bytes, change: Callable[[dict[Any, Any]], None], key: IssuerKey) -> bytes:
    """Decode the claims, let ``change`` edit them, and sign them again with ``key`` (what a
    forger holding the partner key, or a server bug, could sign)."""
    claims = cbor.loads(parse_sign1(data, max_bytes=1024).payload)
    assert isinstance(claims, dict)
    change(claims)
    return sign1(cbor.dumps(claims), key.signer)


def test_the_refusal_code_has_danish_and_english_text() -> None:
    da, en = MESSAGES[MISUSE]
    assert "partner" in da.lower()
    assert "partner" in en.lower()
    assert "not_supported" in MESSAGES


def test_a_partner_credential_verifies_with_the_partner_keyring_only() -> None:
    raw = issue()
    credential = verify(raw)
    assert credential.partner_issued
    assert credential.subject_type is SubjectType.PARTNER
    assert credential.issuer_kid == PARTNER.kid
    assert verify(raw, door_id=GATE_ID, door_kind=DoorKind.GATE).partner_issued
    assert decode_credential(raw, keyring=KEYRING, partner_keyring=PARTNERS).partner_issued
    # The default (no partner keyring) is what every existing caller and every home lock gets.
    assert refusal(lambda: verify(raw, partner_keyring=None)) == "unknown_issuer_key"
    assert refusal(lambda: decode_credential(raw, keyring=KEYRING)) == "unknown_issuer_key"
    # An employee's credential signed by the issuer key is untouched by the partner keyring.
    employee = issue(issuer_key=ISSUER, subject="emp-1", subject_type=SubjectType.EMPLOYEE)
    assert not verify(employee).partner_issued


def test_the_partner_keyring_never_opens_a_home_door() -> None:
    """Even a caller that hands the partner keyring to a home door's check gets no opening: a
    partner key's credential names entrances and gates only, never the home door's kind."""
    raw = issue(doors=[HOME_ID])
    code = refusal(lambda: verify(raw, door_id=HOME_ID, door_kind=DoorKind.HOME))
    assert code == "wrong_kind"


def _partner_home(claims: dict[Any, Any]) -> None:
    claims[CLAIM_CAREKEY][3] = 1 | 2  # home | entrance


def _partner_home_only(claims: dict[Any, Any]) -> None:
    claims[CLAIM_CAREKEY][3] = 1


def _employee(claims: dict[Any, Any]) -> None:
    claims[CLAIM_CAREKEY][4] = 0


def _rights(bits: int) -> Callable[[dict[Any, Any]], None]:
    def change(claims: dict[Any, Any]) -> None:
        claims[CLAIM_CAREKEY][9] = bits

    return change


@pytest.mark.parametrize(
    "change",
    [_employee, _rights(1), _rights(2), _rights(3), _partner_home, _partner_home_only],
    ids=["employee", "admin", "installer", "admin+installer", "home+entrance", "home"],
)
def test_a_partner_key_signs_nothing_but_a_partners_stairwell_key(
    change: Callable[[dict[Any, Any]], None],
) -> None:
    raw = resign(issue(), change, PARTNER)
    assert refusal(lambda: verify(raw)) == MISUSE
    assert refusal(lambda: decode_credential(raw, keyring=KEYRING, partner_keyring=PARTNERS)) == (
        MISUSE
    )
    # The same claims signed by the issuer key are no partner-key matter (whatever else the door
    # then says about them).
    same = resign(issue(), change, ISSUER)
    assert decode_credential(same, keyring=KEYRING, partner_keyring=PARTNERS).partner_issued is (
        False
    )


@pytest.mark.parametrize(
    ("subject_type", "kinds", "rights"),
    [
        (SubjectType.EMPLOYEE, [DoorKind.ENTRANCE], []),
        (SubjectType.EMPLOYEE, [DoorKind.HOME], []),
        (SubjectType.PARTNER, [DoorKind.ENTRANCE], [Right.ADMIN]),
        (SubjectType.PARTNER, [DoorKind.GATE], [Right.INSTALLER]),
    ],
    ids=["employee-entrance", "employee-home", "partner-admin", "partner-installer"],
)
def test_what_the_issuer_function_would_sign_with_a_partner_key_is_refused(
    subject_type: SubjectType, kinds: list[DoorKind], rights: list[Right]
) -> None:
    """``issue_credential`` does not know which key is a partner key; the door does."""
    raw = issue(subject_type=subject_type, kinds=kinds, rights=rights, subject="x-1")
    assert refusal(lambda: verify(raw)) == MISUSE


def test_a_kid_in_both_keyrings_is_refused() -> None:
    both = IssuerKeyring.of([PARTNER.public, ISSUER.public])
    partner_raw = issue()
    employee_raw = issue(issuer_key=ISSUER, subject="emp-1", subject_type=SubjectType.EMPLOYEE)
    assert refusal(lambda: verify(partner_raw, keyring=both)) == MISUSE
    assert refusal(lambda: verify(employee_raw, partner_keyring=both)) == MISUSE
    code = refusal(lambda: decode_credential(employee_raw, keyring=KEYRING, partner_keyring=both))
    assert code == MISUSE


def test_unknown_retired_and_wrong_issuer_partner_keys() -> None:
    raw = issue()
    other = IssuerKeyring.of([IssuerKey.from_seed("101", bytes(range(3, 35))).public])
    assert refusal(lambda: verify(raw, partner_keyring=other)) == "unknown_issuer_key"
    retired = PARTNERS.with_retired(PARTNER.kid)
    assert refusal(lambda: verify(raw, partner_keyring=retired)) == "retired_issuer_key"
    elsewhere = IssuerKeyring.of([IssuerPublicKey("147", PARTNER.public.key)])
    assert refusal(lambda: verify(raw, partner_keyring=elsewhere)) == "wrong_issuer"
    tampered = bytearray(raw)
    tampered[-1] ^= 1
    assert refusal(lambda: verify(bytes(tampered))) == "bad_signature"


# --- bundles: the same path (``_decode_presentation``) ------------------------------------------

STAIRS = [BundleLeaf.of(ENTRANCE_ID, DoorKind.ENTRANCE), BundleLeaf.of(GATE_ID, DoorKind.GATE)]


def bundle(leaves: list[BundleLeaf], **overrides: Any) -> bytes:
    args: dict[str, Any] = {
        "issuer_key": PARTNER,
        "subject": "post-17",
        "subject_type": SubjectType.PARTNER,
        "device_key": DEVICE.public,
        "leaves": leaves,
        "not_before": START,
        "expires": END,
        "serial": 1,
        "denylist_version": 0,
    }
    args.update(overrides)
    return issue_bundle(**args)


def test_a_partner_bundle_opens_its_stairwells_through_the_partner_keyring() -> None:
    raw = bundle(STAIRS)
    presented = present_bundle(raw, STAIRS, ENTRANCE_ID)
    credential = verify(presented)
    assert credential.partner_issued
    assert credential.leaf_index == 0
    gate = present_bundle(raw, STAIRS, GATE_ID)
    assert verify(gate, door_id=GATE_ID, door_kind=DoorKind.GATE).partner_issued
    assert refusal(lambda: verify(presented, partner_keyring=None)) == "unknown_issuer_key"


def test_a_partner_key_bundle_with_a_home_leaf_or_of_an_employee_is_refused() -> None:
    with_home = [*STAIRS, BundleLeaf.of(HOME_ID, DoorKind.HOME)]
    # An employee's shift bundle signed by the partner key: refused at every leaf.
    employee = bundle(with_home, subject_type=SubjectType.EMPLOYEE, subject="emp-1")
    for door_id in (ENTRANCE_ID, GATE_ID, HOME_ID):
        presented = present_bundle(employee, with_home, door_id)
        assert refusal(functools.partial(verify, presented)) == MISUSE
    # A partner bundle holding a home leaf (issue_bundle refuses it; forged by re-signing):
    # refused even where the presented leaf is the entrance.
    forged = resign(employee, lambda c: c[CLAIM_CAREKEY].__setitem__(4, 1), PARTNER)
    for door_id in (ENTRANCE_ID, HOME_ID):
        presented = present_bundle(forged, with_home, door_id)
        assert refusal(functools.partial(verify, presented)) == MISUSE
    # An employee's bundle of stairwells only, signed by the partner key: the subject type.
    stairs_employee = bundle(STAIRS, subject_type=SubjectType.EMPLOYEE, subject="emp-2")
    presented = present_bundle(stairs_employee, STAIRS, ENTRANCE_ID)
    assert refusal(lambda: verify(presented)) == MISUSE


# --- windows at zero tolerance: start inclusive, end exclusive ---------------------------------

WINDOW = TimeWindow.of(0, "08:30", "10:00")  # Monday, Copenhagen wall clock (CEST in June)
OPENS = START + timedelta(minutes=30)  # 06:30 UTC
CLOSES = START + timedelta(hours=2)  # 08:00 UTC


@pytest.mark.parametrize(
    ("now", "tolerance", "code"),
    [
        (OPENS - US, NO_SLACK, "outside_window"),
        (OPENS, NO_SLACK, None),
        (CLOSES - US, NO_SLACK, None),
        (CLOSES, NO_SLACK, "outside_window"),
        (OPENS - timedelta(seconds=60), timedelta(seconds=60), None),
        (OPENS - timedelta(seconds=60) - US, timedelta(seconds=60), "outside_window"),
        (CLOSES + timedelta(seconds=60) - US, timedelta(seconds=60), None),
        (CLOSES + timedelta(seconds=60), timedelta(seconds=60), "outside_window"),
    ],
    ids=[
        "start-1us",
        "start",
        "end-1us",
        "end",
        "start-tol",
        "start-tol-1us",
        "end+tol-1us",
        "end+tol",
    ],
)
def test_a_partner_window_at_its_exact_edges(
    now: datetime, tolerance: timedelta, code: str | None
) -> None:
    raw = issue(windows=[WINDOW], time_zone="Europe/Copenhagen")
    if code is None:
        assert verify(raw, now=now, clock_tolerance=tolerance).partner_issued
    else:
        assert refusal(lambda: verify(raw, now=now, clock_tolerance=tolerance)) == code
