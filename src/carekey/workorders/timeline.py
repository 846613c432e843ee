"""The timeline of a citizen's and a property's installation (issue 16): consent → permission →
install → commissioned → active → removal → restored, each step with its date and who, built
from the consent records, the permission requests, the work orders, the door devices and the
log of administrative actions. A step not reached yet is shown as such (``reached`` false)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from sqlalchemy.orm import Session

from carekey.access import Action, Actor, Scope, get_in_scope, reach
from carekey.domain import enums as e
from carekey.domain.errors import not_found
from carekey.store import models as m
from carekey.workorders import queries as sql

STEPS: Final = (
    ("consent", "Samtykke", "Consent"),
    ("permission", "Tilladelse", "Permission"),
    ("install", "Installation", "Install"),
    ("commissioned", "Idriftsat", "Commissioned"),
    ("active", "Aktiv", "Active"),
    ("removal", "Fjernelse", "Removal"),
    ("restored", "Genetableret", "Restored"),
)
"""The steps of a timeline in order: key, Danish and English label."""


@dataclass(frozen=True)
class Step:
    """One step: when it was reached and by whom (None: not reached yet)."""

    key: str
    label_da: str
    label_en: str
    at: dt.datetime | None
    who: str | None = None
    note: str | None = None
    # The work order of the step (its number and status) and what made it, for labels.
    order_id: int | None = None
    order_status: e.WorkOrderStatus | None = None
    trigger: e.WorkOrderTrigger | None = None
    given_by: e.ConsentGivenBy | None = None

    @property
    def reached(self) -> bool:
        """Whether the step has happened."""
        return self.at is not None


@dataclass(frozen=True)
class Timeline:
    """The steps of one citizen's or one property's installation."""

    title: str
    steps: list[Step]
    orders: list[m.WorkOrder]


def _step(
    key: str,
    at: dt.datetime | None,
    who: str | None = None,
    note: str | None = None,
    *,
    order: m.WorkOrder | None = None,
    trigger: e.WorkOrderTrigger | None = None,
    given_by: e.ConsentGivenBy | None = None,
) -> Step:
    _k, da, en = next(s for s in STEPS if s[0] == key)
    return Step(
        key,
        da,
        en,
        at,
        who,
        note,
        order_id=order.id if order is not None else None,
        order_status=order.status if order is not None else None,
        trigger=trigger,
        given_by=given_by,
    )


def _first(orders: Sequence[m.WorkOrder], kind: e.WorkOrderKind) -> m.WorkOrder | None:
    live = [o for o in orders if o.kind is kind and o.status is not e.WorkOrderStatus.CANCELLED]
    return live[0] if live else None


def _build(
    db: Session,
    *,
    title: str,
    consent: tuple[dt.datetime | None, str | None],
    consent_by: e.ConsentGivenBy | None = None,
    permission: tuple[dt.datetime | None, str | None],
    orders: list[m.WorkOrder],
    doors: list[m.DoorDevice],
    removed_at: dt.datetime | None,
) -> Timeline:
    names = sql.names_of(
        db,
        [o.performed_by_employee_id for o in orders]
        + [o.signed_off_by_employee_id for o in orders]
        + [o.created_by_employee_id for o in orders],
    )

    def who(employee_id: int | None, default: str | None = None) -> str | None:
        return names.get(employee_id, default) if employee_id is not None else default

    install = _first(orders, e.WorkOrderKind.INSTALL)
    restore = _first(orders, e.WorkOrderKind.RESTORE)
    started = [t for d in doors if (t := d.commissioned_at or d.installed_at) is not None]
    commissioned = min(started, default=None)
    active = [d for d in doors if d.status is e.DoorStatus.ACTIVE]
    gone = [d.decommissioned_at for d in doors if d.decommissioned_at is not None]
    removal_at = removed_at or (restore.ordered_at if restore else None)
    restored_at = (
        restore.completed_at if restore and restore.completed_at else (max(gone) if gone else None)
    )
    steps = [
        _step("consent", consent[0], consent[1], given_by=consent_by),
        _step("permission", *permission),
        _step(
            "install",
            install.completed_at if install else None,
            who(install.performed_by_employee_id, install.supplier) if install else None,
            order=install,
        ),
        _step("commissioned", commissioned),
        _step(
            "active",
            commissioned if active else None,
            None,
            ", ".join(d.serial for d in active) or None,
        ),
        _step(
            "removal",
            removal_at,
            who(restore.created_by_employee_id) if restore else None,
            trigger=restore.trigger if restore else None,
        ),
        _step(
            "restored",
            restored_at,
            who(restore.performed_by_employee_id, restore.supplier) if restore else None,
            order=restore,
        ),
    ]
    return Timeline(title, steps, orders)


def citizen_timeline(db: Session, *, actor: Actor, citizen_id: int) -> Timeline:
    """A citizen's timeline (the office; an installer and the other parties: 404)."""
    scope = reach(actor, Action.READ_INSTALLATIONS)
    citizen = get_in_scope(db, scope, m.Citizen, citizen_id)
    consents = sql.consents_of(db, citizen.id)
    consent = consents[-1] if consents else None
    orders = sql.orders_of_citizen(db, citizen.id, citizen.dwelling_id)
    doors = sql.doors_of_citizen(
        db, citizen.dwelling_id, [o.door_device_id for o in orders if o.door_device_id]
    )
    property_id = sql.property_of_dwelling(db, citizen.dwelling_id)
    permissions = sql.permissions_of(db, property_id) if property_id else []
    granted = [p for p in permissions if p.status is e.PermissionStatus.GRANTED]
    return _build(
        db,
        title=f"{citizen.given_name} {citizen.family_name}",
        consent=(consent.given_at, consent.given_by_name) if consent else (None, None),
        consent_by=consent.given_by if consent else None,
        permission=(granted[0].decided_at, granted[0].decided_by_name) if granted else (None, None),
        orders=orders,
        doors=doors,
        removed_at=citizen.removed_at,
    )


def _property(db: Session, scope: Scope, property_id: int) -> m.Property:
    prop = db.get(m.Property, property_id) if 1 <= property_id <= 2**62 else None
    if prop is None or prop.municipality_id != scope.municipality_id or scope.assigned_only:
        raise not_found("Ejendommen", "property")
    if scope.association_id is not None:
        if prop.housing_association_id != scope.association_id:
            raise not_found("Ejendommen", "property")
    elif scope.company_id is not None or not sql.property_in_reach(db, scope, prop.id):
        raise not_found("Ejendommen", "property")
    return prop


def property_timeline(db: Session, *, actor: Actor, property_id: int) -> Timeline:
    """A property's timeline of its entrance and gate modules (the office, and the property's
    own association; never a home's consent)."""
    scope = reach(actor, Action.READ_INSTALLATIONS)
    prop = _property(db, scope, property_id)
    permissions = sql.permissions_of(db, prop.id)
    granted = [p for p in permissions if p.status is e.PermissionStatus.GRANTED]
    first = permissions[0] if permissions else None
    return _build(
        db,
        title=f"{prop.street} {prop.house_number}",
        consent=(first.requested_at, None) if first else (None, None),
        permission=(granted[0].decided_at, granted[0].decided_by_name) if granted else (None, None),
        orders=sql.orders_of_property(db, prop.id),
        doors=sql.doors_of_property(db, prop.id),
        removed_at=None,
    )
