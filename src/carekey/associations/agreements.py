"""The housing association's agreements with partner companies: make, change, end, and block
or unblock a company (issue 15).

An agreement is checked against the partner access policy as a whole before anything is
written (``domain.partner_policy.check_organisation`` and ``check_agreement``): an approved
company of the municipality's register, a legal basis its kind may state, entrances and gates
of the association's own properties with a module fitted, weekly windows, a validity. A refused
agreement is a 422 with the rule's code, and nothing is written.

What an agreement admits takes effect at once: ending it, narrowing it (a door, a window or the
validity taken away) or blocking its company revokes the credentials already issued under it
through the denylist (``revocation.partners.revoke_agreements``); the company's workers keep
their keys to other associations' stairwells. Every change is written to the log of
administrative actions in the same transaction. Nothing here commits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from sqlalchemy.orm import Session

from carekey.access import Action, Actor, Scope
from carekey.access.org_queries import get_org_object
from carekey.associations import queries as sql
from carekey.associations.service import HistoryLine, association_scope, history
from carekey.audit.actions import record_admin_action
from carekey.domain import enums as e
from carekey.domain.changes import UNSET, Unset
from carekey.domain.errors import ConflictError, InvariantError, NotFoundError, not_found
from carekey.domain.paging import DEFAULT_PAGE_SIZE, Page, check_page
from carekey.domain.partner_policy import (
    ERRAND_BASES,
    AgreementTerms,
    LegalBasis,
    Organisation,
    check_agreement,
    check_organisation,
)
from carekey.domain.text import optional_text
from carekey.domain.values import MAX_ID, TimeWindow, check_validity
from carekey.revocation.partners import revoke_agreements
from carekey.store import models as m
from carekey.webhooks import service as webhooks

MAX_REASON: Final = 2000
MAX_IDS: Final = 500
ENDED_NUDGE: Final = dt.timedelta(seconds=1)
"""An agreement ended before it began is closed as "from a second ago until now"."""


# --- what the use cases take and give ----------------------------------------------------------


@dataclass(frozen=True)
class DoorChoice:
    """Which controllers an agreement covers: every module of whole properties, and modules
    of chosen entrances and gates (all of the association's own)."""

    property_ids: Sequence[int] = ()
    entrance_ids: Sequence[int] = ()
    gate_ids: Sequence[int] = ()


@dataclass(frozen=True)
class WindowSpec:
    """A weekly window as typed: weekday 0 = Monday, start and end "HH:MM" in local time."""

    weekday: int
    start: str
    end: str


@dataclass(frozen=True)
class NewAgreement:
    """An agreement to make. ``valid_from`` None: from now."""

    company_id: int
    basis: LegalBasis
    doors: DoorChoice
    windows: Sequence[WindowSpec]
    valid_from: dt.datetime | None = None
    valid_until: dt.datetime | None = None


@dataclass(frozen=True)
class AgreementChanges:
    """What to change; a field left ``UNSET`` stays as it is."""

    doors: DoorChoice | Unset = UNSET
    windows: Sequence[WindowSpec] | Unset = UNSET
    valid_from: dt.datetime | Unset = UNSET
    valid_until: dt.datetime | Unset | None = UNSET


@dataclass(frozen=True)
class AgreementView:
    """An agreement with its company, controllers and windows, and its state now."""

    agreement: m.Agreement
    company: m.PartnerCompany
    doors: list[sql.DoorPlace]
    windows: list[TimeWindow]
    state: str  # "active", "upcoming", "ended" or "blocked"
    history: list[HistoryLine] = field(default_factory=list)


@dataclass(frozen=True)
class CompanyBlock:
    """What blocking or unblocking a company did."""

    company: m.PartnerCompany
    agreement_ids: list[int]
    denylist_version: int | None = None

    @property
    def changed(self) -> int:
        return len(self.agreement_ids)


def state_of(agreement: m.Agreement, now: dt.datetime) -> str:
    """Whether the agreement admits now: ended, blocked, not begun yet, or active."""
    if agreement.valid_until is not None and agreement.valid_until <= now:
        return "ended"
    if agreement.blocked:
        return "blocked"
    if agreement.valid_from > now:
        return "upcoming"
    return "active"


def _windows(rows: Sequence[m.AgreementWindow]) -> list[TimeWindow]:
    return [TimeWindow(w.weekday, w.start_minute, w.end_minute) for w in rows]


def _views(
    db: Session,
    rows: Sequence[tuple[m.Agreement, m.PartnerCompany]],
    now: dt.datetime,
) -> list[AgreementView]:
    ids = [a.id for a, _c in rows]
    doors = sql.doors_of(db, ids)
    windows = sql.windows_of(db, ids)
    return [
        AgreementView(a, c, doors.get(a.id, []), _windows(windows.get(a.id, [])), state_of(a, now))
        for a, c in rows
    ]


# --- reading -----------------------------------------------------------------------------------


def list_agreements(
    db: Session,
    *,
    actor: Actor,
    now: dt.datetime,
    company_id: int | None = None,
    limit: int = DEFAULT_PAGE_SIZE,
    offset: int = 0,
) -> Page[AgreementView]:
    """The association's agreements, by company, the newest first."""
    scope = association_scope(actor, Action.READ_AGREEMENTS)
    check_page(limit, offset)
    rows, total = sql.agreements(db, scope, company_id=company_id, limit=limit, offset=offset)
    return Page(_views(db, rows, now), total, limit, offset)


def _agreement(db: Session, scope: Scope, agreement_id: int) -> m.Agreement:
    return get_org_object(db, scope, m.Agreement, agreement_id)


def _view(db: Session, scope: Scope, agreement: m.Agreement, now: dt.datetime) -> AgreementView:
    company = db.get(m.PartnerCompany, agreement.partner_company_id)
    assert company is not None
    view = _views(db, [(agreement, company)], now)[0]
    return AgreementView(
        view.agreement,
        view.company,
        view.doors,
        view.windows,
        view.state,
        history(db, scope, target_type="agreement", target_id=agreement.id),
    )


def get_agreement(
    db: Session, *, actor: Actor, agreement_id: int, now: dt.datetime
) -> AgreementView:
    """One of the association's agreements, with its history (404 for anyone else's)."""
    scope = association_scope(actor, Action.READ_AGREEMENTS)
    return _view(db, scope, _agreement(db, scope, agreement_id), now)


# --- the rules of an agreement -----------------------------------------------------------------


def _ids(values: Sequence[int]) -> list[int]:
    chosen = sorted(set(values))
    if len(chosen) > MAX_IDS:
        raise InvariantError(
            "agreement.too_many_doors",
            f"Vælg højst {MAX_IDS} ejendomme, opgange eller porte ad gangen",
            f"Choose at most {MAX_IDS} properties, entrances or gates at a time",
        )
    return chosen


def _no_module(what_da: str, what_en: str) -> InvariantError:
    return InvariantError(
        "agreement.no_module",
        f"{what_da} har intet modul monteret; vælg en opgang eller port med et modul",
        f"{what_en} has no module fitted; choose an entrance or gate with a module",
    )


def resolve_doors(db: Session, scope: Scope, choice: DoorChoice) -> list[m.DoorDevice]:
    """The live controllers ``choice`` names, by id: every module of each chosen property, and
    the modules of each chosen entrance and gate. Another association's property, entrance or
    gate is 404; one without a module fitted is refused (``agreement.no_module``)."""
    doors: dict[int, m.DoorDevice] = {}
    for property_id in _ids(choice.property_ids):
        prop = get_org_object(db, scope, m.Property, property_id)
        found = sql.modules(db, scope, [prop.id])
        if not found:
            raise _no_module(f"Ejendommen {prop.street} {prop.house_number}", "The property")
        doors.update((d.id, d) for d in found)
    for entrance_id in _ids(choice.entrance_ids):
        entrance = sql.own_entrance(db, scope, entrance_id) if entrance_id <= MAX_ID else None
        if entrance is None:
            raise not_found("Opgangen", "entrance")
        found = sql.modules_at(db, scope, entrance_ids=[entrance.id])
        if not found:
            raise _no_module(f"Opgangen {entrance.label}", "The entrance")
        doors.update((d.id, d) for d in found)
    for gate_id in _ids(choice.gate_ids):
        gate = sql.own_gate(db, scope, gate_id) if gate_id <= MAX_ID else None
        if gate is None:
            raise not_found("Porten", "gate")
        found = sql.modules_at(db, scope, gate_ids=[gate.id])
        if not found:
            raise _no_module(f"Porten {gate.label}", "The gate")
        doors.update((d.id, d) for d in found)
    return [doors[i] for i in sorted(doors)]


def parse_windows(specs: Sequence[WindowSpec]) -> tuple[TimeWindow, ...]:
    """The windows as typed, each checked (a weekday, "HH:MM" within one day, not empty)."""
    if len(specs) > 7 * 24:
        raise InvariantError(
            "agreement.too_many_windows",
            "En aftale kan højst have 168 tidsvinduer",
            "An agreement can have at most 168 time windows",
        )
    return tuple(TimeWindow.parse(s.weekday, s.start.strip(), s.end.strip()) for s in specs)


def organisation_of(company: m.PartnerCompany) -> Organisation:
    """The company as the access policy sees it."""
    return Organisation(
        kind=company.organisation_kind,
        category=company.category,
        status=company.status,
        cvr=company.cvr,
    )


def _check(
    company: m.PartnerCompany,
    basis: LegalBasis,
    doors: Sequence[m.DoorDevice],
    windows: Sequence[TimeWindow],
) -> tuple[TimeWindow, ...]:
    organisation = organisation_of(company)
    check_organisation(organisation)
    terms = AgreementTerms(
        basis=basis,
        door_kinds=tuple(e.DoorKind(d.kind) for d in doors),
        windows=tuple(windows),
        requires_errand=basis in ERRAND_BASES,
    )
    return check_agreement(organisation, terms)


def _company_blocked_here() -> ConflictError:
    return ConflictError(
        "agreement.company_blocked",
        "I har spærret firmaet; ophæv spærringen, før I laver en ny aftale med det",
        "You have blocked the company; unblock it before making a new agreement with it",
    )


def _ended() -> ConflictError:
    return ConflictError(
        "agreement.ended", "Aftalen er allerede afsluttet", "The agreement has already ended"
    )


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _window_texts(windows: Sequence[TimeWindow]) -> list[list[int]]:
    return [[w.weekday, w.start_minute, w.end_minute] for w in windows]


# --- making, changing and ending ---------------------------------------------------------------


def create_agreement(
    db: Session,
    *,
    actor: Actor,
    new: NewAgreement,
    now: dt.datetime,
    reason: str | None = None,
) -> AgreementView:
    """Make an agreement with a company of the municipality's register. ``requires_errand``
    follows the legal basis (a delivery to a named resident needs an errand per visit)."""
    scope = association_scope(actor, Action.MANAGE_AGREEMENTS)
    company = get_org_object(db, scope, m.PartnerCompany, new.company_id)
    doors = resolve_doors(db, scope, new.doors)
    windows = _check(company, new.basis, doors, parse_windows(new.windows))
    valid_from = new.valid_from or now
    check_validity(valid_from, new.valid_until)
    if new.valid_until is not None and new.valid_until <= now:
        raise InvariantError(
            "agreement.ends_in_past",
            "Aftalen skal gælde til et tidspunkt i fremtiden",
            "The agreement must be valid until a time in the future",
        )
    if any(a.blocked for a in sql.agreements_with(db, scope, company.id)):
        raise _company_blocked_here()
    assert scope.association_id is not None
    agreement = m.Agreement(
        housing_association_id=scope.association_id,
        partner_company_id=company.id,
        legal_basis=new.basis,
        valid_from=valid_from,
        valid_until=new.valid_until,
        requires_errand=new.basis in ERRAND_BASES,
        blocked=False,
        created_at=now,
    )
    db.add(agreement)
    db.flush()
    db.add_all(
        m.AgreementDoor(agreement_id=agreement.id, door_device_id=d.id, door_kind=d.kind)
        for d in doors
    )
    db.add_all(
        m.AgreementWindow(
            agreement_id=agreement.id,
            weekday=w.weekday,
            start_minute=w.start_minute,
            end_minute=w.end_minute,
        )
        for w in windows
    )
    db.flush()
    record_admin_action(
        db,
        actor=actor,
        municipality_id=actor.municipality_id,
        action="agreement.created",
        target_type="agreement",
        target_id=agreement.id,
        reason=_reason(reason),
        now=now,
        details={
            "partner_company_id": company.id,
            "legal_basis": new.basis.value,
            "requires_errand": agreement.requires_errand,
            "door_device_ids": [d.id for d in doors],
            "windows": _window_texts(windows),
            "valid_from": _iso(valid_from),
            "valid_until": _iso(new.valid_until),
        },
    )
    return _view(db, scope, agreement, now)


def _reason(reason: str | None) -> str | None:
    return optional_text(
        reason,
        max_length=MAX_REASON,
        code="agreement.bad_reason",
        what_da="Begrundelsen",
        what_en="The reason",
    )


def update_agreement(
    db: Session,
    *,
    actor: Actor,
    agreement_id: int,
    changes: AgreementChanges,
    now: dt.datetime,
    reason: str | None = None,
) -> AgreementView:
    """Change an agreement's controllers, windows or validity (not an ended one: 409). The
    whole agreement is checked again; a door, a window or time taken away revokes the
    credentials issued under it, so the narrower agreement holds at once."""
    scope = association_scope(actor, Action.MANAGE_AGREEMENTS)
    agreement = _agreement(db, scope, agreement_id)
    if state_of(agreement, now) == "ended":
        raise _ended()
    company = db.get(m.PartnerCompany, agreement.partner_company_id)
    assert company is not None
    old_door_ids = sql.door_ids_of(db, agreement.id)
    old_windows = tuple(_windows(sql.windows_of(db, [agreement.id]).get(agreement.id, [])))
    if isinstance(changes.doors, Unset):
        doors = _current_doors(db, agreement.id)
    else:
        doors = resolve_doors(db, scope, changes.doors)
    given = old_windows if isinstance(changes.windows, Unset) else parse_windows(changes.windows)
    windows = _check(company, LegalBasis(agreement.legal_basis), doors, given)
    valid_from = (
        agreement.valid_from if isinstance(changes.valid_from, Unset) else changes.valid_from
    )
    valid_until = (
        agreement.valid_until if isinstance(changes.valid_until, Unset) else changes.valid_until
    )
    check_validity(valid_from, valid_until)
    if valid_until is not None and valid_until <= now:
        raise InvariantError(
            "agreement.ends_in_past",
            "Brug »Afslut aftalen« for at afslutte den nu",
            "Use “End the agreement” to end it now",
        )
    new_door_ids = {d.id for d in doors}
    changed: dict[str, Any] = {}
    if new_door_ids != old_door_ids:
        changed["door_device_ids"] = {"from": sorted(old_door_ids), "to": sorted(new_door_ids)}
        sql.remove_doors(db, agreement.id, old_door_ids - new_door_ids)
        db.add_all(
            m.AgreementDoor(agreement_id=agreement.id, door_device_id=d.id, door_kind=d.kind)
            for d in doors
            if d.id not in old_door_ids
        )
    if windows != old_windows:
        changed["windows"] = {"from": _window_texts(old_windows), "to": _window_texts(windows)}
        sql.replace_windows(db, agreement.id)
        db.add_all(
            m.AgreementWindow(
                agreement_id=agreement.id,
                weekday=w.weekday,
                start_minute=w.start_minute,
                end_minute=w.end_minute,
            )
            for w in windows
        )
    narrower_validity = valid_from > agreement.valid_from or (
        valid_until is not None
        and (agreement.valid_until is None or valid_until < agreement.valid_until)
    )
    if valid_from != agreement.valid_from:
        changed["valid_from"] = {"from": _iso(agreement.valid_from), "to": _iso(valid_from)}
        agreement.valid_from = valid_from
    if valid_until != agreement.valid_until:
        changed["valid_until"] = {"from": _iso(agreement.valid_until), "to": _iso(valid_until)}
        agreement.valid_until = valid_until
    if changed:
        db.flush()
        narrower = bool(old_door_ids - new_door_ids) or "windows" in changed or narrower_validity
        version = None
        if narrower:
            version = revoke_agreements(
                db,
                municipality_id=actor.municipality_id,
                agreement_ids=[agreement.id],
                reason=e.DenylistReason.AGREEMENT_ENDED,
                now=now,
            )
        record_admin_action(
            db,
            actor=actor,
            municipality_id=actor.municipality_id,
            action="agreement.changed",
            target_type="agreement",
            target_id=agreement.id,
            reason=_reason(reason),
            now=now,
            details={**changed, "denylist_version": version},
        )
    return _view(db, scope, agreement, now)


def _current_doors(db: Session, agreement_id: int) -> list[m.DoorDevice]:
    return [p.door for p in sql.doors_of(db, [agreement_id]).get(agreement_id, [])]


def end_agreement(
    db: Session,
    *,
    actor: Actor,
    agreement_id: int,
    now: dt.datetime,
    reason: str | None = None,
) -> AgreementView:
    """End an agreement now (``valid_until`` = now; 409 if it has ended already) and revoke the
    credentials issued under it. One that has not begun yet is closed as having lasted a
    second, so that it never admits anyone."""
    scope = association_scope(actor, Action.MANAGE_AGREEMENTS)
    agreement = _agreement(db, scope, agreement_id)
    if state_of(agreement, now) == "ended":
        raise _ended()
    details: dict[str, Any] = {
        "valid_until": {"from": _iso(agreement.valid_until), "to": _iso(now)}
    }
    if agreement.valid_from >= now:
        details["valid_from"] = {
            "from": _iso(agreement.valid_from),
            "to": _iso(now - ENDED_NUDGE),
        }
        agreement.valid_from = now - ENDED_NUDGE
    agreement.valid_until = now
    db.flush()
    version = revoke_agreements(
        db,
        municipality_id=actor.municipality_id,
        agreement_ids=[agreement.id],
        reason=e.DenylistReason.AGREEMENT_ENDED,
        now=now,
    )
    record_admin_action(
        db,
        actor=actor,
        municipality_id=actor.municipality_id,
        action="agreement.ended",
        target_type="agreement",
        target_id=agreement.id,
        reason=_reason(reason),
        now=now,
        details={**details, "denylist_version": version},
    )
    return _view(db, scope, agreement, now)


# --- blocking a company ------------------------------------------------------------------------


def no_agreements() -> NotFoundError:
    # Nothing of the association's with this company: nothing to block (another
    # association's agreements with it are not the association's to know of).
    return NotFoundError(
        "company_block.no_agreements",
        "I har ingen aftaler med firmaet",
        "You have no agreements with the company",
    )


def _block_reason(reason: str | None) -> str:
    text = _reason(reason)
    if text is None:
        raise InvariantError(
            "company_block.reason_required",
            "Skriv, hvorfor firmaet spærres (det står i loggen og på aftalerne)",
            "Write why the company is blocked (it goes into the log and on the agreements)",
        )
    return text


def block_company(
    db: Session,
    *,
    actor: Actor,
    company_id: int,
    reason: str | None,
    now: dt.datetime,
) -> CompanyBlock:
    """Block every agreement of the association with the company, at once: the agreements are
    marked blocked (no new keys under them) and the credentials already issued under them go on
    the denylist in one new version. 404 without any agreement with the company, 409 when all
    are blocked already."""
    scope = association_scope(actor, Action.MANAGE_AGREEMENTS)
    company = get_org_object(db, scope, m.PartnerCompany, company_id)
    text = _block_reason(reason)
    agreements = sql.agreements_with(db, scope, company.id)
    if not agreements:
        raise no_agreements()
    to_block = [a for a in agreements if not a.blocked]
    if not to_block:
        raise ConflictError(
            "company_block.already_blocked",
            "Firmaet er allerede spærret hos jer",
            "The company is already blocked by you",
        )
    for agreement in to_block:
        agreement.blocked = True
        agreement.blocked_reason = text
        agreement.blocked_at = now
    db.flush()
    version = revoke_agreements(
        db,
        municipality_id=actor.municipality_id,
        agreement_ids=[a.id for a in agreements],
        reason=e.DenylistReason.PARTNER_BLOCKED,
        now=now,
    )
    ids = [a.id for a in to_block]
    record_admin_action(
        db,
        actor=actor,
        municipality_id=actor.municipality_id,
        action="company.blocked",
        target_type="partner_company",
        target_id=company.id,
        reason=text,
        now=now,
        details={"agreement_ids": ids, "denylist_version": version},
    )
    webhooks.emit_revocation(
        db,
        municipality_id=actor.municipality_id,
        event_type=webhooks.WebhookEventType.COMPANY_BLOCKED,
        resource=f"company:{company.id}",
        data={"company_id": company.id, "agreement_ids": ids, "denylist_version": version},
        now=now,
        association_id=actor.association_id,
    )
    for agreement_id in ids:
        record_admin_action(
            db,
            actor=actor,
            municipality_id=actor.municipality_id,
            action="agreement.blocked",
            target_type="agreement",
            target_id=agreement_id,
            reason=text,
            now=now,
            details={"partner_company_id": company.id, "denylist_version": version},
        )
    return CompanyBlock(company, ids, version)


def unblock_company(
    db: Session,
    *,
    actor: Actor,
    company_id: int,
    reason: str | None,
    now: dt.datetime,
) -> CompanyBlock:
    """Lift the association's block of a company: its agreements admit again (new keys are
    issued under them; the revoked ones stay revoked). 409 when nothing is blocked."""
    scope = association_scope(actor, Action.MANAGE_AGREEMENTS)
    company = get_org_object(db, scope, m.PartnerCompany, company_id)
    text = _reason(reason)
    agreements = sql.agreements_with(db, scope, company.id)
    if not agreements:
        raise no_agreements()
    blocked = [a for a in agreements if a.blocked]
    if not blocked:
        raise ConflictError(
            "company_block.not_blocked",
            "Firmaet er ikke spærret hos jer",
            "The company is not blocked by you",
        )
    for agreement in blocked:
        agreement.blocked = False
        agreement.blocked_reason = None
        agreement.blocked_at = None
    db.flush()
    ids = [a.id for a in blocked]
    record_admin_action(
        db,
        actor=actor,
        municipality_id=actor.municipality_id,
        action="company.unblocked",
        target_type="partner_company",
        target_id=company.id,
        reason=text,
        now=now,
        details={"agreement_ids": ids},
    )
    for agreement_id in ids:
        record_admin_action(
            db,
            actor=actor,
            municipality_id=actor.municipality_id,
            action="agreement.unblocked",
            target_type="agreement",
            target_id=agreement_id,
            reason=text,
            now=now,
            details={"partner_company_id": company.id},
        )
    return CompanyBlock(company, ids)
