"""The installer's work on the server (issue 16): their assigned orders, and commissioning and
decommissioning a door for an order, checked against the door's own signed receipts.

Only an installer may do it (``Action.COMMISSION_DOORS``, reach ``assigned_orders``), and only
for an open order assigned to them: another installer's order, another municipality's or one
that does not exist is 404 (nothing is revealed); an order that is not open, of the wrong kind
or a door in the wrong state is 409. Every check is made before anything changes.

Commissioning an install order: a door device of the order's kind is taken from the
municipality's stock by its serial, placed at the order's dwelling, entrance or gate
(``installed``), paired with the server (``carekey.doors.commissioning.commission_door``: its
public key), and, once its signed test receipts (an unlock and a lock, signed by that key, naming
that door) are checked, ``active`` with ``commissioned_at``. Decommissioning a restore order:
the door's signed receipt that it forgot every key is checked with the key the server holds,
then the door leaves its place, back to ``stock`` or ``scrapped``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

from sqlalchemy.orm import Session

from carekey.access import Action, Actor, get_installation_object, reach
from carekey.audit.actions import record_admin_action
from carekey.domain import enums as e
from carekey.domain.errors import ConflictError, DomainError, not_found
from carekey.doors.commissioning import commission_door
from carekey.installer import queries as q
from carekey.keyservice.credentials import subject_of
from carekey.protocol.errors import ProtocolError
from carekey.protocol.events import Event, EventKind, decode_event
from carekey.protocol.keys import DoorPublicKey, Ed25519Public
from carekey.store import models as m

Disposition = Literal["stock", "scrapped"]

RECEIPT_MAX_AGE: Final = dt.timedelta(hours=12)
"""A receipt older than this (by the door's clock) is not evidence of today's visit."""
RECEIPT_CLOCK_SKEW: Final = dt.timedelta(minutes=5)
"""How far ahead of the server's clock a door's receipt may be."""

OPENED_KINDS: Final = frozenset({EventKind.UNLOCKED, EventKind.RELAY_PULSE})
LOCKED_KINDS: Final = frozenset({EventKind.LOCKED, EventKind.AUTO_RELOCKED})
FORGOT_KEYS_KINDS: Final = frozenset({EventKind.DECOMMISSIONED})
"""The door's receipt that it forgot every key (the DECOMMISSION command's)."""

KIND_OF_PLACE: Final = {
    "dwelling": e.DoorKind.HOME_LOCK,
    "entrance": e.DoorKind.ENTRANCE_CONTROLLER,
    "gate": e.DoorKind.GATE_CONTROLLER,
}


@dataclass(frozen=True)
class OrderView:
    """One order as the installer sees it: what, where, when, and its door."""

    id: int
    kind: e.WorkOrderKind
    status: e.WorkOrderStatus
    is_open: bool
    place: str
    door_kind: e.DoorKind | None
    scheduled_for: dt.datetime | None
    door_device_id: int | None
    door_serial: str | None
    door_status: e.DoorStatus | None
    notes: str | None


@dataclass(frozen=True)
class CommissionResult:
    """A door after its install order's commissioning."""

    order_id: int
    door_device_id: int
    serial: str
    status: e.DoorStatus
    commissioned_at: dt.datetime


@dataclass(frozen=True)
class DecommissionResult:
    """A door after its restore order's decommissioning."""

    order_id: int
    door_device_id: int
    serial: str
    status: e.DoorStatus
    decommissioned_at: dt.datetime


# --- reading -----------------------------------------------------------------------------------


def assigned_orders(db: Session, *, actor: Actor) -> list[OrderView]:
    """The orders assigned to the installer, open ones first."""
    scope = reach(actor, Action.READ_INSTALLATIONS)
    return [_view(db, order) for order in q.orders_in(db, scope)]


def get_order(db: Session, *, actor: Actor, order_id: int) -> OrderView:
    """One order in the actor's reach (an installer: assigned to them), else 404/403."""
    scope = reach(actor, Action.READ_INSTALLATIONS)
    return _view(db, get_installation_object(db, scope, m.WorkOrder, order_id))


def order_door(db: Session, order: m.WorkOrder) -> m.DoorDevice | None:
    """The door an order is about: the one it names, else the live door at its place."""
    if order.door_device_id is not None:
        return db.get(m.DoorDevice, order.door_device_id)
    return q.live_door_at(
        db,
        municipality_id=order.municipality_id,
        dwelling_id=order.dwelling_id,
        entrance_id=order.entrance_id,
        gate_id=order.gate_id,
    )


def door_kind_of(order: m.WorkOrder) -> e.DoorKind | None:
    """The kind of door the order's place takes (None for an order that names only a door)."""
    for place, kind in KIND_OF_PLACE.items():
        if getattr(order, f"{place}_id") is not None:
            return kind
    return None


def _view(db: Session, order: m.WorkOrder) -> OrderView:
    door = order_door(db, order)
    status = e.WorkOrderStatus(order.status)
    return OrderView(
        id=order.id,
        kind=e.WorkOrderKind(order.kind),
        status=status,
        is_open=status in e.OPEN_WORK_ORDER_STATUSES,
        place=q.place_label(db, order),
        door_kind=door_kind_of(order) or (e.DoorKind(door.kind) if door is not None else None),
        scheduled_for=order.scheduled_for,
        door_device_id=door.id if door is not None else None,
        door_serial=door.serial if door is not None else None,
        door_status=e.DoorStatus(door.status) if door is not None else None,
        notes=order.notes,
    )


# --- the work at the door ----------------------------------------------------------------------


def open_order_for_work(
    db: Session, *, actor: Actor, order_id: int, kinds: frozenset[e.WorkOrderKind]
) -> m.WorkOrder:
    """An open order of one of ``kinds`` assigned to the installer: 403 for a role that does not
    commission, 404 outside their orders, 409 for an order not open or of another kind."""
    scope = reach(actor, Action.COMMISSION_DOORS)
    order = get_installation_object(db, scope, m.WorkOrder, order_id)
    if e.WorkOrderStatus(order.status) not in e.OPEN_WORK_ORDER_STATUSES:
        raise ConflictError(
            "work_order.not_open",
            "Arbejdsordren er ikke åben",
            "The work order is not open",
        )
    if e.WorkOrderKind(order.kind) not in kinds:
        names = ", ".join(sorted(k.value for k in kinds))
        raise ConflictError(
            "work_order.wrong_kind",
            f"Arbejdsordren er ikke af typen {names}",
            f"The work order is not of kind {names}",
        )
    return order


def commission_for_order(
    db: Session,
    *,
    actor: Actor,
    order_id: int,
    door_serial: str,
    public_key: bytes,
    firmware_version: str | None,
    test_receipts: Sequence[bytes],
    now: dt.datetime,
) -> CommissionResult:
    """Install and commission the door ``door_serial`` for an open install order assigned to the
    installer, once its test receipts (an opening and a locking, signed by ``public_key`` and
    naming this door) prove it works. One refusal changes nothing."""
    order = open_order_for_work(db, actor=actor, order_id=order_id, kinds=_INSTALL)
    kind = door_kind_of(order)
    door = q.door_by_serial(db, municipality_id=order.municipality_id, serial=door_serial)
    if door is None or kind is None or e.DoorKind(door.kind) is not kind:
        raise not_found("Døren", "door")
    if order.door_device_id is not None and order.door_device_id != door.id:
        raise ConflictError(
            "work_order.other_door",
            "Arbejdsordren er knyttet til en anden dør",
            "The work order is linked to another door",
        )
    if e.DoorStatus(door.status) is not e.DoorStatus.STOCK:
        raise ConflictError(
            "door.not_in_stock",
            f"Døren {door.serial} er ikke på lager",
            f"The door {door.serial} is not in stock",
        )
    occupied = q.live_door_at(
        db,
        municipality_id=order.municipality_id,
        dwelling_id=order.dwelling_id,
        entrance_id=order.entrance_id,
        gate_id=order.gate_id,
    )
    if occupied is not None:
        raise ConflictError(
            "door.place_taken",
            f"Der sidder allerede en dør ({occupied.serial}) på stedet",
            f"There is a door ({occupied.serial}) at the place already",
        )
    door_key = _door_key(public_key)
    events = [
        _receipt(raw, door_key=door_key, serial=door.serial, now=now) for raw in test_receipts
    ]
    # The test opening is the installer's own, with their key for this order.
    mine = subject_of(actor.employee_id)
    if not any(ev.kind in OPENED_KINDS and ev.subject == mine for ev in events) or not any(
        ev.kind in LOCKED_KINDS for ev in events
    ):
        raise DomainError(
            "installer.test_missing",
            "Dørens kvitteringer skal vise en prøveåbning og en låsning",
            "The door's receipts must show a test opening and a locking",
        )

    reason = f"work order {order.id}"
    door.dwelling_id, door.entrance_id, door.gate_id = (
        order.dwelling_id,
        order.entrance_id,
        order.gate_id,
    )
    door.status = e.DoorStatus.INSTALLED
    door.installed_at = now
    db.flush()
    record_admin_action(
        db,
        actor=actor,
        municipality_id=door.municipality_id,
        action="door.installed",
        target_type="door_device",
        target_id=door.id,
        reason=reason,
        now=now,
        details={"serial": door.serial, "work_order_id": order.id},
    )
    commission_door(
        db,
        door_id=door.id,
        public_key=public_key,
        firmware_version=firmware_version,
        now=now,
        actor=actor,
        reason=reason,
    )
    door.status = e.DoorStatus.ACTIVE
    door.commissioned_at = now
    order.door_device_id = door.id
    record_admin_action(
        db,
        actor=actor,
        municipality_id=door.municipality_id,
        action="door.tested",
        target_type="door_device",
        target_id=door.id,
        reason=reason,
        now=now,
        details={
            "serial": door.serial,
            "work_order_id": order.id,
            "receipts": [{"seq": ev.seq, "kind": ev.kind.name.lower()} for ev in events],
            "status": e.DoorStatus.ACTIVE.value,
        },
    )
    db.flush()
    return CommissionResult(order.id, door.id, door.serial, e.DoorStatus.ACTIVE, now)


def decommission_for_order(
    db: Session,
    *,
    actor: Actor,
    order_id: int,
    decommission_receipt: bytes,
    disposition: Disposition,
    now: dt.datetime,
) -> DecommissionResult:
    """Take the door of an open restore order assigned to the installer down, once its signed
    receipt (by the key the server holds for it) shows it forgot every key; it goes back to
    ``stock`` or is ``scrapped``, its place cleared either way."""
    if disposition not in ("stock", "scrapped"):
        raise DomainError(
            "installer.bad_disposition",
            "Døren skal på lager eller kasseres",
            "The door goes to stock or is scrapped",
        )
    order = open_order_for_work(db, actor=actor, order_id=order_id, kinds=_RESTORE)
    door = order_door(db, order)
    if door is None or e.DoorStatus(door.status) in e.GONE_DOOR_STATUSES | {e.DoorStatus.STOCK}:
        raise ConflictError(
            "door.not_placed",
            "Der er ingen dør at tage ned for arbejdsordren",
            "There is no door to take down for the work order",
        )
    event = _receipt(
        decommission_receipt, door_key=_door_key(door.public_key), serial=door.serial, now=now
    )
    if event.kind not in FORGOT_KEYS_KINDS:
        raise DomainError(
            "installer.not_decommissioned",
            "Kvitteringen viser ikke, at døren har glemt sine nøgler",
            "The receipt does not show that the door forgot its keys",
        )
    before = e.DoorStatus(door.status)
    place = {"dwelling_id": door.dwelling_id, "entrance_id": door.entrance_id}
    place["gate_id"] = door.gate_id
    status = e.DoorStatus.STOCK if disposition == "stock" else e.DoorStatus.SCRAPPED
    door.dwelling_id = door.entrance_id = door.gate_id = None
    door.status = status
    door.decommissioned_at = now
    order.door_device_id = door.id
    record_admin_action(
        db,
        actor=actor,
        municipality_id=door.municipality_id,
        action="door.decommissioned",
        target_type="door_device",
        target_id=door.id,
        reason=f"work order {order.id}",
        now=now,
        details={
            "serial": door.serial,
            "work_order_id": order.id,
            "disposition": disposition,
            "status": status.value,
            "previous_status": before.value,
            "receipt": {"seq": event.seq, "kind": event.kind.name.lower()},
            **place,
        },
    )
    db.flush()
    return DecommissionResult(order.id, door.id, door.serial, status, now)


_INSTALL: Final = frozenset({e.WorkOrderKind.INSTALL})
_RESTORE: Final = frozenset({e.WorkOrderKind.RESTORE})


def _door_key(public_key: bytes) -> DoorPublicKey:
    if not isinstance(public_key, bytes) or len(public_key) != 32:
        raise DomainError(
            "door.public_key_invalid",
            "Dørens offentlige nøgle skal være 32 byte (Ed25519)",
            "The door's public key must be 32 bytes (Ed25519)",
        )
    try:
        return DoorPublicKey(Ed25519Public(public_key))
    except (ProtocolError, ValueError) as exc:
        raise _bad_receipt() from exc


def _receipt(raw: bytes, *, door_key: DoorPublicKey, serial: str, now: dt.datetime) -> Event:
    """A door's signed event, verified as ingest does: signed by ``door_key``, naming this
    door, and from this visit by the door's clock."""
    try:
        event = decode_event(raw, door_key=door_key).event
    except (ProtocolError, ValueError) as exc:
        raise _bad_receipt() from exc
    if event.door_id != serial.encode():
        raise _bad_receipt()
    if event.time is None or not now - RECEIPT_MAX_AGE <= event.time <= now + RECEIPT_CLOCK_SKEW:
        raise DomainError(
            "installer.receipt_stale",
            "Dørens kvittering er ikke fra dette besøg",
            "The door's receipt is not from this visit",
        )
    return event


def _bad_receipt() -> DomainError:
    return DomainError(
        "installer.receipt_invalid",
        "Kvitteringen er ikke underskrevet af denne dør",
        "The receipt is not signed by this door",
    )
