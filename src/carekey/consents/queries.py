"""The SQL of consents and permission requests."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from carekey.access import Scope, consents_in
from carekey.domain import enums as e
from carekey.store import models as m

CR = m.ConsentRecord
PR = m.PermissionRequest


def live_consent(db: Session, *, citizen_id: int) -> m.ConsentRecord | None:
    """The citizen's latest installation consent that is not withdrawn, if any."""
    return db.execute(
        select(CR)
        .where(CR.citizen_id == citizen_id)
        .where(CR.kind == e.ConsentKind.INSTALLATION)
        .where(CR.withdrawn_at.is_(None))
        .order_by(CR.given_at.desc(), CR.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def granted_permission_for_property(
    db: Session, *, municipality_id: int, property_id: int, gates: bool
) -> m.PermissionRequest | None:
    """The latest granted permission of the property that covers entrances (or gates)."""
    covers = PR.covers_gates.is_(True) if gates else PR.covers_entrances.is_(True)
    return db.execute(
        select(PR)
        .where(PR.municipality_id == municipality_id)
        .where(PR.property_id == property_id)
        .where(PR.status == e.PermissionStatus.GRANTED)
        .where(covers)
        .order_by(PR.decided_at.desc(), PR.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def property_of_entrance(db: Session, entrance_id: int) -> int | None:
    """The property an entrance belongs to."""
    return db.execute(
        select(m.Entrance.property_id).where(m.Entrance.id == entrance_id)
    ).scalar_one_or_none()


def property_of_gate(db: Session, gate_id: int) -> int | None:
    """The property a gate belongs to."""
    return db.execute(select(m.Gate.property_id).where(m.Gate.id == gate_id)).scalar_one_or_none()


def consents_of_citizen(db: Session, scope: Scope, *, citizen_id: int) -> list[m.ConsentRecord]:
    """The consents of the citizen in ``scope``, newest first (withdrawn ones too)."""
    return list(
        db.execute(
            select(CR)
            .where(CR.citizen_id == citizen_id)
            .where(consents_in(scope))
            .order_by(CR.given_at.desc(), CR.id.desc())
        ).scalars()
    )


def employee_of_municipality(
    db: Session, *, municipality_id: int, employee_id: int
) -> m.Employee | None:
    """The municipality's own employee (never another party's person), if any."""
    return db.execute(
        select(m.Employee)
        .where(m.Employee.id == employee_id)
        .where(m.Employee.municipality_id == municipality_id)
        .where(m.Employee.partner_company_id.is_(None))
        .where(m.Employee.housing_association_id.is_(None))
    ).scalar_one_or_none()
