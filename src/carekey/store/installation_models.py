"""The installation lifecycle (issue 16): consent, the association's permission, work orders.

The municipality informs the citizen and records the consent before anything is fitted
(``consent_record``); it asks the housing association for permission to fit a module in the
door-phone system of a property's entrances or gates (``permission_request``); and every visit
at a door is a ``work_order``: install a home lock or a module, service it, or restore the
original lock without traces. The municipality pays: each order carries its material and labour
in øre, and ``cost_ore`` is their sum (a CHECK, so no report can disagree with its lines).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from carekey.domain import enums as e
from carekey.store.base import Base, BigId, _created
from carekey.store.types import str_enum


class ConsentRecord(Base):
    """The citizen's (or a relative's or guardian's) consent to install or to restore.

    A consent is withdrawn by setting ``withdrawn_at`` (never deleted): the record of who
    informed the citizen, when and how stays for the audit.
    """

    __tablename__ = "consent_record"
    __table_args__ = (
        ForeignKeyConstraint(
            ["citizen_id", "municipality_id"], ["citizen.id", "citizen.municipality_id"]
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id"))
    citizen_id: Mapped[int] = mapped_column(index=True)
    kind: Mapped[e.ConsentKind] = mapped_column(str_enum(e.ConsentKind, "kind"))
    given_by: Mapped[e.ConsentGivenBy] = mapped_column(str_enum(e.ConsentGivenBy, "given_by"))
    given_by_name: Mapped[str | None] = mapped_column(String(200))
    method: Mapped[e.ConsentMethod] = mapped_column(
        str_enum(e.ConsentMethod, "method"), default=e.ConsentMethod.PAPER_SCANNED
    )
    # Who at the municipality informed the citizen, and when.
    informed_by_employee_id: Mapped[int | None] = mapped_column(ForeignKey("employee.id"))
    informed_at: Mapped[dt.datetime | None]
    given_at: Mapped[dt.datetime]
    withdrawn_at: Mapped[dt.datetime | None]
    withdrawn_by_name: Mapped[str | None] = mapped_column(String(200))
    withdrawal_note: Mapped[str | None] = mapped_column(Text)
    withdrawal_recorded_by_employee_id: Mapped[int | None] = mapped_column(
        ForeignKey("employee.id")
    )
    document_ref: Mapped[str | None] = mapped_column(String(200))
    recorded_by_employee_id: Mapped[int | None] = mapped_column(ForeignKey("employee.id"))


class PermissionRequest(Base):
    """The municipality asks a housing association to permit entrance/gate modules."""

    __tablename__ = "permission_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id"), index=True)
    housing_association_id: Mapped[int] = mapped_column(ForeignKey("housing_association.id"))
    property_id: Mapped[int] = mapped_column(ForeignKey("property.id"), index=True)
    covers_entrances: Mapped[bool] = mapped_column(Boolean, default=True)
    covers_gates: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[e.PermissionStatus] = mapped_column(
        str_enum(e.PermissionStatus, "status"), default=e.PermissionStatus.REQUESTED
    )
    requested_at: Mapped[dt.datetime] = _created()
    requested_by_employee_id: Mapped[int | None] = mapped_column(ForeignKey("employee.id"))
    # The answer is wanted by ``due_at``; reminders are sent while it is open.
    due_at: Mapped[dt.datetime | None]
    reminders: Mapped[int] = mapped_column(default=0)
    last_reminded_at: Mapped[dt.datetime | None]
    decided_at: Mapped[dt.datetime | None]
    decided_by_name: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)


class WorkOrder(Base):
    """Install, restore (without traces) or service a device. The municipality pays."""

    __tablename__ = "work_order"
    __table_args__ = (
        CheckConstraint("cost_ore >= 0", name="cost_not_negative"),
        CheckConstraint(
            "material_ore >= 0 AND labour_ore >= 0 AND cost_ore = material_ore + labour_ore",
            name="cost_is_material_and_labour",
        ),
        CheckConstraint(
            "dwelling_id IS NOT NULL OR entrance_id IS NOT NULL OR gate_id IS NOT NULL"
            " OR door_device_id IS NOT NULL",
            name="has_place",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id"), index=True)
    kind: Mapped[e.WorkOrderKind] = mapped_column(str_enum(e.WorkOrderKind, "kind"))
    status: Mapped[e.WorkOrderStatus] = mapped_column(
        str_enum(e.WorkOrderStatus, "status"), default=e.WorkOrderStatus.ORDERED
    )
    trigger: Mapped[e.WorkOrderTrigger] = mapped_column(
        str_enum(e.WorkOrderTrigger, "trigger"), default=e.WorkOrderTrigger.OFFICE
    )
    service_kind: Mapped[e.ServiceKind | None] = mapped_column(
        str_enum(e.ServiceKind, "service_kind")
    )
    citizen_id: Mapped[int | None] = mapped_column(ForeignKey("citizen.id"), index=True)
    dwelling_id: Mapped[int | None] = mapped_column(ForeignKey("dwelling.id"))
    entrance_id: Mapped[int | None] = mapped_column(ForeignKey("entrance.id"))
    gate_id: Mapped[int | None] = mapped_column(ForeignKey("gate.id"))
    door_device_id: Mapped[int | None] = mapped_column(ForeignKey("door_device.id"))
    # A module order rests on the association's permission (``permission_request``).
    permission_request_id: Mapped[int | None] = mapped_column(ForeignKey("permission_request.id"))
    created_by_employee_id: Mapped[int | None] = mapped_column(ForeignKey("employee.id"))
    # An installer of the municipality, or a supplier by name (or both: the supplier's fitter).
    assigned_to_employee_id: Mapped[int | None] = mapped_column(
        ForeignKey("employee.id"), index=True
    )
    supplier: Mapped[str | None] = mapped_column(String(200))
    # Money in øre (1/100 DKK) as integers: never floats for money. cost = material + labour.
    material_ore: Mapped[int] = mapped_column(BigId, default=0)
    labour_ore: Mapped[int] = mapped_column(BigId, default=0)
    cost_ore: Mapped[int] = mapped_column(BigId, default=0)
    ordered_at: Mapped[dt.datetime] = _created()
    scheduled_for: Mapped[dt.datetime | None]
    completed_at: Mapped[dt.datetime | None]
    performed_by_employee_id: Mapped[int | None] = mapped_column(ForeignKey("employee.id"))
    # What the installer ticked off ({"item": true, ...}) and the photo's reference.
    # None is SQL NULL (not the JSON value null): "no checklist yet".
    checklist: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    photo_ref: Mapped[str | None] = mapped_column(String(200))
    signed_off_at: Mapped[dt.datetime | None]
    signed_off_by_employee_id: Mapped[int | None] = mapped_column(ForeignKey("employee.id"))
    notes: Mapped[str | None] = mapped_column(Text)


class OnlineRefusal(Base):
    """A message on the MQTT broker the server refused (issue 17): a forged or replayed door
    report, a report from an unknown door. The broker is trusted for nothing, so what it
    carries that does not verify is kept for the office to see."""

    __tablename__ = "online_refusal"
    __table_args__ = (Index("ix_online_refusal_municipality_at", "municipality_id", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    municipality_id: Mapped[int | None] = mapped_column(ForeignKey("municipality.id"))
    door_device_id: Mapped[int | None] = mapped_column(ForeignKey("door_device.id"), index=True)
    topic: Mapped[str] = mapped_column(String(256))
    code: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime]
