"""Consent and permission: the two preconditions of the installation lifecycle (issue 16).

- No key is issued for a home without the citizen's recorded consent (:func:`has_consent`);
- no module work order is made for an entrance or a gate without the housing association's
  granted permission (:func:`granted_permission`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Final

from sqlalchemy.orm import Session

from carekey.access import Action, Actor, get_in_scope, get_installation_object, reach
from carekey.audit.actions import record_admin_action
from carekey.consents import queries as q
from carekey.domain import enums as e
from carekey.domain.errors import ConflictError, DomainError, InvariantError
from carekey.domain.text import optional_text, required_text
from carekey.revocation import service as revocation
from carekey.store import models as m

MAX_NAME: Final = 200
MAX_REF: Final = 200
MAX_NOTE: Final = 2000


def has_consent(db: Session, *, citizen_id: int) -> bool:
    """Whether the citizen has a recorded installation consent that is not withdrawn."""
    return q.live_consent(db, citizen_id=citizen_id) is not None


def granted_permission(
    db: Session, *, municipality_id: int, entrance_id: int | None = None, gate_id: int | None = None
) -> m.PermissionRequest | None:
    """The association's granted permission that covers this entrance (or gate), if any.

    Give exactly one of ``entrance_id`` and ``gate_id``."""
    if (entrance_id is None) == (gate_id is None):
        raise ValueError("give exactly one of entrance_id and gate_id")
    if entrance_id is not None:
        property_id = q.property_of_entrance(db, entrance_id)
    else:
        assert gate_id is not None
        property_id = q.property_of_gate(db, gate_id)
    if property_id is None:
        return None
    return q.granted_permission_for_property(
        db, municipality_id=municipality_id, property_id=property_id, gates=gate_id is not None
    )


def require_permission(
    db: Session, *, municipality_id: int, entrance_id: int | None = None, gate_id: int | None = None
) -> m.PermissionRequest:
    """The granted permission for the entrance (or gate); a clear refusal without one."""
    found = granted_permission(
        db, municipality_id=municipality_id, entrance_id=entrance_id, gate_id=gate_id
    )
    if found is None:
        raise DomainError(
            "work_order.no_permission",
            "Boligforeningen har ikke givet tilladelse til et modul her;"
            " send en anmodning om tilladelse først",
            "The housing association has not permitted a module here;"
            " send a permission request first",
        )
    return found


# --- recording and withdrawing a consent -------------------------------------------------------


@dataclass(frozen=True)
class NewConsent:
    """A consent to record: who gave it and how, who at the municipality informed the citizen
    and when, and where the document is (the case file's reference).

    Given by a relative or a guardian, or by power of attorney (then by a relative), the name
    of the person who gave it is required; a paper consent and a power of attorney need the
    document's reference."""

    method: e.ConsentMethod = e.ConsentMethod.PAPER_SCANNED
    given_by: e.ConsentGivenBy = e.ConsentGivenBy.CITIZEN
    given_by_name: str | None = None
    informed_by_employee_id: int | None = None
    informed_at: dt.datetime | None = None
    given_at: dt.datetime | None = None  # now, if not given
    document_ref: str | None = None


def _invalid(code: str, da: str, en: str) -> InvariantError:
    return InvariantError(f"consent.{code}", da, en)


def _checked(db: Session, actor: Actor, new: NewConsent, now: dt.datetime) -> dict[str, object]:
    """The consent's columns, each checked (nothing is written before every check passed)."""
    name = optional_text(
        new.given_by_name,
        max_length=MAX_NAME,
        code="consent.bad_name",
        what_da="Navnet",
        what_en="The name",
    )
    ref = optional_text(
        new.document_ref,
        max_length=MAX_REF,
        code="consent.bad_document_ref",
        what_da="Dokumentreferencen",
        what_en="The document reference",
    )
    given_by = new.given_by
    by_attorney = new.method is e.ConsentMethod.POWER_OF_ATTORNEY
    if by_attorney and given_by is not e.ConsentGivenBy.RELATIVE:
        raise _invalid(
            "power_of_attorney_relative",
            "Et samtykke ved fuldmagt gives af en pårørende med fuldmagt",
            "A consent by power of attorney is given by a relative holding it",
        )
    if given_by is not e.ConsentGivenBy.CITIZEN and name is None:
        raise _invalid(
            "name_required",
            "Skriv navnet på den, der gav samtykket",
            "Give the name of the person who gave the consent",
        )
    if given_by is e.ConsentGivenBy.CITIZEN:
        name = None
    if new.method is not e.ConsentMethod.DIGITAL and ref is None:
        raise _invalid(
            "document_ref_required",
            "Angiv referencen til det scannede dokument (sagsnummer)",
            "Give the reference of the scanned document (case number)",
        )
    given_at = new.given_at or now
    if given_at > now:
        raise _invalid(
            "given_in_future",
            "Samtykket kan ikke være givet i fremtiden; skriv datoen, det blev givet, i dag "
            "eller før",
            "The consent cannot have been given in the future; give the date it was given, "
            "today or earlier",
        )
    if new.informed_at is not None and new.informed_at > given_at:
        raise _invalid(
            "informed_after_given",
            "Borgeren skal være informeret, før samtykket blev givet",
            "The citizen must be informed before the consent was given",
        )
    informer = new.informed_by_employee_id
    if informer is not None and (
        q.employee_of_municipality(db, municipality_id=actor.municipality_id, employee_id=informer)
        is None
    ):
        raise _invalid(
            "bad_informer",
            "Den, der informerede, skal være en af kommunens medarbejdere",
            "The person who informed must be one of the municipality's employees",
        )
    return {
        "method": new.method,
        "given_by": given_by,
        "given_by_name": name,
        "informed_by_employee_id": informer,
        "informed_at": new.informed_at,
        "given_at": given_at,
        "document_ref": ref,
    }


def record_consent(
    db: Session, *, actor: Actor, citizen_id: int, new: NewConsent, now: dt.datetime
) -> m.ConsentRecord:
    """Record the citizen's installation consent (administrators; a district lead in their own
    districts). A citizen has one live consent at a time (409 for a second one); a removed
    citizen gets none (409)."""
    scope = reach(actor, Action.MANAGE_CONSENT)
    citizen = get_in_scope(db, scope, m.Citizen, citizen_id)
    values = _checked(db, actor, new, now)
    if citizen.status is not e.CitizenStatus.ACTIVE:
        raise ConflictError(
            "consent.citizen_inactive",
            "Borgeren er ikke aktiv i løsningen",
            "The citizen is not active in the solution",
        )
    if q.live_consent(db, citizen_id=citizen.id) is not None:
        raise ConflictError(
            "consent.already_given",
            "Borgeren har allerede et gyldigt samtykke",
            "The citizen already has a valid consent",
        )
    record = m.ConsentRecord(
        municipality_id=citizen.municipality_id,
        citizen_id=citizen.id,
        kind=e.ConsentKind.INSTALLATION,
        recorded_by_employee_id=actor.employee_id,
        **values,
    )
    db.add(record)
    db.flush()
    record_admin_action(
        db,
        actor=actor,
        municipality_id=actor.municipality_id,
        action="consent.recorded",
        target_type="consent_record",
        target_id=record.id,
        now=now,
        details={
            "citizen_id": citizen.id,
            "method": record.method.value,
            "given_by": record.given_by.value,
        },
    )
    return record


@dataclass(frozen=True)
class Withdrawal:
    """A withdrawn consent and the removal it started (``revocation.remove_citizen``)."""

    consent: m.ConsentRecord
    removal: revocation.Revocation | None


def withdraw_consent(
    db: Session,
    *,
    actor: Actor,
    consent_id: int,
    withdrawn_by_name: str,
    note: str | None,
    now: dt.datetime,
) -> Withdrawal:
    """Withdraw a consent: it stays on record with who withdrew it, and the removal starts at
    once (``revocation.remove_citizen`` with trigger ``consent_withdrawn``): the home door
    leaves every bundle, is blocked on the denylist, and a restore order is made."""
    scope = reach(actor, Action.MANAGE_CONSENT)
    consent = get_installation_object(db, scope, m.ConsentRecord, consent_id)
    name = required_text(
        withdrawn_by_name,
        max_length=MAX_NAME,
        code="consent.bad_withdrawn_by",
        what_da="Navnet på den, der trak samtykket tilbage",
        what_en="The name of the person who withdrew the consent",
    )
    text = optional_text(
        note, max_length=MAX_NOTE, code="consent.bad_note", what_da="Noten", what_en="The note"
    )
    if consent.withdrawn_at is not None:
        raise ConflictError(
            "consent.already_withdrawn",
            "Samtykket er allerede trukket tilbage",
            "The consent is already withdrawn",
        )
    consent.withdrawn_at = now
    consent.withdrawn_by_name = name
    consent.withdrawal_note = text
    consent.withdrawal_recorded_by_employee_id = actor.employee_id
    db.flush()
    record_admin_action(
        db,
        actor=actor,
        municipality_id=actor.municipality_id,
        action="consent.withdrawn",
        target_type="consent_record",
        target_id=consent.id,
        reason=text,
        now=now,
        details={"citizen_id": consent.citizen_id, "withdrawn_by": name},
    )
    removal = None
    if consent.kind is e.ConsentKind.INSTALLATION and not has_consent(
        db, citizen_id=consent.citizen_id
    ):
        removal = revocation.remove_citizen(
            db,
            actor=actor,
            citizen_id=consent.citizen_id,
            reason=f"Samtykket er trukket tilbage af {name}" + (f": {text}" if text else ""),
            now=now,
            trigger=e.WorkOrderTrigger.CONSENT_WITHDRAWN,
        )
    return Withdrawal(consent, removal)


def consents_of(db: Session, *, actor: Actor, citizen_id: int) -> list[m.ConsentRecord]:
    """The citizen's consents, newest first, withdrawn ones too (administrators, auditors; a
    district lead in their own districts)."""
    scope = reach(actor, Action.READ_INSTALLATIONS)
    get_in_scope(db, scope, m.Citizen, citizen_id)
    return q.consents_of_citizen(db, scope, citizen_id=citizen_id)


def get_consent(db: Session, *, actor: Actor, consent_id: int) -> m.ConsentRecord:
    """One consent in the actor's reach."""
    scope = reach(actor, Action.READ_INSTALLATIONS)
    return get_installation_object(db, scope, m.ConsentRecord, consent_id)
