"""The bodies of the errand endpoints: a request for an errand, a cancellation, and an errand
as the company sees it."""

from __future__ import annotations

import datetime as dt

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from carekey.domain import enums as e
from carekey.http.schemas import BodyId, Reason
from carekey.partners import errands as use


class ErrandCreate(BaseModel):
    """Bestil et ærinde / request an errand: one delivery to one named resident."""

    model_config = ConfigDict(extra="forbid")
    agreement_id: BodyId
    entrance_id: BodyId = Field(description="En af aftalens opgange / one of its entrances")
    reference: str = Field(max_length=200, description="Ordrenummer / order reference")
    recipient: str = Field(max_length=400, description="Den navngivne beboer / the resident")
    not_before: AwareDatetime
    not_after: AwareDatetime
    employee_id: BodyId | None = Field(
        default=None, description="Medarbejderen der kører ud; tom: enhver / the worker; any"
    )
    purpose: e.PartnerCategory | None = Field(
        default=None, description="Tom: firmaets kategori / none: the company's category"
    )

    def command(self) -> use.NewErrand:
        return use.NewErrand(
            agreement_id=self.agreement_id,
            entrance_id=self.entrance_id,
            reference=self.reference,
            recipient=self.recipient,
            not_before=self.not_before,
            not_after=self.not_after,
            employee_id=self.employee_id,
            purpose=self.purpose,
        )


class CancelBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Reason


class ErrandOut(BaseModel):
    id: int
    agreement_id: int
    association_name: str
    entrance_id: int
    place: str
    reference: str | None
    recipient: str | None
    purpose: e.PartnerCategory
    employee_id: int | None
    worker_name: str | None
    not_before: dt.datetime
    not_after: dt.datetime
    state: e.ErrandStatus = Field(description="approved, used, cancelled or expired")
    created_at: dt.datetime


class CancelledOut(BaseModel):
    errand: ErrandOut
    denylist_version: int | None = Field(
        description="Spærrelistens version med ærindets nøgler / the denylist version"
    )


def errand_out(view: use.ErrandView) -> ErrandOut:
    """An errand as the company sees it."""
    x = view.errand
    return ErrandOut(
        id=x.id,
        agreement_id=x.agreement_id,
        association_name=view.association_name,
        entrance_id=x.entrance_id,
        place=view.address.text,
        reference=x.reference,
        recipient=x.recipient,
        purpose=x.purpose,
        employee_id=x.employee_id,
        worker_name=view.worker_name,
        not_before=x.not_before,
        not_after=x.not_after,
        state=view.state,
        created_at=x.created_at,
    )


def cancelled_out(done: use.Cancelled) -> CancelledOut:
    """A cancelled errand and the denylist version that carries its keys."""
    return CancelledOut(errand=errand_out(done.view), denylist_version=done.denylist_version)
