"""Door use cases of the administration: list and read door devices, where they sit, and which
doors may still accept a revoked key.

Who sees which doors is decided in ``carekey.access``: an administrator and an auditor the whole
municipality, a district lead the doors on the way to their districts' citizens. Nothing here
writes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from carekey.access import Action, Actor, get_in_scope, reach
from carekey.domain import enums as e
from carekey.domain.paging import DEFAULT_PAGE_SIZE, Page
from carekey.domain.places import Address
from carekey.doors import queries as sql
from carekey.store import models as m
from carekey.store.paging import page_of
from carekey.store.places import dwelling_addresses, entrance_addresses, gate_addresses

LOW_BATTERY_PCT = 20
"""A door battery below this many per cent is low: the dashboard and the lists flag it."""
MAX_SHOWN_DOORS = 100


@dataclass(frozen=True)
class DoorView:
    """A door device, where it sits, and (for one door) the municipality's denylist version."""

    door: m.DoorDevice
    address: Address | None
    citizen_id: int | None = None
    denylist_version_current: int | None = None


def _views(db: Session, doors: list[m.DoorDevice]) -> list[DoorView]:
    dwellings = dwelling_addresses(db, {d.dwelling_id for d in doors if d.dwelling_id})
    entrances = entrance_addresses(db, {d.entrance_id for d in doors if d.entrance_id})
    gates = gate_addresses(db, {d.gate_id for d in doors if d.gate_id})
    residents = sql.residents(db, dwellings)
    views = []
    for d in doors:
        if d.dwelling_id:
            views.append(DoorView(d, dwellings.get(d.dwelling_id), residents.get(d.dwelling_id)))
        elif d.entrance_id:
            views.append(DoorView(d, entrances.get(d.entrance_id)))
        elif d.gate_id:
            views.append(DoorView(d, gates.get(d.gate_id)))
        else:
            views.append(DoorView(d, None))
    return views


def list_doors(
    db: Session,
    *,
    actor: Actor,
    kind: e.DoorKind | None = None,
    status: e.DoorStatus | None = None,
    low_battery: bool = False,
    limit: int = DEFAULT_PAGE_SIZE,
    offset: int = 0,
) -> Page[DoorView]:
    """Door devices of the actor's municipality by kind and status; ``low_battery`` keeps those
    below ``LOW_BATTERY_PCT`` per cent, weakest first."""
    scope = reach(actor, Action.READ_DOORS)
    stmt = sql.doors(
        scope, kind=kind, status=status, battery_below=LOW_BATTERY_PCT if low_battery else None
    )
    order: list[Any] = list(sql.BY_SERIAL)
    if low_battery:
        order = [m.DoorDevice.battery_pct, *order]
    page = page_of(db, stmt, order_by=order, limit=limit, offset=offset)
    return Page(_views(db, page.items), page.total, page.limit, page.offset)


def get_door(db: Session, *, actor: Actor, door_id: int) -> DoorView:
    """One door device: battery, firmware, last contact, clock offset, which denylist version it
    has seen against the current one, its last event, and where it sits."""
    door = get_in_scope(db, reach(actor, Action.READ_DOORS), m.DoorDevice, door_id)
    view = _views(db, [door])[0]
    current = sql.current_denylist_version(db, door.municipality_id)
    return DoorView(view.door, view.address, view.citizen_id, current)


@dataclass(frozen=True)
class ExposedDoor:
    """A door that may accept a revoked key until it learns of the revocation."""

    door: m.DoorDevice | None
    door_id: int
    until: dt.datetime


def exposed_doors(
    db: Session, *, exposure: Mapping[int, dt.datetime], limit: int = MAX_SHOWN_DOORS
) -> list[ExposedDoor]:
    """The doors a revocation left exposed (door id → until when, as the revocation reported
    them), at most ``limit`` of them: those exposed the longest, the longest first."""
    ordered = sorted(exposure.items(), key=lambda item: (item[1], item[0]))
    shown = ordered[-limit:][::-1]
    doors = sql.doors_by_id(db, [door for door, _ in shown])
    return [ExposedDoor(doors.get(door), door, until) for door, until in shown]
