"""Partner companies and their agreements with housing associations (issue 15).

A partner company and a housing association are registered with the municipality that runs the
key system for them (``municipality_id``): an association with properties in two municipalities
is registered in each, and nothing of one tenant is ever seen from another. The people of a
company (its administrators and workers) are rows of ``employee`` with ``partner_company_id``
set, so that they sign in, enrol phones and are blocked through the same paths as the
municipality's staff; the access model keeps them apart (``carekey.access``).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from carekey.domain import enums as e
from carekey.domain.partner_policy import LegalBasis, OrganisationKind
from carekey.domain.rules import check_partner_door
from carekey.domain.values import check_time_window
from carekey.store.base import Base, _created
from carekey.store.types import str_enum


class PartnerCompany(Base):
    """An approved company or public body (post, newspapers, parcels, meal boxes) with
    stairwell access only, by agreement with a housing association."""

    __tablename__ = "partner_company"
    __table_args__ = (
        UniqueConstraint("municipality_id", "cvr"),
        CheckConstraint(
            "organisation_kind = 'public_body' OR cvr IS NOT NULL", name="company_has_cvr"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    cvr: Mapped[str | None] = mapped_column(String(8))
    organisation_kind: Mapped[OrganisationKind] = mapped_column(
        str_enum(OrganisationKind, "organisation_kind"), default=OrganisationKind.COMPANY
    )
    category: Mapped[e.PartnerCategory] = mapped_column(str_enum(e.PartnerCategory, "category"))
    status: Mapped[e.PartnerStatus] = mapped_column(
        str_enum(e.PartnerStatus, "status"), default=e.PartnerStatus.ACTIVE
    )
    contact_email: Mapped[str | None] = mapped_column(String(200))
    blocked_reason: Mapped[str | None] = mapped_column(Text)
    blocked_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = _created()


class Agreement(Base):
    """A housing association lets a partner company into some of its stairwells and gates, on
    a stated legal basis, inside weekly windows. Ended by ``valid_until``; the association can
    block it at once (``blocked``)."""

    __tablename__ = "agreement"
    __table_args__ = (
        CheckConstraint("valid_until IS NULL OR valid_until > valid_from", name="validity"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    housing_association_id: Mapped[int] = mapped_column(
        ForeignKey("housing_association.id"), index=True
    )
    partner_company_id: Mapped[int] = mapped_column(ForeignKey("partner_company.id"), index=True)
    legal_basis: Mapped[LegalBasis] = mapped_column(
        str_enum(LegalBasis, "legal_basis"), default=LegalBasis.GOODS_OR_SERVICES
    )
    valid_from: Mapped[dt.datetime]
    valid_until: Mapped[dt.datetime | None]
    requires_errand: Mapped[bool] = mapped_column(Boolean, default=False)
    blocked: Mapped[bool] = mapped_column(Boolean, default=False)
    blocked_reason: Mapped[str | None] = mapped_column(Text)
    blocked_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = _created()


class AgreementDoor(Base):
    """A stairwell door or gate an agreement covers. The kind is part of the foreign key, so a
    home lock can never be linked to a partner, whatever code writes the row."""

    __tablename__ = "agreement_door"
    __table_args__ = (
        ForeignKeyConstraint(
            ["door_device_id", "door_kind"], ["door_device.id", "door_device.kind"]
        ),
        CheckConstraint(
            "door_kind IN ('entrance_controller', 'gate_controller')", name="never_home_lock"
        ),
    )

    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreement.id"), primary_key=True)
    door_device_id: Mapped[int] = mapped_column(primary_key=True, index=True)
    door_kind: Mapped[e.DoorKind] = mapped_column(str_enum(e.DoorKind, "door_kind"))

    def check_invariants(self) -> None:
        check_partner_door(e.DoorKind(self.door_kind))


class AgreementWindow(Base):
    """A weekly time window (local time of the property) in which the agreement admits."""

    __tablename__ = "agreement_window"
    __table_args__ = (
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_range"),
        CheckConstraint("start_minute >= 0 AND end_minute <= 1440", name="within_day"),
        CheckConstraint("start_minute < end_minute", name="not_empty"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreement.id"), index=True)
    weekday: Mapped[int]
    start_minute: Mapped[int]
    end_minute: Mapped[int]

    def check_invariants(self) -> None:
        check_time_window(self.weekday, self.start_minute, self.end_minute)


class Errand(Base):
    """An approved errand (ærinde): one delivery by a partner to one named resident's stairwell
    in a period, inside an existing agreement (order reference, recipient, window)."""

    __tablename__ = "errand"
    __table_args__ = (CheckConstraint("not_after > not_before", name="validity"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreement.id"), index=True)
    # The partner worker who makes the delivery (an ``employee`` of the company); None: any
    # worker of the company.
    employee_id: Mapped[int | None] = mapped_column(ForeignKey("employee.id"), index=True)
    entrance_id: Mapped[int] = mapped_column(ForeignKey("entrance.id"), index=True)
    purpose: Mapped[e.PartnerCategory] = mapped_column(str_enum(e.PartnerCategory, "purpose"))
    reference: Mapped[str | None] = mapped_column(String(64))  # e.g. a parcel number
    recipient: Mapped[str | None] = mapped_column(String(200))  # the named resident
    not_before: Mapped[dt.datetime]
    not_after: Mapped[dt.datetime]
    status: Mapped[e.ErrandStatus] = mapped_column(
        str_enum(e.ErrandStatus, "status"), default=e.ErrandStatus.APPROVED
    )
    requested_by_employee_id: Mapped[int | None] = mapped_column(ForeignKey("employee.id"))
    created_at: Mapped[dt.datetime] = _created()
