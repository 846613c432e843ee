"""How the routes of carekey.workorders (issue 16) are called in the route x role matrix.

Each recipe registers itself with ``tests.access.recipes.recipe``; the objects a route acts on
are made on demand from the world's probes (the side's citizen, door, property)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from carekey.domain import enums as e
from carekey.store import models as m
from tests.access.recipes import REASON, Ctx, Effect, Req, exists, field_is, recipe

A = "/api/v1/admin"
WHEN = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC)


def _installer(ctx: Ctx) -> int:
    return ctx.world.people["installer"].employee_id


def _order(ctx: Ctx, **values: Any) -> int:
    """A work order at the side's citizen's home lock, assigned to the world's installer."""
    s = ctx.side
    with Session(ctx.engine) as db, db.begin():
        citizen = db.get(m.Citizen, s.citizen)
        assert citizen is not None
        fields: dict[str, Any] = {
            "municipality_id": citizen.municipality_id,
            "kind": e.WorkOrderKind.SERVICE,
            "service_kind": e.ServiceKind.JAM,
            "status": e.WorkOrderStatus.ORDERED,
            "trigger": e.WorkOrderTrigger.OFFICE,
            "citizen_id": citizen.id,
            "dwelling_id": citizen.dwelling_id,
            "door_device_id": s.door,
            "assigned_to_employee_id": _installer(ctx),
            "ordered_at": WHEN,
            "material_ore": 0,
            "labour_ore": 0,
            "cost_ore": 0,
        }
        fields.update(values)
        order = m.WorkOrder(**fields)
        db.add(order)
        db.flush()
        return order.id


def _done_order(ctx: Ctx) -> int:
    return _order(
        ctx,
        status=e.WorkOrderStatus.DONE,
        completed_at=WHEN,
        performed_by_employee_id=_installer(ctx),
        material_ore=100,
        labour_ore=200,
        cost_ore=300,
    )


def _status(order_id: int, status: e.WorkOrderStatus) -> Effect:
    return field_is(m.WorkOrder, order_id, "status", status)


def _created(ctx: Ctx) -> Effect:
    return exists(m.WorkOrder, citizen_id=ctx.side.citizen, notes=f"matrix {ctx.actor}")


# --- the API -----------------------------------------------------------------------------------


@recipe("GET", f"{A}/work-orders")
def _api_orders(ctx: Ctx) -> list[Req]:
    _order(ctx)
    return [Req("GET", f"{A}/work-orders", params={"limit": 200}, marker=ctx.side.door_serial)]


@recipe("POST", f"{A}/work-orders")
def _api_create(ctx: Ctx) -> list[Req]:
    body = {"kind": "restore", "citizen_id": ctx.side.citizen, "notes": f"matrix {ctx.actor}"}
    return [Req("POST", f"{A}/work-orders", json=body, effect=_created(ctx))]


@recipe("GET", f"{A}/work-orders/{{order_id}}")
def _api_order(ctx: Ctx) -> list[Req]:
    order = _order(ctx)
    return [Req("GET", f"{A}/work-orders/{order}", marker=ctx.side.door_serial)]


@recipe("POST", f"{A}/work-orders/{{order_id}}/assign")
def _api_assign(ctx: Ctx) -> list[Req]:
    order = _order(ctx, assigned_to_employee_id=None)
    effect = field_is(m.WorkOrder, order, "supplier", "Matrix A/S")
    return [
        Req(
            "POST",
            f"{A}/work-orders/{order}/assign",
            json={"supplier": "Matrix A/S"},
            effect=effect,
        )
    ]


@recipe("POST", f"{A}/work-orders/{{order_id}}/schedule")
def _api_schedule(ctx: Ctx) -> list[Req]:
    order = _order(ctx)
    body = {"scheduled_for": "2026-12-01T08:00:00+00:00"}
    effect = _status(order, e.WorkOrderStatus.SCHEDULED)
    return [Req("POST", f"{A}/work-orders/{order}/schedule", json=body, effect=effect)]


@recipe("POST", f"{A}/work-orders/{{order_id}}/complete")
def _api_complete(ctx: Ctx) -> list[Req]:
    order = _order(ctx)
    body = {"checklist": {"serviced": True, "tested": True}, "labour_ore": 100}
    effect = _status(order, e.WorkOrderStatus.DONE)
    return [Req("POST", f"{A}/work-orders/{order}/complete", json=body, effect=effect)]


@recipe("POST", f"{A}/work-orders/{{order_id}}/sign-off")
def _api_sign_off(ctx: Ctx) -> list[Req]:
    order = _done_order(ctx)
    effect = _status(order, e.WorkOrderStatus.SIGNED_OFF)
    return [Req("POST", f"{A}/work-orders/{order}/sign-off", effect=effect, what="a done order")]


@recipe("POST", f"{A}/work-orders/{{order_id}}/cancel")
def _api_cancel(ctx: Ctx) -> list[Req]:
    order = _order(ctx)
    effect = _status(order, e.WorkOrderStatus.CANCELLED)
    return [Req("POST", f"{A}/work-orders/{order}/cancel", json={"reason": REASON}, effect=effect)]


@recipe("GET", f"{A}/costs")
def _api_costs(ctx: Ctx) -> list[Req]:
    return [Req("GET", f"{A}/costs", params={"group": "district"})]


@recipe("GET", f"{A}/citizens/{{citizen_id}}/timeline")
def _api_citizen_timeline(ctx: Ctx) -> list[Req]:
    s = ctx.side
    return [Req("GET", f"{A}/citizens/{s.citizen}/timeline", marker=s.citizen_name)]


@recipe("GET", f"{A}/properties/{{property_id}}/timeline")
def _api_property_timeline(ctx: Ctx) -> list[Req]:
    o = ctx.org
    return [Req("GET", f"{A}/properties/{o.property}/timeline", marker=o.property_street)]


# --- the pages ---------------------------------------------------------------------------------


@recipe("GET", "/work-orders")
def _web_orders(ctx: Ctx) -> list[Req]:
    _order(ctx)
    return [Req("GET", "/work-orders", params={"size": 200}, marker=ctx.side.door_serial)]


@recipe("GET", "/work-orders/new")
def _web_new(ctx: Ctx) -> list[Req]:
    return [Req("GET", "/work-orders/new")]


@recipe("POST", "/work-orders")
def _web_create(ctx: Ctx) -> list[Req]:
    form = {"kind": "restore", "citizen_id": str(ctx.side.citizen), "notes": f"matrix {ctx.actor}"}
    return [Req("POST", "/work-orders", data=form, effect=_created(ctx))]


@recipe("GET", "/work-orders/{order_id}")
def _web_order(ctx: Ctx) -> list[Req]:
    order = _order(ctx)
    return [Req("GET", f"/work-orders/{order}", marker=ctx.side.door_serial)]


@recipe("POST", "/work-orders/{order_id}/assign")
def _web_assign(ctx: Ctx) -> list[Req]:
    order = _order(ctx, assigned_to_employee_id=None)
    effect = field_is(m.WorkOrder, order, "supplier", "Matrix A/S")
    return [
        Req("POST", f"/work-orders/{order}/assign", data={"supplier": "Matrix A/S"}, effect=effect)
    ]


@recipe("POST", "/work-orders/{order_id}/schedule")
def _web_schedule(ctx: Ctx) -> list[Req]:
    order = _order(ctx)
    effect = _status(order, e.WorkOrderStatus.SCHEDULED)
    form = {"scheduled_for": "2026-12-01T09:00"}
    return [Req("POST", f"/work-orders/{order}/schedule", data=form, effect=effect)]


@recipe("POST", "/work-orders/{order_id}/complete")
def _web_complete(ctx: Ctx) -> list[Req]:
    order = _order(ctx)
    form = {"item_serviced": "1", "item_tested": "1", "labour_kr": "100"}
    effect = _status(order, e.WorkOrderStatus.DONE)
    return [Req("POST", f"/work-orders/{order}/complete", data=form, effect=effect)]


@recipe("POST", "/work-orders/{order_id}/sign-off")
def _web_sign_off(ctx: Ctx) -> list[Req]:
    order = _done_order(ctx)
    effect = _status(order, e.WorkOrderStatus.SIGNED_OFF)
    return [
        Req("POST", f"/work-orders/{order}/sign-off", data={}, effect=effect, what="a done order")
    ]


@recipe("POST", "/work-orders/{order_id}/cancel")
def _web_cancel(ctx: Ctx) -> list[Req]:
    order = _order(ctx)
    effect = _status(order, e.WorkOrderStatus.CANCELLED)
    return [Req("POST", f"/work-orders/{order}/cancel", data={"reason": REASON}, effect=effect)]


for _path in ("/costs", "/costs.csv", "/costs.xlsx"):
    recipe("GET", _path)(lambda _ctx, p=_path: [Req("GET", p, params={"group": "citizen"})])


@recipe("GET", "/citizens/{citizen_id}/timeline")
def _web_citizen_timeline(ctx: Ctx) -> list[Req]:
    s = ctx.side
    return [Req("GET", f"/citizens/{s.citizen}/timeline", marker=s.citizen_name)]


@recipe("GET", "/properties/{property_id}/timeline")
def _web_property_timeline(ctx: Ctx) -> list[Req]:
    o = ctx.org
    return [Req("GET", f"/properties/{o.property}/timeline", marker=o.property_street)]
