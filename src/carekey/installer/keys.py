"""Installer keys (issue 16): a plain credential with the admin and installer rights for the
one door of an open work order assigned to the installer, bound to their phone's device key.

Valid from now until the order's window ends (``ORDER_WINDOW`` after the time it is scheduled
for; an unscheduled order: the longest a credential may live), never more than
``credential.MAX_VALIDITY`` (9 hours). An install order's door is not placed yet: the installer
scans its serial, and the credential names that door (a door's protocol id is its serial). A
care worker never gets such a credential: only the ``installer`` role commissions doors, and
only for their own open orders.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy.orm import Session

from carekey.access import Actor
from carekey.domain import enums as e
from carekey.domain.errors import ConflictError, DomainError, not_found
from carekey.installer import queries as q
from carekey.installer.service import door_kind_of, open_order_for_work, order_door
from carekey.keyservice import issuer as issuer_service
from carekey.keyservice.bundle import b64
from carekey.keyservice.credentials import subject_of
from carekey.protocol import credential as cred
from carekey.protocol.errors import ProtocolError
from carekey.protocol.keys import DevicePublicKey
from carekey.protocol.timetoken import issue_time_token
from carekey.revocation import denylist as denylist_service
from carekey.store import models as m

ORDER_WINDOW: Final = dt.timedelta(hours=8)
"""How long after the time an order is scheduled for its installer may hold the door's key."""
EARLY: Final = dt.timedelta(hours=1)
"""How long before the scheduled time the key is given (the installer on the way)."""

INSTALLER_RIGHTS: Final = (cred.Right.ADMIN, cred.Right.INSTALLER)

_ANY_KIND: Final = frozenset(
    {e.WorkOrderKind.INSTALL, e.WorkOrderKind.SERVICE, e.WorkOrderKind.RESTORE}
)
_PROTO_KIND: Final = {
    e.DoorKind.HOME_LOCK: cred.DoorKind.HOME,
    e.DoorKind.ENTRANCE_CONTROLLER: cred.DoorKind.ENTRANCE,
    e.DoorKind.GATE_CONTROLLER: cred.DoorKind.GATE,
}
_CREDENTIAL_KIND: Final = {
    e.DoorKind.HOME_LOCK: e.CredentialKind.HOME,
    e.DoorKind.ENTRANCE_CONTROLLER: e.CredentialKind.ENTRANCE,
    e.DoorKind.GATE_CONTROLLER: e.CredentialKind.GATE,
}


@dataclass(frozen=True)
class InstallerCredential:
    """The signed credential and what the app shows about it."""

    order_id: int
    door_serial: str
    door_kind: e.DoorKind
    credential: bytes
    expires_at: dt.datetime
    door_public_key: bytes | None = None

    def to_json(self) -> dict[str, Any]:
        """The credential as the key app receives it."""
        return {
            "type": "installer",
            "work_order_id": self.order_id,
            "credential": b64(self.credential),
            "doors": [self.door_serial],
            "door_kind": self.door_kind.value,
            "rights": [r.value for r in INSTALLER_RIGHTS],
            "expires_at": self.expires_at.isoformat(),
            # The key the server holds for a placed door (a new one's is on its label).
            "door_public_key": b64(self.door_public_key) if self.door_public_key else None,
        }


def order_window(order: m.WorkOrder, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """When the installer may hold the order's key: around its scheduled time, else from now."""
    if order.scheduled_for is None:
        return now, now + cred.MAX_VALIDITY
    start = _aware(order.scheduled_for)
    return start - EARLY, start + ORDER_WINDOW


def installer_credential(
    db: Session,
    *,
    actor: Actor,
    phone: m.Phone,
    order_id: int,
    door_serial: str | None,
    secret: str,
    now: dt.datetime,
) -> InstallerCredential:
    """A credential with the admin and installer rights for the door of one open order assigned
    to ``actor``, bound to ``phone``'s device key. ``door_serial`` is the scanned serial of an
    install order's door (required there); for other orders it must name the order's door if
    given. Refused like the order itself (403/404/409), and 409 outside the order's window."""
    order = open_order_for_work(db, actor=actor, order_id=order_id, kinds=_ANY_KIND)
    if phone.public_key is None or phone.employee_id != actor.employee_id:
        raise ConflictError(
            "installer.phone_not_enrolled",
            "Telefonen er ikke tilmeldt til dig",
            "The phone is not enrolled to you",
        )
    door = _door_for(db, order, door_serial)
    start, end = order_window(order, now)
    expires = min(end, now + cred.MAX_VALIDITY)
    if now < start or expires <= now:
        raise ConflictError(
            "installer.outside_window",
            "Arbejdsordren er ikke planlagt til nu",
            "The work order is not scheduled for now",
        )
    kind = e.DoorKind(door.kind)
    issuer_key = issuer_service.active_issuer_key(
        db, municipality_id=order.municipality_id, secret=secret
    )
    version = denylist_service.current_version(db, municipality_id=order.municipality_id)
    credential_id = secrets.token_bytes(cred.CREDENTIAL_ID_BYTES)
    serial = int(now.timestamp() * 1000)
    not_before = now.replace(microsecond=0)
    expires = expires.replace(microsecond=0)
    data = cred.issue_credential(
        issuer_key=issuer_key,
        subject=subject_of(actor.employee_id),
        subject_type=cred.SubjectType.EMPLOYEE,
        device_key=DevicePublicKey(phone.public_key),
        kinds=_PROTO_KIND[kind],
        not_before=not_before,
        expires=expires,
        serial=serial,
        denylist_version=version,
        doors=[door.serial.encode()],
        credential_id=credential_id,
        rights=INSTALLER_RIGHTS,
    )
    # Recorded like every credential, so that blocking the phone or employee revokes it.
    db.add(
        m.IssuedCredential(
            credential_id=credential_id,
            municipality_id=order.municipality_id,
            issuer_kid=issuer_key.kid,
            subject_type=e.SubjectType.EMPLOYEE,
            employee_id=actor.employee_id,
            phone_id=phone.id,
            kind=_CREDENTIAL_KIND[kind],
            serial=serial,
            denylist_version=version,
            door_device_ids=[door.id],
            not_before=not_before,
            expires_at=expires,
            issued_at=now,
        )
    )
    db.flush()
    placed = e.DoorStatus(door.status) is not e.DoorStatus.STOCK
    known = door.public_key if placed else None
    return InstallerCredential(order.id, door.serial, kind, data, expires, known)


def installer_time_token(
    db: Session,
    *,
    actor: Actor,
    order_id: int,
    door_serial: str | None,
    nonce: bytes,
    secret: str,
    now: dt.datetime,
) -> bytes:
    """A challenge-bound time token for the door of an open order assigned to ``actor``: the
    first step of commissioning a door that has never known the time (its door id is not in
    any bundle yet, so the key app's ``/time-token`` does not serve it). Refused like
    ``installer_credential``."""
    order = open_order_for_work(db, actor=actor, order_id=order_id, kinds=_ANY_KIND)
    door = _door_for(db, order, door_serial)
    issuer_key = issuer_service.active_issuer_key(
        db, municipality_id=order.municipality_id, secret=secret
    )
    try:
        return issue_time_token(
            issuer_key=issuer_key, now=now, door_id=door.serial.encode(), nonce=nonce
        )
    except ProtocolError as exc:
        raise ConflictError(
            "time_token.bad_nonce",
            "Dørens udfordring er ugyldig",
            "The door's challenge is invalid",
        ) from exc


def _door_for(db: Session, order: m.WorkOrder, door_serial: str | None) -> m.DoorDevice:
    if e.WorkOrderKind(order.kind) is e.WorkOrderKind.INSTALL and order.door_device_id is None:
        if not door_serial:
            raise DomainError(
                "installer.scan_door",
                "Scan dørens serienummer først",
                "Scan the door's serial number first",
            )
        door = q.door_by_serial(db, municipality_id=order.municipality_id, serial=door_serial)
        if (
            door is None
            or e.DoorKind(door.kind) is not door_kind_of(order)
            or e.DoorStatus(door.status) is not e.DoorStatus.STOCK
        ):
            raise not_found("Døren", "door")
        return door
    found = order_door(db, order)
    if found is None or e.DoorStatus(found.status) in e.GONE_DOOR_STATUSES:
        raise ConflictError(
            "door.not_placed",
            "Der er ingen dør til arbejdsordren",
            "There is no door for the work order",
        )
    if door_serial and door_serial != found.serial:
        raise not_found("Døren", "door")
    return found


def _aware(when: dt.datetime) -> dt.datetime:
    return when if when.tzinfo is not None else when.replace(tzinfo=dt.UTC)
