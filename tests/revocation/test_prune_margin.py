"""A denylist entry outlives the credentials it blocks by every door's clock tolerance."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session

from carekey.domain import enums as e
from carekey.keyservice.credentials import subject_of
from carekey.protocol import credential as cred
from carekey.protocol.denylist import DenylistState
from carekey.protocol.errors import ProtocolError
from carekey.protocol.keys import DevicePublicKey, IssuerKey, IssuerKeyring
from carekey.revocation import denylist as dl
from carekey.revocation import service as revocation
from tests.dashboard.place import NOW, add_credential, add_phone, make_place

ISSUER = IssuerKey.generate("0101")
KEYRING = IssuerKeyring.of([ISSUER.public])
DOOR = b"HL-0101-000001"


def _credential(phone_key: bytes, employee_id: int, expires: dt.datetime) -> bytes:
    return cred.issue_credential(
        issuer_key=ISSUER,
        subject=subject_of(employee_id),
        subject_type=cred.SubjectType.EMPLOYEE,
        device_key=DevicePublicKey(phone_key),
        kinds=cred.DoorKind.HOME,
        not_before=expires - dt.timedelta(hours=8),
        expires=expires,
        serial=1,
        denylist_version=0,
        doors=[DOOR],
    )


def _slow_door(key: bytes, now: dt.datetime, denylist: DenylistState | None) -> None:
    """The decision of a door that applies a 20-minute clock tolerance."""
    cred.verify_credential(
        key,
        keyring=KEYRING,
        door_id=DOOR,
        door_kind=cred.DoorKind.HOME,
        now=now,
        clock_tolerance=dt.timedelta(minutes=20),
        denylist=denylist,
    )


def test_an_entry_is_kept_past_expiry_so_a_door_with_a_slow_clock_still_refuses(
    session: Session,
) -> None:
    p = make_place(session)
    phone = add_phone(session, p.worker, "TLF-1")
    expires = NOW + dt.timedelta(hours=1)
    add_credential(session, p.worker, [p.world.home_lock], expires_at=expires, phone=phone)
    assert phone.public_key is not None
    blocked = revocation.block_phone(
        session, actor=p.admin, phone_id=phone.id, reason="tabt", lost=True, now=NOW
    )
    assert blocked.denylist_version is not None
    municipality_id = p.world.municipality.id

    # Ten minutes after the credential expired, the snapshot still carries the phone's entry.
    at = expires + dt.timedelta(minutes=10)
    live = dl.live_entries(session, municipality_id=municipality_id, now=at)
    assert [x.kind for x in live] == [e.DenylistEntryKind.DEVICE]
    [piece] = dl.sign_pieces(
        session,
        municipality_id=municipality_id,
        version=blocked.denylist_version,
        issuer_key=ISSUER,
        now=at,
    )
    state = DenylistState().apply(piece.data, keyring=KEYRING)
    key = _credential(phone.public_key, p.worker.id, expires)
    # A door whose clock is 20 minutes behind still takes the credential on its own...
    _slow_door(key, at, None)
    # ...so the denylist must still block it there.
    with pytest.raises(ProtocolError) as refused:
        _slow_door(key, at, state)
    assert refused.value.code == "denylisted"

    # Past every door's tolerance the entry is dropped: the list stays small.
    gone = expires + dl.PRUNE_MARGIN + dt.timedelta(seconds=1)
    assert dl.live_entries(session, municipality_id=municipality_id, now=gone) == []
