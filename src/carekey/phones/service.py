"""Work phone use cases: find, read, register and change phones, and hand them to an employee.

Who may do what is decided in ``carekey.access`` alone: administrators register and change,
district leads read the phones of their districts' employees, auditors read. Blocking a phone
(lost or otherwise) is in ``revocation``, its enrolment code in ``keyservice``. Every create and
change writes an ``AdminAction`` in the same transaction; nothing here commits.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from carekey.access import Action, Actor, Scope, get_in_scope, reach
from carekey.audit.actions import record_admin_action
from carekey.domain import enums as e
from carekey.domain.changes import UNSET, Unset, note_change
from carekey.domain.errors import ConflictError
from carekey.domain.paging import DEFAULT_PAGE_SIZE, Page
from carekey.domain.rules import check_same_municipality
from carekey.domain.text import optional_text, reason_text, required_text
from carekey.phones import queries as sql
from carekey.store import models as m
from carekey.store.paging import page_of
from carekey.store.unique import flush_unique

LOST_REASON = "Mistet"
"""The reason recorded when a phone is blocked as lost with one click."""


@dataclass(frozen=True)
class PhoneView:
    """A phone and the employee it is registered to."""

    phone: m.Phone
    employee: m.Employee | None


def _views(db: Session, phones: list[m.Phone]) -> list[PhoneView]:
    owners = sql.employees_by_id(db, {p.employee_id for p in phones if p.employee_id is not None})
    return [PhoneView(p, owners.get(p.employee_id or 0)) for p in phones]


def list_phones(
    db: Session,
    *,
    actor: Actor,
    q: str | None = None,
    employee_id: int | None = None,
    status: e.PhoneStatus | None = None,
    limit: int = DEFAULT_PAGE_SIZE,
    offset: int = 0,
) -> Page[PhoneView]:
    """Phones of the actor's municipality, searched by label (``q``), by employee and status;
    a district lead sees the phones of their districts' employees only."""
    scope = reach(actor, Action.READ_STAFF)
    stmt = sql.phones(scope, q=q, employee_id=employee_id, status=status)
    page = page_of(db, stmt, order_by=sql.BY_LABEL, limit=limit, offset=offset)
    return Page(_views(db, page.items), page.total, page.limit, page.offset)


def get_phone(db: Session, *, actor: Actor, phone_id: int) -> PhoneView:
    """One phone with the employee it is registered to."""
    phone = get_in_scope(db, reach(actor, Action.READ_STAFF), m.Phone, phone_id)
    return _views(db, [phone])[0]


def _label_taken() -> ConflictError:
    return ConflictError(
        "phone.label_taken",
        "Kommunen har allerede en telefon med den mærkning",
        "The municipality already has a phone with that label",
    )


def _check_label_free(
    db: Session, municipality_id: int, label: str, but: int | None = None
) -> None:
    if sql.label_taken(db, municipality_id, label, but):
        raise _label_taken()


def _label(label: str) -> str:
    return required_text(
        label, max_length=64, code="phone.bad_label", what_da="Mærkningen", what_en="The label"
    )


def _model(model: str | None) -> str | None:
    return optional_text(
        model, max_length=64, code="phone.bad_model", what_da="Modellen", what_en="The model"
    )


def _owner(db: Session, scope: Scope, employee_id: int | None) -> int | None:
    if employee_id is None:
        return None
    owner = get_in_scope(db, scope, m.Employee, employee_id)
    check_same_municipality("Telefonen", scope.municipality_id, [owner.municipality_id])
    return owner.id


def create_phone(
    db: Session,
    *,
    actor: Actor,
    label: str,
    now: dt.datetime,
    model: str | None = None,
    employee_id: int | None = None,
    reason: str | None = None,
) -> PhoneView:
    """Register a work phone (its asset label is unique within the municipality). It can log in
    once it has been enrolled with a one-time code."""
    scope = reach(actor, Action.MANAGE_PHONES)
    phone = m.Phone(
        municipality_id=actor.municipality_id,
        label=_label(label),
        model=_model(model),
        employee_id=_owner(db, scope, employee_id),
        status=e.PhoneStatus.ACTIVE,
        created_at=now,
    )
    _check_label_free(db, actor.municipality_id, phone.label)
    db.add(phone)
    flush_unique(db, _label_taken())
    record_admin_action(
        db,
        actor=actor,
        municipality_id=actor.municipality_id,
        action="phone.created",
        target_type="phone",
        target_id=phone.id,
        reason=reason_text(reason),
        now=now,
        details={"label": phone.label, "model": phone.model, "employee_id": phone.employee_id},
    )
    return _views(db, [phone])[0]


def update_phone(
    db: Session,
    *,
    actor: Actor,
    phone_id: int,
    now: dt.datetime,
    label: str | Unset = UNSET,
    model: str | Unset | None = UNSET,
    employee_id: int | Unset | None = UNSET,
    reason: str | None = None,
) -> PhoneView:
    """Change a phone's label, model or employee. Handing the phone to someone else ends the
    app session on it: at its next heartbeat the phone wipes the previous holder's keys."""
    scope = reach(actor, Action.MANAGE_PHONES)
    phone = get_in_scope(db, scope, m.Phone, phone_id)
    changes: dict[str, Any] = {}
    if not isinstance(label, Unset):
        new_label = _label(label)
        if note_change(changes, "label", phone.label, new_label):
            _check_label_free(db, phone.municipality_id, new_label, but=phone.id)
            phone.label = new_label
    if not isinstance(model, Unset):
        new_model = _model(model)
        if note_change(changes, "model", phone.model, new_model):
            phone.model = new_model
    if not isinstance(employee_id, Unset):
        new_owner = _owner(db, scope, employee_id)
        if note_change(changes, "employee_id", phone.employee_id, new_owner):
            phone.employee_id = new_owner
            phone.session_epoch += 1
            phone.bundle_digest = None
    if changes:
        flush_unique(db, _label_taken())
        record_admin_action(
            db,
            actor=actor,
            municipality_id=phone.municipality_id,
            action="phone.changed",
            target_type="phone",
            target_id=phone.id,
            reason=reason_text(reason),
            now=now,
            details=changes,
        )
    return _views(db, [phone])[0]
