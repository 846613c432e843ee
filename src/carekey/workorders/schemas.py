"""The API's shapes of work orders, costs and timelines (issue 16). Money is in øre."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field

from carekey.domain import enums as e
from carekey.http.schemas import BodyId
from carekey.workorders import costs, service, timeline


class OrderCreate(BaseModel):
    kind: e.WorkOrderKind
    citizen_id: BodyId | None = None
    entrance_id: BodyId | None = None
    gate_id: BodyId | None = None
    door_id: BodyId | None = None
    service_kind: e.ServiceKind | None = None
    notes: str | None = Field(default=None, max_length=2000)

    def command(self) -> service.NewOrder:
        return service.NewOrder(
            kind=self.kind,
            citizen_id=self.citizen_id,
            entrance_id=self.entrance_id,
            gate_id=self.gate_id,
            door_id=self.door_id,
            service_kind=self.service_kind,
            notes=self.notes,
        )


class AssignBody(BaseModel):
    installer_id: BodyId | None = None
    supplier: str | None = Field(default=None, max_length=200)


class ScheduleBody(BaseModel):
    scheduled_for: dt.datetime


class CompleteBody(BaseModel):
    checklist: dict[str, bool] = Field(default_factory=dict)
    photo_ref: str | None = Field(default=None, max_length=200)
    material_ore: int = Field(default=0, ge=0)
    labour_ore: int = Field(default=0, ge=0)
    notes: str | None = Field(default=None, max_length=2000)


class CancelBody(BaseModel):
    reason: str = Field(min_length=1, max_length=500)


class OrderOut(BaseModel):
    id: int
    kind: e.WorkOrderKind
    status: e.WorkOrderStatus
    trigger: e.WorkOrderTrigger
    service_kind: e.ServiceKind | None
    citizen_id: int | None
    citizen_name: str | None
    dwelling_id: int | None
    entrance_id: int | None
    gate_id: int | None
    door_device_id: int | None
    door_serial: str | None
    permission_request_id: int | None
    assigned_to_employee_id: int | None
    installer_name: str | None
    supplier: str | None
    material_ore: int
    labour_ore: int
    cost_ore: int
    ordered_at: dt.datetime
    scheduled_for: dt.datetime | None
    completed_at: dt.datetime | None
    performed_by_employee_id: int | None
    checklist: dict[str, bool] | None
    photo_ref: str | None
    signed_off_at: dt.datetime | None
    signed_off_by_employee_id: int | None
    notes: str | None


def order_out(row: service.OrderRow) -> OrderOut:
    o = row.order
    return OrderOut(
        id=o.id,
        kind=o.kind,
        status=o.status,
        trigger=o.trigger,
        service_kind=o.service_kind,
        citizen_id=o.citizen_id,
        citizen_name=row.citizen_name,
        dwelling_id=o.dwelling_id,
        entrance_id=o.entrance_id,
        gate_id=o.gate_id,
        door_device_id=o.door_device_id,
        door_serial=row.door_serial,
        permission_request_id=o.permission_request_id,
        assigned_to_employee_id=o.assigned_to_employee_id,
        installer_name=row.installer_name,
        supplier=o.supplier,
        material_ore=o.material_ore,
        labour_ore=o.labour_ore,
        cost_ore=o.cost_ore,
        ordered_at=o.ordered_at,
        scheduled_for=o.scheduled_for,
        completed_at=o.completed_at,
        performed_by_employee_id=o.performed_by_employee_id,
        checklist={str(k): bool(v) for k, v in (o.checklist or {}).items()}
        if o.checklist is not None
        else None,
        photo_ref=o.photo_ref,
        signed_off_at=o.signed_off_at,
        signed_off_by_employee_id=o.signed_off_by_employee_id,
        notes=o.notes,
    )


class CostLineOut(BaseModel):
    key: str
    label: str
    orders: int
    paid_ore: int = Field(description="Godkendte ordrer / signed-off orders")
    pending_ore: int = Field(description="Udført, ikke godkendt / done, not signed off")
    material_ore: int
    labour_ore: int


class CostsOut(BaseModel):
    group: str
    month: str | None
    paid_ore: int
    pending_ore: int
    lines: list[CostLineOut]


def costs_out(report: costs.CostReport) -> CostsOut:
    return CostsOut(
        group=report.group,
        month=report.month,
        paid_ore=report.paid_ore,
        pending_ore=report.pending_ore,
        lines=[CostLineOut(**vars(line)) for line in report.lines],
    )


class StepOut(BaseModel):
    key: str
    label_da: str
    label_en: str
    reached: bool
    at: dt.datetime | None
    who: str | None
    note: str | None


class TimelineOut(BaseModel):
    title: str
    steps: list[StepOut]
    order_ids: list[int]


def timeline_out(view: timeline.Timeline) -> TimelineOut:
    return TimelineOut(
        title=view.title,
        steps=[
            StepOut(
                key=s.key,
                label_da=s.label_da,
                label_en=s.label_en,
                reached=s.reached,
                at=s.at,
                who=s.who,
                note=s.note,
            )
            for s in view.steps
        ],
        order_ids=[o.id for o in view.orders],
    )
