"""The municipality's requests to housing associations for permission to fit entrance and gate
modules (issue 16): sent by the municipality's administrators for one property (its entrances,
its gates or both, with a due date and a note), reminded while open, answered by the
association in its portal (``associations.service.answer_permission_request``), and shown per
property: none, requested, granted, refused or withdrawn, with an overdue flag and the number
of reminders. A granted permission is what ``consents.service.granted_permission`` finds.

Every step is recorded (``audit.actions``) in the same transaction. Nothing here commits.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Final

from sqlalchemy.orm import Session

from carekey.access import Action, Actor, get_installation_object, reach
from carekey.audit.actions import record_admin_action
from carekey.consents import permission_queries as sql
from carekey.domain import enums as e
from carekey.domain.errors import ConflictError, InvariantError, forbidden, not_found
from carekey.domain.paging import DEFAULT_PAGE_SIZE, Page, check_page
from carekey.domain.text import optional_text
from carekey.store import models as m

REMINDER_INTERVAL: Final = dt.timedelta(days=7)
"""How often an open request is reminded once it is due (``remind_overdue``)."""
DEFAULT_DUE: Final = dt.timedelta(days=14)
"""The due date of a request sent without one."""
MAX_NOTE: Final = 2000
NONE: Final = sql.NONE
STATES: Final = (NONE, *(s.value for s in e.PermissionStatus))
"""The states of a property: no request yet, or its latest request's status."""


@dataclass(frozen=True)
class PropertyPermission:
    """A property with an association and its latest permission request, if any."""

    prop: m.Property
    association: m.HousingAssociation
    request: m.PermissionRequest | None
    now: dt.datetime

    @property
    def state(self) -> str:
        """``"none"``, or the latest request's status."""
        return NONE if self.request is None else self.request.status.value

    @property
    def overdue(self) -> bool:
        """Whether the request is still open past its due date."""
        return is_overdue(self.request, self.now)


def is_overdue(request: m.PermissionRequest | None, now: dt.datetime) -> bool:
    """Whether the request is open past its due date."""
    return (
        request is not None
        and request.status is e.PermissionStatus.REQUESTED
        and request.due_at is not None
        and request.due_at < now
    )


def permission_states(
    db: Session,
    *,
    actor: Actor,
    now: dt.datetime,
    state: str | None = None,
    overdue: bool = False,
    limit: int = DEFAULT_PAGE_SIZE,
    offset: int = 0,
) -> Page[PropertyPermission]:
    """The municipality's properties with an association and their permission state, by
    address (administrators and auditors: all; a district lead: those of their citizens)."""
    scope = reach(actor, Action.READ_INSTALLATIONS)
    if scope.restricted:
        raise forbidden()
    check_page(limit, offset)
    if state is not None and state not in STATES:
        raise InvariantError(
            "permission.bad_state", "Ukendt tilstand", f"Unknown state; one of {', '.join(STATES)}"
        )
    rows, total = sql.property_states(
        db,
        scope,
        state=state,
        overdue_at=now if overdue else None,
        limit=limit,
        offset=offset,
    )
    return Page([PropertyPermission(p, a, r, now) for p, a, r in rows], total, limit, offset)


def list_requests(
    db: Session,
    *,
    actor: Actor,
    status: e.PermissionStatus | None = None,
    property_id: int | None = None,
    limit: int = DEFAULT_PAGE_SIZE,
    offset: int = 0,
) -> Page[m.PermissionRequest]:
    """The municipality's permission requests, newest first."""
    scope = reach(actor, Action.READ_INSTALLATIONS)
    if scope.restricted:
        raise forbidden()
    check_page(limit, offset)
    rows, total = sql.requests(
        db, scope, status=status, property_id=property_id, limit=limit, offset=offset
    )
    return Page(rows, total, limit, offset)


def send_permission_request(
    db: Session,
    *,
    actor: Actor,
    property_id: int,
    now: dt.datetime,
    covers_entrances: bool = True,
    covers_gates: bool = False,
    due_at: dt.datetime | None = None,
    note: str | None = None,
) -> m.PermissionRequest:
    """Ask the property's housing association for permission to fit modules at its entrances
    and/or gates, to be answered by ``due_at`` (two weeks, if not given). One open request per
    property at a time (409)."""
    scope = reach(actor, Action.REQUEST_PERMISSION)
    if scope.restricted:
        raise forbidden()
    prop = sql.property_in(db, scope, property_id)
    if prop is None or prop.housing_association_id is None:
        raise not_found("Ejendommen", "property")
    text = optional_text(
        note, max_length=MAX_NOTE, code="permission.bad_note", what_da="Noten", what_en="The note"
    )
    if not (covers_entrances or covers_gates):
        raise InvariantError(
            "permission.nothing_covered",
            "Vælg opgange, porte eller begge",
            "Choose entrances, gates or both",
        )
    due = due_at or now + DEFAULT_DUE
    if due <= now:
        raise InvariantError(
            "permission.due_in_past",
            "Svarfristen skal ligge efter i dag",
            "The due date must be in the future",
        )
    if sql.open_request_for(db, municipality_id=actor.municipality_id, property_id=prop.id):
        raise ConflictError(
            "permission.already_open",
            "Der er allerede en åben anmodning for ejendommen; send en påmindelse i stedet",
            "The property already has an open request; send a reminder instead",
        )
    request = m.PermissionRequest(
        municipality_id=actor.municipality_id,
        housing_association_id=prop.housing_association_id,
        property_id=prop.id,
        covers_entrances=covers_entrances,
        covers_gates=covers_gates,
        status=e.PermissionStatus.REQUESTED,
        requested_at=now,
        requested_by_employee_id=actor.employee_id,
        due_at=due,
        reminders=0,
        note=text,
    )
    db.add(request)
    db.flush()
    record_admin_action(
        db,
        actor=actor,
        municipality_id=actor.municipality_id,
        action="permission.requested",
        target_type="permission_request",
        target_id=request.id,
        reason=text,
        now=now,
        details={
            "property_id": prop.id,
            "housing_association_id": prop.housing_association_id,
            "covers_entrances": covers_entrances,
            "covers_gates": covers_gates,
            "due_at": due.isoformat(),
        },
    )
    return request


def _remind(
    db: Session, request: m.PermissionRequest, *, actor: Actor | None, now: dt.datetime
) -> None:
    request.reminders = (request.reminders or 0) + 1
    request.last_reminded_at = now
    db.flush()
    record_admin_action(
        db,
        actor=actor,
        municipality_id=request.municipality_id,
        action="permission.reminded",
        target_type="permission_request",
        target_id=request.id,
        now=now,
        details={"property_id": request.property_id, "reminders": request.reminders},
    )


def remind(db: Session, *, actor: Actor, request_id: int, now: dt.datetime) -> m.PermissionRequest:
    """Remind the association of an open request now (409 once it is answered)."""
    scope = reach(actor, Action.REQUEST_PERMISSION)
    if scope.restricted:
        raise forbidden()
    request = get_installation_object(db, scope, m.PermissionRequest, request_id)
    if request.status is not e.PermissionStatus.REQUESTED:
        raise ConflictError(
            "permission.not_open",
            "Anmodningen er allerede besvaret",
            "The request has already been answered",
        )
    _remind(db, request, actor=actor, now=now)
    return request


def remind_overdue(
    db: Session, *, now: dt.datetime, interval: dt.timedelta = REMINDER_INTERVAL
) -> list[m.PermissionRequest]:
    """Remind every open request of every municipality that is due (past its due date, or
    unanswered for ``interval`` without one) and not reminded within ``interval``; the job of
    ``carekey permissions remind``. Each reminder is recorded (by the system: no actor)."""
    due = sql.due_for_reminder(db, now=now, interval=interval)
    for request in due:
        _remind(db, request, actor=None, now=now)
    return due


def get_request(db: Session, *, actor: Actor, request_id: int) -> m.PermissionRequest:
    """One request in the actor's reach."""
    scope = reach(actor, Action.READ_INSTALLATIONS)
    if scope.restricted:
        raise forbidden()
    return get_installation_object(db, scope, m.PermissionRequest, request_id)
