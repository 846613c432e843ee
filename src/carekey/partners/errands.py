"""One-off deliveries to a named resident (errands, ærinder): a partner company's administrator
asks for a time-limited key to one stairwell for one delivery, inside an existing agreement
(issue 15).

An errand is checked as a whole before anything is written, and refused with a stable code and
Danish and English text:

- the agreement is the company's own (another company's is 404), needs an errand per visit
  (a delivery to a named resident), has not ended and is not blocked by its association; the
  company is not blocked by the municipality;
- the entrance is one the agreement covers (an entrance controller on the agreement);
- the worker, if one is named, is an active worker of the company (else any of its workers);
- the period starts now or later (:data:`START_SLACK` for a form typed a minute ago), lasts at
  most :data:`MAX_ERRAND_LENGTH`, starts within :data:`MAX_AHEAD`, lies inside the agreement's
  validity and meets at least one of its weekly windows (the door still applies the windows:
  an errand outside all of them would be a key that never opens);
- the purpose is a kind of delivery the agreement's legal basis allows (default: the
  company's own category).

An approved errand reaches the worker's phone at the next heartbeat (REFRESH) through the key
service, which turns it into a credential for that entrance and that period only. Cancelling it
puts the credentials already issued for it on the denylist (``revocation.partners.revoke_errands``)
at once. Every request and cancellation is written to the log of administrative actions in the
same transaction. Nothing here commits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from sqlalchemy.orm import Session

from carekey.access import Action, Actor, Scope, reach
from carekey.access.org_queries import get_org_object
from carekey.audit.actions import record_admin_action
from carekey.clock import COPENHAGEN
from carekey.domain import enums as e
from carekey.domain.errors import ConflictError, InvariantError, forbidden
from carekey.domain.paging import DEFAULT_PAGE_SIZE, Page, check_page
from carekey.domain.partner_policy import BASES_FOR_CATEGORY, ERRAND_BASES
from carekey.domain.places import Address
from carekey.domain.text import optional_text, required_text
from carekey.domain.values import TimeWindow
from carekey.partners import errand_queries as sql
from carekey.revocation.partners import revoke_errands
from carekey.store import models as m

MAX_ERRAND_LENGTH: Final = dt.timedelta(hours=24)
"""One delivery needs hours, not days: a longer period would be a standing key."""
MAX_AHEAD: Final = dt.timedelta(days=30)
"""How far ahead a delivery may be booked."""
START_SLACK: Final = dt.timedelta(minutes=5)
"""A period may start this much before now: a form filled in at 10:00 "from 10:00" is sent a
minute later."""
ERRAND_PURPOSES: Final = tuple(
    c for c in e.PartnerCategory if BASES_FOR_CATEGORY.get(c, frozenset()) & ERRAND_BASES
)
"""What may be delivered on an errand: the kinds of delivery a named-resident basis covers."""
MAX_REFERENCE: Final = 64
MAX_RECIPIENT: Final = 200
MAX_REASON: Final = 2000
CANCEL_REASON: Final = e.DenylistReason.AGREEMENT_ENDED
"""The denylist has no reason of its own for a cancelled errand (a new value would need a
migration); the errand's key ends the way an ended agreement's does."""


def company_scope(actor: Actor, action: Action) -> Scope:
    """The actor's own company's scope for ``action``; 403 for anyone who is not a partner
    company's administrator (the municipality's staff and associations have other pages)."""
    scope = reach(actor, action)
    if scope.company_id is None:
        raise forbidden()
    return scope


# --- what the use cases take and give ----------------------------------------------------------


@dataclass(frozen=True)
class NewErrand:
    """An errand to request. ``employee_id`` None: any worker of the company may deliver;
    ``purpose`` None: the company's own category."""

    agreement_id: int
    entrance_id: int
    reference: str
    recipient: str
    not_before: dt.datetime
    not_after: dt.datetime
    employee_id: int | None = None
    purpose: e.PartnerCategory | None = None


@dataclass(frozen=True)
class ErrandFilter:
    """What the list of errands is narrowed to: a state, and a period the errand overlaps."""

    state: e.ErrandStatus | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None


@dataclass(frozen=True)
class ErrandView:
    """An errand, where it goes, who delivers it, and its state now."""

    errand: m.Errand
    association_name: str
    address: Address
    worker_name: str | None
    state: e.ErrandStatus


@dataclass(frozen=True)
class Cancelled:
    """A cancelled errand and the denylist version that carries its revoked keys (None: no
    key had been issued for it yet)."""

    view: ErrandView
    denylist_version: int | None


@dataclass(frozen=True)
class AgreementChoice:
    """An agreement the form offers, with the association and the entrances it covers."""

    agreement: m.Agreement
    association_name: str
    entrances: list[Address]


def state_of(errand: m.Errand, now: dt.datetime) -> e.ErrandStatus:
    """The errand's state as people see it: an approved errand whose period is over has
    expired."""
    if errand.status is e.ErrandStatus.APPROVED and errand.not_after <= now:
        return e.ErrandStatus.EXPIRED
    return e.ErrandStatus(errand.status)


def _address(entrance: m.Entrance, prop: m.Property) -> Address:
    return Address(
        property_id=prop.id,
        street=prop.street,
        house_number=prop.house_number,
        postal_code=prop.postal_code,
        city=prop.city,
        entrance_id=entrance.id,
        entrance_label=entrance.label,
    )


def _view(row: sql.ErrandRow, now: dt.datetime) -> ErrandView:
    return ErrandView(
        row.errand,
        row.association_name,
        _address(row.entrance, row.property),
        row.worker_name,
        state_of(row.errand, now),
    )


# --- reading -----------------------------------------------------------------------------------


def list_errands(
    db: Session,
    *,
    actor: Actor,
    now: dt.datetime,
    filters: ErrandFilter = ErrandFilter(),
    limit: int = DEFAULT_PAGE_SIZE,
    offset: int = 0,
) -> Page[ErrandView]:
    """The company's errands, the latest period first: in a state, and overlapping a period."""
    scope = company_scope(actor, Action.REQUEST_ERRAND)
    check_page(limit, offset)
    rows, total = sql.errands(
        db,
        scope,
        now=now,
        state=filters.state,
        since=filters.since,
        until=filters.until,
        limit=limit,
        offset=offset,
    )
    return Page([_view(r, now) for r in rows], total, limit, offset)


def get_errand(db: Session, *, actor: Actor, errand_id: int, now: dt.datetime) -> ErrandView:
    """One of the company's errands (404 for another company's)."""
    scope = company_scope(actor, Action.REQUEST_ERRAND)
    return _one(db, scope, errand_id, now)


def _one(db: Session, scope: Scope, errand_id: int, now: dt.datetime) -> ErrandView:
    errand = get_org_object(db, scope, m.Errand, errand_id)
    rows, _total = sql.errands(db, scope, now=now, errand_id=errand.id, limit=1)
    return _view(rows[0], now)


def errand_choices(db: Session, *, actor: Actor, now: dt.datetime) -> list[AgreementChoice]:
    """The agreements an errand may be requested under now, with their entrances."""
    scope = company_scope(actor, Action.REQUEST_ERRAND)
    found = sql.errand_agreements(db, scope, now=now)
    entrances = sql.agreement_entrances(db, [a.id for a, _name in found])
    return [
        AgreementChoice(
            a, name, [_address(p.entrance, p.property) for p in entrances.get(a.id, [])]
        )
        for a, name in found
    ]


def company_workers(db: Session, *, actor: Actor) -> list[m.Employee]:
    """The company's active workers, for choosing who delivers."""
    return sql.workers(db, company_scope(actor, Action.REQUEST_ERRAND))


# --- the rules of an errand --------------------------------------------------------------------


def _check_agreement(company: m.PartnerCompany, agreement: m.Agreement, now: dt.datetime) -> None:
    if company.status is not e.PartnerStatus.ACTIVE:
        raise ConflictError(
            "errand.company_blocked",
            "Firmaet er spærret af kommunen og kan ikke bestille ærinder",
            "The company is blocked by the municipality and cannot request errands",
        )
    if agreement.valid_until is not None and agreement.valid_until <= now:
        raise ConflictError(
            "errand.agreement_ended",
            "Aftalen er afsluttet; der kan ikke bestilles ærinder under den",
            "The agreement has ended; no errands can be requested under it",
        )
    if agreement.blocked:
        raise ConflictError(
            "errand.agreement_blocked",
            "Boligforeningen har spærret aftalen; der kan ikke bestilles ærinder under den",
            "The housing association has blocked the agreement; no errands can be requested",
        )
    if not agreement.requires_errand:
        raise InvariantError(
            "errand.not_needed",
            "Aftalen giver adgang i sine tidsvinduer uden ærinde; vælg en aftale om levering "
            "til en navngiven beboer",
            "The agreement admits in its windows without an errand; choose an agreement for "
            "deliveries to a named resident",
        )


def _check_period(
    agreement: m.Agreement,
    windows: Sequence[TimeWindow],
    not_before: dt.datetime,
    not_after: dt.datetime,
    now: dt.datetime,
) -> None:
    if not_before.tzinfo is None or not_after.tzinfo is None:
        raise InvariantError(
            "validity.naive_time",
            "Tidspunkter skal have tidszone",
            "Timestamps must carry a time zone",
        )
    if not_after <= not_before:
        raise InvariantError(
            "errand.empty_period",
            "Ærindet skal slutte efter, det begynder",
            "The errand must end after it begins",
        )
    if not_before < now - START_SLACK:
        raise InvariantError(
            "errand.in_the_past",
            "Ærindet skal ligge fremme i tiden",
            "The errand must lie in the future",
        )
    if not_after - not_before > MAX_ERRAND_LENGTH:
        hours = int(MAX_ERRAND_LENGTH.total_seconds() // 3600)
        raise InvariantError(
            "errand.too_long",
            f"Et ærinde må højst vare {hours} timer",
            f"An errand may last at most {hours} hours",
        )
    if not_before > now + MAX_AHEAD:
        raise InvariantError(
            "errand.too_far_ahead",
            f"Et ærinde kan højst bestilles {MAX_AHEAD.days} dage frem",
            f"An errand can be requested at most {MAX_AHEAD.days} days ahead",
        )
    if not_before < agreement.valid_from or (
        agreement.valid_until is not None and not_after > agreement.valid_until
    ):
        raise InvariantError(
            "errand.outside_agreement",
            "Ærindet skal ligge inden for aftalens gyldighed",
            "The errand must lie within the agreement's validity",
        )
    if not meets_a_window(windows, not_before, not_after):
        raise InvariantError(
            "errand.outside_windows",
            "Ærindet ligger uden for alle aftalens tidsvinduer; døren ville ikke åbne",
            "The errand lies outside every window of the agreement; the door would not open",
        )


def meets_a_window(
    windows: Sequence[TimeWindow], not_before: dt.datetime, not_after: dt.datetime
) -> bool:
    """Whether ``[not_before, not_after)`` overlaps one of the weekly windows, in Danish local
    time (as the door evaluates them, across daylight saving)."""
    first = not_before.astimezone(COPENHAGEN).date() - dt.timedelta(days=1)
    last = not_after.astimezone(COPENHAGEN).date()
    day = first
    while day <= last:
        midnight = dt.datetime.combine(day, dt.time(), COPENHAGEN)
        for w in windows:
            if w.weekday != day.weekday():
                continue
            start = (midnight + dt.timedelta(minutes=w.start_minute)).astimezone(dt.UTC)
            end = (midnight + dt.timedelta(minutes=w.end_minute)).astimezone(dt.UTC)
            if start < not_after and not_before < end:
                return True
        day += dt.timedelta(days=1)
    return False


def _purpose(
    company: m.PartnerCompany, agreement: m.Agreement, chosen: e.PartnerCategory | None
) -> e.PartnerCategory:
    purpose = chosen or e.PartnerCategory(company.category)
    if agreement.legal_basis not in BASES_FOR_CATEGORY.get(purpose, frozenset()):
        raise InvariantError(
            "errand.purpose_not_allowed",
            f"Aftalens grundlag dækker ikke levering af {purpose.value}",
            f"The agreement's legal basis does not cover delivering {purpose.value}",
        )
    return purpose


def _worker(db: Session, scope: Scope, employee_id: int | None) -> m.Employee | None:
    if employee_id is None:
        return None
    worker = get_org_object(db, scope, m.Employee, employee_id)
    if not sql.is_active_worker(db, worker.id):
        raise InvariantError(
            "errand.not_a_worker",
            "Vælg en aktiv medarbejder i firmaet, der kører ud",
            "Choose an active worker of the company who delivers",
        )
    return worker


# --- requesting and cancelling -----------------------------------------------------------------


def request_errand(db: Session, *, actor: Actor, new: NewErrand, now: dt.datetime) -> ErrandView:
    """Request (and approve) an errand under one of the company's agreements; the worker's keys
    get it at the next heartbeat. Refused as a whole (nothing written) when a rule fails."""
    scope = company_scope(actor, Action.REQUEST_ERRAND)
    agreement = get_org_object(db, scope, m.Agreement, new.agreement_id)
    assert scope.company_id is not None
    company = get_org_object(db, scope, m.PartnerCompany, scope.company_id)
    _check_agreement(company, agreement, now)
    covered = sql.agreement_entrances(db, [agreement.id]).get(agreement.id, [])
    if new.entrance_id not in {p.entrance.id for p in covered}:
        raise InvariantError(
            "errand.entrance_not_covered",
            "Opgangen er ikke omfattet af aftalen",
            "The entrance is not covered by the agreement",
        )
    worker = _worker(db, scope, new.employee_id)
    reference = required_text(
        new.reference,
        max_length=MAX_REFERENCE,
        code="errand.bad_reference",
        what_da="Ordrenummeret",
        what_en="The order reference",
    )
    recipient = required_text(
        new.recipient,
        max_length=MAX_RECIPIENT,
        code="errand.bad_recipient",
        what_da="Modtageren",
        what_en="The recipient",
    )
    windows = [
        TimeWindow(w.weekday, w.start_minute, w.end_minute)
        for w in sql.windows_of(db, agreement.id)
    ]
    _check_period(agreement, windows, new.not_before, new.not_after, now)
    purpose = _purpose(company, agreement, new.purpose)
    errand = m.Errand(
        agreement_id=agreement.id,
        employee_id=worker.id if worker else None,
        entrance_id=new.entrance_id,
        purpose=purpose,
        reference=reference,
        recipient=recipient,
        not_before=new.not_before,
        not_after=new.not_after,
        status=e.ErrandStatus.APPROVED,
        requested_by_employee_id=actor.employee_id,
    )
    db.add(errand)
    db.flush()
    record_admin_action(
        db,
        actor=actor,
        municipality_id=actor.municipality_id,
        action="errand.requested",
        target_type="errand",
        target_id=errand.id,
        now=now,
        details={
            "agreement_id": agreement.id,
            "entrance_id": new.entrance_id,
            "employee_id": errand.employee_id,
            "reference": reference,
            "not_before": new.not_before.isoformat(),
            "not_after": new.not_after.isoformat(),
        },
    )
    return _one(db, scope, errand.id, now)


def cancel_errand(
    db: Session, *, actor: Actor, errand_id: int, reason: str | None, now: dt.datetime
) -> Cancelled:
    """Cancel an approved errand whose period is not over: no new keys for it, and those
    already issued for it go on the denylist in one new version. 409 for an errand that is
    cancelled, used or over."""
    scope = company_scope(actor, Action.REQUEST_ERRAND)
    errand = get_org_object(db, scope, m.Errand, errand_id)
    if state_of(errand, now) is not e.ErrandStatus.APPROVED:
        raise ConflictError(
            "errand.not_cancellable",
            "Ærindet er allerede aflyst, brugt eller udløbet",
            "The errand is already cancelled, used or expired",
        )
    text = optional_text(
        reason,
        max_length=MAX_REASON,
        code="errand.bad_reason",
        what_da="Begrundelsen",
        what_en="The reason",
    )
    errand.status = e.ErrandStatus.CANCELLED
    db.flush()
    version = revoke_errands(
        db,
        municipality_id=actor.municipality_id,
        errand_ids=[errand.id],
        reason=CANCEL_REASON,
        now=now,
    )
    record_admin_action(
        db,
        actor=actor,
        municipality_id=actor.municipality_id,
        action="errand.cancelled",
        target_type="errand",
        target_id=errand.id,
        reason=text,
        now=now,
        details={"agreement_id": errand.agreement_id, "denylist_version": version},
    )
    return Cancelled(_one(db, scope, errand.id, now), version)
