"""The request and answer bodies of carekey.consents' API (issue 16)."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from carekey.consents import permissions
from carekey.consents import service as consents
from carekey.domain import enums as e
from carekey.http.schemas import BodyId
from carekey.store import models as m

# --- consents ----------------------------------------------------------------------------------


class ConsentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    method: e.ConsentMethod = e.ConsentMethod.PAPER_SCANNED
    given_by: e.ConsentGivenBy = e.ConsentGivenBy.CITIZEN
    given_by_name: str | None = Field(
        default=None,
        max_length=consents.MAX_NAME,
        description="Påkrævet, når en pårørende eller værge gav det / required for a relative",
    )
    informed_by_employee_id: BodyId | None = None
    informed_at: dt.datetime | None = None
    given_at: dt.datetime | None = None
    document_ref: str | None = Field(default=None, max_length=consents.MAX_REF)

    def command(self) -> consents.NewConsent:
        """The use case's input."""
        return consents.NewConsent(
            method=self.method,
            given_by=self.given_by,
            given_by_name=self.given_by_name,
            informed_by_employee_id=self.informed_by_employee_id,
            informed_at=self.informed_at,
            given_at=self.given_at,
            document_ref=self.document_ref,
        )


class ConsentWithdraw(BaseModel):
    model_config = ConfigDict(extra="forbid")
    withdrawn_by_name: str = Field(max_length=consents.MAX_NAME)
    note: str | None = Field(default=None, max_length=consents.MAX_NOTE)


class ConsentOut(BaseModel):
    id: int
    citizen_id: int
    kind: e.ConsentKind
    method: e.ConsentMethod
    given_by: e.ConsentGivenBy
    given_by_name: str | None
    informed_by_employee_id: int | None
    informed_at: dt.datetime | None
    given_at: dt.datetime
    document_ref: str | None
    recorded_by_employee_id: int | None
    withdrawn_at: dt.datetime | None
    withdrawn_by_name: str | None
    withdrawal_note: str | None
    withdrawal_recorded_by_employee_id: int | None
    live: bool


class WithdrawalOut(BaseModel):
    consent: ConsentOut
    citizen_removed: bool
    denylist_version: int | None


def consent_out(c: m.ConsentRecord) -> ConsentOut:
    """A consent as the API shows it."""
    return ConsentOut(
        id=c.id,
        citizen_id=c.citizen_id,
        kind=c.kind,
        method=c.method,
        given_by=c.given_by,
        given_by_name=c.given_by_name,
        informed_by_employee_id=c.informed_by_employee_id,
        informed_at=c.informed_at,
        given_at=c.given_at,
        document_ref=c.document_ref,
        recorded_by_employee_id=c.recorded_by_employee_id,
        withdrawn_at=c.withdrawn_at,
        withdrawn_by_name=c.withdrawn_by_name,
        withdrawal_note=c.withdrawal_note,
        withdrawal_recorded_by_employee_id=c.withdrawal_recorded_by_employee_id,
        live=c.withdrawn_at is None,
    )


def withdrawal_out(w: consents.Withdrawal) -> WithdrawalOut:
    """A withdrawal and the removal it started."""
    return WithdrawalOut(
        consent=consent_out(w.consent),
        citizen_removed=w.removal is not None and w.removal.changed,
        denylist_version=w.removal.denylist_version if w.removal else None,
    )


# --- permission requests -----------------------------------------------------------------------


class PermissionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    property_id: BodyId
    covers_entrances: bool = True
    covers_gates: bool = False
    due_at: dt.datetime | None = Field(default=None, description="Svarfrist / due date")
    note: str | None = Field(default=None, max_length=permissions.MAX_NOTE)


class PermissionOut(BaseModel):
    id: int
    property_id: int
    housing_association_id: int
    covers_entrances: bool
    covers_gates: bool
    status: e.PermissionStatus
    requested_at: dt.datetime
    requested_by_employee_id: int | None
    due_at: dt.datetime | None
    overdue: bool
    reminders: int
    last_reminded_at: dt.datetime | None
    decided_at: dt.datetime | None
    decided_by_name: str | None
    note: str | None


def permission_out(r: m.PermissionRequest, now: dt.datetime) -> PermissionOut:
    """A permission request as the API shows it."""
    return PermissionOut(
        id=r.id,
        property_id=r.property_id,
        housing_association_id=r.housing_association_id,
        covers_entrances=r.covers_entrances,
        covers_gates=r.covers_gates,
        status=r.status,
        requested_at=r.requested_at,
        requested_by_employee_id=r.requested_by_employee_id,
        due_at=r.due_at,
        overdue=permissions.is_overdue(r, now),
        reminders=r.reminders or 0,
        last_reminded_at=r.last_reminded_at,
        decided_at=r.decided_at,
        decided_by_name=r.decided_by_name,
        note=r.note,
    )
