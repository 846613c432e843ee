"""The HTTP API of carekey.workorders (issue 16): work orders, costs and timelines. Thin: each
endpoint calls one use case and shapes the answer."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from carekey.domain import enums as e
from carekey.domain.paging import DEFAULT_PAGE_SIZE
from carekey.http.deps import ActorDep, NowDep, SessionDep
from carekey.http.schemas import FilterId, Limit, Offset, Page, PathId, page_out
from carekey.workorders import costs, service, timeline
from carekey.workorders.schemas import (
    AssignBody,
    CancelBody,
    CompleteBody,
    CostsOut,
    OrderCreate,
    OrderOut,
    ScheduleBody,
    TimelineOut,
    costs_out,
    order_out,
    timeline_out,
)

router = APIRouter(prefix="/api/v1/admin", tags=["arbejdsordrer / work orders"])


@router.get("/work-orders", response_model=Page[OrderOut])
def list_orders(
    db: SessionDep,
    actor: ActorDep,
    status: e.WorkOrderStatus | None = None,
    kind: e.WorkOrderKind | None = None,
    trigger: e.WorkOrderTrigger | None = None,
    installer_id: FilterId = None,
    citizen_id: FilterId = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
    offset: Offset = 0,
) -> Page[OrderOut]:
    """Arbejdsordrer / work orders (an installer: only their own)."""
    filters = service.OrderFilter(status, kind, trigger, installer_id, citizen_id)
    page = service.list_orders(db, actor=actor, filters=filters, limit=limit, offset=offset)
    return page_out(page, order_out)


@router.post("/work-orders", response_model=OrderOut, status_code=201)
def create_order(body: OrderCreate, db: SessionDep, actor: ActorDep, now: NowDep) -> OrderOut:
    """Opret en arbejdsordre / create a work order."""
    order = service.create_order(db, actor=actor, new=body.command(), now=now)
    return order_out(service.get_order(db, actor=actor, order_id=order.id))


@router.get("/work-orders/{order_id}", response_model=OrderOut)
def get_order(order_id: PathId, db: SessionDep, actor: ActorDep) -> OrderOut:
    """Én arbejdsordre / one work order."""
    return order_out(service.get_order(db, actor=actor, order_id=order_id))


@router.post("/work-orders/{order_id}/assign", response_model=OrderOut)
def assign_order(
    order_id: PathId, body: AssignBody, db: SessionDep, actor: ActorDep, now: NowDep
) -> OrderOut:
    """Tildel en montør eller leverandør / assign an installer or a supplier."""
    service.assign_order(
        db,
        actor=actor,
        order_id=order_id,
        installer_id=body.installer_id,
        supplier=body.supplier,
        now=now,
    )
    return order_out(service.get_order(db, actor=actor, order_id=order_id))


@router.post("/work-orders/{order_id}/schedule", response_model=OrderOut)
def schedule_order(
    order_id: PathId, body: ScheduleBody, db: SessionDep, actor: ActorDep, now: NowDep
) -> OrderOut:
    """Planlæg besøget / schedule the visit."""
    service.schedule_order(
        db, actor=actor, order_id=order_id, scheduled_for=body.scheduled_for, now=now
    )
    return order_out(service.get_order(db, actor=actor, order_id=order_id))


@router.post("/work-orders/{order_id}/complete", response_model=OrderOut)
def complete_order(
    order_id: PathId, body: CompleteBody, db: SessionDep, actor: ActorDep, now: NowDep
) -> OrderOut:
    """Montørens afslutning med tjekliste / the installer's completion with the checklist."""
    service.complete_order(
        db,
        actor=actor,
        order_id=order_id,
        checklist=body.checklist,
        photo_ref=body.photo_ref,
        material_ore=body.material_ore,
        labour_ore=body.labour_ore,
        notes=body.notes,
        now=now,
    )
    return order_out(service.get_order(db, actor=actor, order_id=order_id))


@router.post("/work-orders/{order_id}/sign-off", response_model=OrderOut)
def sign_off_order(order_id: PathId, db: SessionDep, actor: ActorDep, now: NowDep) -> OrderOut:
    """Godkend en udført ordre / sign off a done order."""
    service.sign_off_order(db, actor=actor, order_id=order_id, now=now)
    return order_out(service.get_order(db, actor=actor, order_id=order_id))


@router.post("/work-orders/{order_id}/cancel", response_model=OrderOut)
def cancel_order(
    order_id: PathId, body: CancelBody, db: SessionDep, actor: ActorDep, now: NowDep
) -> OrderOut:
    """Annullér en åben ordre / cancel an open order."""
    service.cancel_order(db, actor=actor, order_id=order_id, reason=body.reason, now=now)
    return order_out(service.get_order(db, actor=actor, order_id=order_id))


@router.get("/costs", response_model=CostsOut)
def cost_report(
    db: SessionDep,
    actor: ActorDep,
    group: Annotated[str, Query(pattern="^(month|district|property|citizen)$")] = "month",
    month: Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}$")] = None,
) -> CostsOut:
    """Omkostninger / costs: paid (signed off) and pending (done), per group."""
    return costs_out(costs.cost_report(db, actor=actor, group=group, month=month))


@router.get("/citizens/{citizen_id}/timeline", response_model=TimelineOut)
def citizen_timeline(citizen_id: PathId, db: SessionDep, actor: ActorDep) -> TimelineOut:
    """Borgerens forløb / the citizen's timeline."""
    return timeline_out(timeline.citizen_timeline(db, actor=actor, citizen_id=citizen_id))


@router.get("/properties/{property_id}/timeline", response_model=TimelineOut)
def property_timeline(property_id: PathId, db: SessionDep, actor: ActorDep) -> TimelineOut:
    """Ejendommens forløb / the property's timeline."""
    return timeline_out(timeline.property_timeline(db, actor=actor, property_id=property_id))
