"""The SQL of door devices as the administration lists them."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from carekey.access import Scope, doors_in
from carekey.domain import enums as e
from carekey.store import models as m

BY_SERIAL = (m.DoorDevice.serial, m.DoorDevice.id)


def doors(
    scope: Scope,
    *,
    kind: e.DoorKind | None = None,
    status: e.DoorStatus | None = None,
    battery_below: int | None = None,
) -> Select[m.DoorDevice]:
    """Door devices in ``scope`` of ``kind``, with ``status`` and with a battery below
    ``battery_below`` per cent (each if given); unordered, for paging."""
    stmt = select(m.DoorDevice).where(doors_in(scope))
    if kind is not None:
        stmt = stmt.where(m.DoorDevice.kind == kind)
    if status is not None:
        stmt = stmt.where(m.DoorDevice.status == status)
    if battery_below is not None:
        stmt = stmt.where(m.DoorDevice.battery_pct < battery_below)
    return stmt


def residents(db: Session, dwelling_ids: Iterable[int]) -> dict[int, int]:
    """The (first) citizen, not removed, living in each dwelling: dwelling id → citizen id."""
    rows = db.execute(
        select(m.Citizen.dwelling_id, func.min(m.Citizen.id))
        .where(m.Citizen.dwelling_id.in_(list(dwelling_ids)))
        .where(m.Citizen.status != e.CitizenStatus.REMOVED)
        .group_by(m.Citizen.dwelling_id)
    )
    return {dwelling: citizen for dwelling, citizen in rows if dwelling is not None}


def current_denylist_version(db: Session, municipality_id: int) -> int:
    """The municipality's newest denylist version (0 before the first)."""
    current = db.execute(
        select(func.max(m.DenylistVersion.version)).where(
            m.DenylistVersion.municipality_id == municipality_id
        )
    ).scalar()
    return int(current or 0)


def doors_by_id(db: Session, door_ids: Iterable[int]) -> dict[int, m.DoorDevice]:
    """The door devices with these ids."""
    return {
        d.id: d
        for d in db.execute(
            select(m.DoorDevice).where(m.DoorDevice.id.in_(list(door_ids)))
        ).scalars()
    }
