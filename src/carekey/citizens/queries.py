"""The SQL of citizens: lists, their districts, dwellings and the doors to their homes."""

from __future__ import annotations

import re
from collections.abc import Iterable

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from carekey.access import Scope, citizens_in
from carekey.domain import enums as e
from carekey.domain.places import Address
from carekey.domain.values import MAX_ID
from carekey.store import models as m
from carekey.store.search import contains

BY_NAME = (m.Citizen.family_name, m.Citizen.given_name, m.Citizen.id)


def citizens(
    scope: Scope,
    *,
    q: str | None = None,
    district_id: int | None = None,
    status: e.CitizenStatus | None = None,
) -> Select[m.Citizen]:
    """Citizens in ``scope`` whose full name contains ``q``, in ``district_id`` and with
    ``status`` (each if given); unordered, for paging."""
    stmt = select(m.Citizen).where(citizens_in(scope))
    if q and q.strip():
        full_name = m.Citizen.given_name + " " + m.Citizen.family_name
        stmt = stmt.where(full_name.ilike(contains(q), escape="\\"))
    if district_id is not None:
        stmt = stmt.where(m.Citizen.district_id == district_id)
    if status is not None:
        stmt = stmt.where(m.Citizen.status == status)
    return stmt


def districts_by_id(db: Session, district_ids: Iterable[int]) -> dict[int, m.District]:
    """The districts with these ids."""
    return {
        d.id: d
        for d in db.execute(
            select(m.District).where(m.District.id.in_(list(district_ids)))
        ).scalars()
    }


def doors_to(db: Session, address: Address) -> list[m.DoorDevice]:
    """The home lock, stairwell controller and gate controllers on the way to a dwelling."""
    gate_ids = select(m.Gate.id).where(m.Gate.property_id == address.property_id)
    return list(
        db.execute(
            select(m.DoorDevice)
            .where(m.DoorDevice.status.not_in(e.GONE_DOOR_STATUSES))
            .where(
                or_(
                    m.DoorDevice.dwelling_id == address.dwelling_id,
                    m.DoorDevice.entrance_id == address.entrance_id,
                    m.DoorDevice.gate_id.in_(gate_ids),
                )
            )
            .order_by(m.DoorDevice.kind, m.DoorDevice.id)
        ).scalars()
    )


def dwelling_municipality(db: Session, dwelling_id: int) -> int | None:
    """The municipality a dwelling is in, or ``None`` if there is no such dwelling."""
    if not 1 <= dwelling_id <= MAX_ID:
        return None
    return db.execute(
        select(m.Property.municipality_id)
        .join(m.Entrance, m.Entrance.property_id == m.Property.id)
        .join(m.Dwelling, m.Dwelling.entrance_id == m.Entrance.id)
        .where(m.Dwelling.id == dwelling_id)
    ).scalar_one_or_none()


def dwellings_matching(
    db: Session, municipality_id: int, text: str, *, limit: int
) -> list[tuple[m.Dwelling, m.Entrance, m.Property]]:
    """The municipality's dwellings whose address (stairwell, postal code, city, floor, side)
    holds every word of ``text`` (at most six), by stairwell."""
    words = [w for w in re.split(r"[\s,.]+", text) if w][:6]
    stmt = (
        select(m.Dwelling, m.Entrance, m.Property)
        .join(m.Entrance, m.Entrance.id == m.Dwelling.entrance_id)
        .join(m.Property, m.Property.id == m.Entrance.property_id)
        .where(m.Property.municipality_id == municipality_id)
    )
    for word in words:
        pattern = contains(word)
        stmt = stmt.where(
            or_(
                m.Entrance.label.ilike(pattern, escape="\\"),
                m.Property.postal_code.ilike(pattern, escape="\\"),
                m.Property.city.ilike(pattern, escape="\\"),
                m.Dwelling.floor.ilike(pattern, escape="\\"),
                m.Dwelling.side.ilike(pattern, escape="\\"),
            )
        )
    rows = db.execute(stmt.order_by(m.Entrance.label, m.Dwelling.id).limit(limit))
    return [(d, ent, p) for d, ent, p in rows]


def latest_restore_order(db: Session, citizen_id: int) -> m.WorkOrder | None:
    """The newest work order to put the original lock back at a citizen's home."""
    return db.execute(
        select(m.WorkOrder)
        .where(m.WorkOrder.citizen_id == citizen_id)
        .where(m.WorkOrder.kind == e.WorkOrderKind.RESTORE)
        .order_by(m.WorkOrder.ordered_at.desc(), m.WorkOrder.id.desc())
        .limit(1)
    ).scalar_one_or_none()
