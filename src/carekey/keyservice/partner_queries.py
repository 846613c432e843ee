"""The SQL of a partner worker's keys (``keyservice.partner_keys``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, or_, select
from sqlalchemy.orm import Session

from carekey.domain import enums as e
from carekey.keyservice.bundle import LIVE_DOOR_STATUSES
from carekey.store import models as m

PARTNER_DOOR_KINDS = (e.DoorKind.ENTRANCE_CONTROLLER, e.DoorKind.GATE_CONTROLLER)


def company_active(db: Session, company_id: int) -> bool:
    """Whether the company may hold keys at all (not blocked by the municipality)."""
    status = db.execute(
        select(m.PartnerCompany.status).where(m.PartnerCompany.id == company_id)
    ).scalar_one_or_none()
    return status is e.PartnerStatus.ACTIVE


def live_agreements(
    db: Session, *, company_id: int, municipality_id: int, now: dt.datetime
) -> list[m.Agreement]:
    return list(
        db.execute(
            select(m.Agreement)
            .join(
                m.HousingAssociation, m.HousingAssociation.id == m.Agreement.housing_association_id
            )
            .where(m.Agreement.partner_company_id == company_id)
            .where(m.HousingAssociation.municipality_id == municipality_id)
            .where(m.Agreement.blocked.is_(False))
            .where(m.Agreement.valid_from <= now)
            .where(or_(m.Agreement.valid_until.is_(None), m.Agreement.valid_until > now))
            .order_by(m.Agreement.id)
        ).scalars()
    )


def gate_properties(db: Session, door_ids: list[int]) -> dict[int, Any]:
    if not door_ids:
        return {}
    rows = db.execute(
        select(
            m.DoorDevice.id,
            m.Property.id.label("property_id"),
            m.Property.street,
            m.Property.house_number,
            m.Property.postal_code,
            m.Property.city,
        )
        .join(m.Gate, m.Gate.id == m.DoorDevice.gate_id)
        .join(m.Property, m.Property.id == m.Gate.property_id)
        .where(m.DoorDevice.id.in_(door_ids))
    ).all()
    return {r.id: r for r in rows}


def entrance_of(db: Session, door_id: int) -> int | None:
    return db.execute(
        select(m.DoorDevice.entrance_id).where(m.DoorDevice.id == door_id)
    ).scalar_one_or_none()


def blocked_agreements(
    db: Session, *, company_id: int, now: dt.datetime
) -> Sequence[Row[str, dt.datetime | None]]:
    """(association name, blocked at) of the company's blocked agreements still in force."""
    return db.execute(
        select(m.HousingAssociation.name, m.Agreement.blocked_at)
        .join(m.HousingAssociation, m.HousingAssociation.id == m.Agreement.housing_association_id)
        .where(m.Agreement.partner_company_id == company_id)
        .where(m.Agreement.blocked.is_(True))
        .where(or_(m.Agreement.valid_until.is_(None), m.Agreement.valid_until > now))
        .order_by(m.HousingAssociation.name)
    ).all()


def agreement_door_rows(db: Session, agreement_ids: list[int]) -> Sequence[Row[*tuple[Any, ...]]]:
    """The live entrance and gate controllers of ``agreement_ids`` with their places."""
    door = m.DoorDevice
    return db.execute(
        select(
            m.AgreementDoor.agreement_id,
            door.id,
            door.serial,
            door.kind,
            door.public_key,
            door.last_event_seq,
            m.Entrance.id.label("entrance_id"),
            m.Entrance.label.label("entrance_label"),
            m.Gate.label.label("gate_label"),
            m.Property.id.label("property_id"),
            m.Property.street,
            m.Property.house_number,
            m.Property.postal_code,
            m.Property.city,
        )
        .join(door, door.id == m.AgreementDoor.door_device_id)
        .outerjoin(m.Entrance, m.Entrance.id == door.entrance_id)
        .outerjoin(m.Gate, m.Gate.id == door.gate_id)
        .join(
            m.Property,
            m.Property.id == m.Entrance.property_id,
            isouter=True,
        )
        .where(m.AgreementDoor.agreement_id.in_(agreement_ids))
        .where(door.kind.in_(PARTNER_DOOR_KINDS))
        .where(door.status.in_(list(LIVE_DOOR_STATUSES)))
        .order_by(m.AgreementDoor.agreement_id, door.id)
    ).all()


def windows(db: Session, agreement_ids: list[int]) -> Sequence[m.AgreementWindow]:
    """The weekly windows of ``agreement_ids``."""
    return (
        db.execute(
            select(m.AgreementWindow)
            .where(m.AgreementWindow.agreement_id.in_(agreement_ids))
            .order_by(m.AgreementWindow.weekday, m.AgreementWindow.start_minute)
        )
        .scalars()
        .all()
    )


def errands(
    db: Session, *, agreement_ids: list[int], worker_id: int, now: dt.datetime, until: dt.datetime
) -> Sequence[m.Errand]:
    """The approved errands of ``agreement_ids`` for the worker (or unassigned) that overlap
    ``[now, until)``."""
    return (
        db.execute(
            select(m.Errand)
            .where(m.Errand.agreement_id.in_(agreement_ids))
            .where(m.Errand.status == e.ErrandStatus.APPROVED)
            .where(or_(m.Errand.employee_id.is_(None), m.Errand.employee_id == worker_id))
            .where(m.Errand.not_after > now)
            .where(m.Errand.not_before < until)
            .order_by(m.Errand.not_before, m.Errand.id)
        )
        .scalars()
        .all()
    )
