"""The administration pages of carekey.workorders (issue 16): the office's list of work orders
(an installer sees only their own), one order with the steps the viewer may take (assign,
schedule, sign off, cancel; for the installer the completion form with the checklist), the form
for a new order, the costs with CSV and Excel, and the timelines of a citizen and a property.

Thin: every page calls the use cases of ``workorders.service``, ``costs`` and ``timeline``;
refusals are the same 403/404/409 as in the API.
"""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Annotated, Any, Final
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from carekey.access import Action, allowed
from carekey.adminui import formatting
from carekey.adminui import pages as ui
from carekey.adminui.deps import CsrfDep, WebUserDep
from carekey.adminui.i18n import gettext as _
from carekey.adminui.security import WebUser
from carekey.clock import COPENHAGEN
from carekey.domain import enums as e
from carekey.domain.errors import DomainError, forbidden
from carekey.domain.values import ascii_id
from carekey.http.deps import NowDep, SessionDep, writes_on_read
from carekey.workorders import costs, service, timeline

router = APIRouter(include_in_schema=False)

STATUS_BADGE: Final = {
    "ordered": "warn",
    "scheduled": "warn",
    "done": "",
    "signed_off": "ok",
    "cancelled": "bad",
}


def status_label(value: str) -> str:
    """An order's status in words."""
    return {
        "ordered": _("Bestilt"),
        "scheduled": _("Planlagt"),
        "done": _("Udført"),
        "signed_off": _("Godkendt"),
        "cancelled": _("Annulleret"),
    }.get(value, value)


def kind_label(value: str) -> str:
    """An order's kind in words."""
    return {
        "install": _("Installation"),
        "restore": _("Genetablering"),
        "service": _("Service"),
    }.get(value, value)


def trigger_label(value: str) -> str:
    """What made the order, in words."""
    return {
        "office": _("Kontoret"),
        "low_battery": _("Lavt batteri"),
        "citizen_removed": _("Borger fjernet"),
        "consent_withdrawn": _("Samtykke trukket tilbage"),
    }.get(value, value)


def service_label(value: str | None) -> str:
    """A service kind in words."""
    return {
        "battery": _("Batteri"),
        "jam": _("Fastlåst"),
        "firmware": _("Firmware"),
    }.get(value or "", value or "")


def helpers() -> dict[str, Any]:
    """The words and formatters the templates use."""
    return {
        **formatting.formatters(),
        "status_label": status_label,
        "kind_label": kind_label,
        "trigger_label": trigger_label,
        "service_label": service_label,
        "status_badge": STATUS_BADGE,
        "kroner": costs.kroner,
    }


def _page(
    request: Request, template: str, user: WebUser, context: dict[str, Any], status: int = 200
) -> HTMLResponse:
    return ui.page(request, template, user, {**helpers(), **context}, status_code=status)


def _done(code: str | None) -> str | None:
    return {
        "created": _("Arbejdsordren er oprettet."),
        "assigned": _("Arbejdsordren er tildelt."),
        "scheduled": _("Besøget er planlagt."),
        "completed": _("Arbejdet er meldt udført."),
        "signed_off": _("Arbejdsordren er godkendt."),
        "cancelled": _("Arbejdsordren er annulleret."),
    }.get(code or "")


# --- the list ----------------------------------------------------------------------------------


def order_filter(params: dict[str, str]) -> tuple[service.OrderFilter, dict[str, str]]:
    """The filter the query string names and the values to show again."""
    status = ui.enum_of(e.WorkOrderStatus, params.get("status"))
    kind = ui.enum_of(e.WorkOrderKind, params.get("kind"))
    trigger = ui.enum_of(e.WorkOrderTrigger, params.get("trigger"))
    installer = ascii_id(params.get("installer", "").strip()[:12])
    values = {
        "status": status.value if status else "",
        "kind": kind.value if kind else "",
        "trigger": trigger.value if trigger else "",
        "installer": str(installer or ""),
    }
    return service.OrderFilter(status, kind, trigger, installer), values


@router.get("/work-orders", response_class=HTMLResponse)
def orders(
    request: Request,
    user: WebUserDep,
    db: SessionDep,
    page: str | None = None,
    size: str | None = None,
    done: str | None = None,
) -> Response:
    """Arbejdsordrer / work orders."""
    limit, offset, number = ui.paging(page, size)
    filters, values = order_filter(dict(request.query_params))
    try:
        found = service.list_orders(
            db, actor=user.actor, filters=filters, limit=limit, offset=offset
        )
    except DomainError as exc:
        return ui.error_page(request, user, exc)
    manages = allowed(user.actor, Action.MANAGE_WORK_ORDERS)
    return _page(
        request,
        "workorders/list.html",
        user,
        {
            "nav": "work_orders",
            "rows": found.items,
            "paging": ui.pager(request, found.total, number, limit),
            "values": values,
            "installers": service.list_installers(db, actor=user.actor) if manages else [],
            "manages": manages,
            "statuses": list(e.WorkOrderStatus),
            "kinds": list(e.WorkOrderKind),
            "triggers": list(e.WorkOrderTrigger),
            "page_sizes": ui.PAGE_SIZES,
            "size": limit,
            "done": _done(done),
        },
    )


# --- one order ---------------------------------------------------------------------------------


def _detail(
    request: Request,
    db: Session,
    user: WebUser,
    order_id: int,
    *,
    done: str | None = None,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    row = service.get_order(db, actor=user.actor, order_id=order_id)
    order = row.order
    actor = user.actor
    is_open = order.status in e.OPEN_WORK_ORDER_STATUSES
    manages = allowed(actor, Action.MANAGE_WORK_ORDERS)
    works = allowed(actor, Action.WORK_ON_ORDERS) and order.assigned_to_employee_id == (
        actor.employee_id
    )
    return _page(
        request,
        "workorders/detail.html",
        user,
        {
            "nav": "work_orders",
            "row": row,
            "o": order,
            "can_manage": manages and is_open,
            "can_sign_off": allowed(actor, Action.SIGN_OFF_WORK_ORDERS)
            and order.status is e.WorkOrderStatus.DONE
            and order.performed_by_employee_id != actor.employee_id,
            "can_complete": works and is_open,
            "checklist": service.checklist_for(order),
            "installers": service.list_installers(db, actor=actor) if manages and is_open else [],
            "can_see_costs": allowed(actor, Action.READ_COSTS) or works,
            "done": _done(done),
            "error": error,
        },
        status,
    )


@router.get("/work-orders/new", response_class=HTMLResponse)
def new_order(request: Request, user: WebUserDep, citizen: str | None = None) -> Response:
    """Ny arbejdsordre / a new work order."""
    if not allowed(user.actor, Action.MANAGE_WORK_ORDERS):
        return ui.error_page(request, user, forbidden())
    return _page(
        request,
        "workorders/new.html",
        user,
        {
            "nav": "work_orders",
            "kinds": list(e.WorkOrderKind),
            "service_kinds": list(e.ServiceKind),
            "form": {"citizen_id": str(ascii_id((citizen or "")[:12]) or "")},
            "error": None,
        },
    )


def _int(value: str) -> int | None:
    return ascii_id(value.strip()[:12]) if value.strip() else None


@router.post("/work-orders", response_class=HTMLResponse)
def create_order(
    request: Request,
    user: WebUserDep,
    _csrf: CsrfDep,
    db: SessionDep,
    now: NowDep,
    kind: Annotated[str, Form()] = "",
    citizen_id: Annotated[str, Form()] = "",
    entrance_id: Annotated[str, Form()] = "",
    gate_id: Annotated[str, Form()] = "",
    door_id: Annotated[str, Form()] = "",
    service_kind: Annotated[str, Form()] = "",
    notes: Annotated[str, Form()] = "",
) -> Response:
    """Opret en arbejdsordre / create a work order."""
    form = {
        "kind": kind,
        "citizen_id": citizen_id,
        "entrance_id": entrance_id,
        "gate_id": gate_id,
        "door_id": door_id,
        "service_kind": service_kind,
        "notes": notes,
    }
    try:
        new = service.NewOrder(
            kind=ui.enum_of(e.WorkOrderKind, kind) or e.WorkOrderKind.INSTALL,
            citizen_id=_int(citizen_id),
            entrance_id=_int(entrance_id),
            gate_id=_int(gate_id),
            door_id=_int(door_id),
            service_kind=ui.enum_of(e.ServiceKind, service_kind),
            notes=notes or None,
        )
        with ui.savepoint(db):
            order = service.create_order(db, actor=user.actor, new=new, now=now)
    except DomainError as exc:
        code = ui.page_status(exc)
        if code in (403, 404):
            return ui.error_page(request, user, exc)
        return _page(
            request,
            "workorders/new.html",
            user,
            {
                "nav": "work_orders",
                "kinds": list(e.WorkOrderKind),
                "service_kinds": list(e.ServiceKind),
                "form": form,
                "error": ui.message(exc),
            },
            code,
        )
    return RedirectResponse(f"/work-orders/{order.id}?done=created", status_code=303)


@router.get("/work-orders/{order_id}", response_class=HTMLResponse)
def order_detail(
    request: Request, order_id: str, user: WebUserDep, db: SessionDep, done: str | None = None
) -> Response:
    """Én arbejdsordre / one work order."""
    try:
        number = ui.path_id(order_id, "Arbejdsordren", "work order")
        return _detail(request, db, user, number, done=done)
    except DomainError as exc:
        return ui.error_page(request, user, exc)


def _step(
    request: Request, db: Session, user: WebUser, order_id: str, code: str, run: Any
) -> Response:
    try:
        number = ui.path_id(order_id, "Arbejdsordren", "work order")
    except DomainError as exc:
        return ui.error_page(request, user, exc)
    try:
        with ui.savepoint(db):
            run(number)
    except DomainError as exc:
        status = ui.page_status(exc)
        if status in (403, 404):
            return ui.error_page(request, user, exc)
        try:
            return _detail(request, db, user, number, error=ui.message(exc), status=status)
        except DomainError as again:
            return ui.error_page(request, user, again)
    return RedirectResponse(f"/work-orders/{number}?done={code}", status_code=303)


@router.post("/work-orders/{order_id}/assign", response_class=HTMLResponse)
def assign(
    request: Request,
    order_id: str,
    user: WebUserDep,
    _csrf: CsrfDep,
    db: SessionDep,
    now: NowDep,
    installer_id: Annotated[str, Form()] = "",
    supplier: Annotated[str, Form()] = "",
) -> Response:
    """Tildel / assign."""
    return _step(
        request,
        db,
        user,
        order_id,
        "assigned",
        lambda n: service.assign_order(
            db,
            actor=user.actor,
            order_id=n,
            installer_id=_int(installer_id),
            supplier=supplier or None,
            now=now,
        ),
    )


def _when(value: str) -> dt.datetime:
    try:
        local = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise DomainError(
            "work_order.bad_time",
            "Tidspunktet kunne ikke læses",
            "The time could not be read",
        ) from None
    if local.tzinfo is None:
        local = local.replace(tzinfo=COPENHAGEN)
    return local.astimezone(dt.UTC)


@router.post("/work-orders/{order_id}/schedule", response_class=HTMLResponse)
def schedule(
    request: Request,
    order_id: str,
    user: WebUserDep,
    _csrf: CsrfDep,
    db: SessionDep,
    now: NowDep,
    scheduled_for: Annotated[str, Form()] = "",
) -> Response:
    """Planlæg / schedule."""
    return _step(
        request,
        db,
        user,
        order_id,
        "scheduled",
        lambda n: service.schedule_order(
            db, actor=user.actor, order_id=n, scheduled_for=_when(scheduled_for), now=now
        ),
    )


def _ore(value: str) -> int:
    """Kroner as typed ("1.234,50") in øre, exactly (never through a float)."""
    text = value.strip().replace(".", "").replace(",", ".") or "0"
    try:
        amount = decimal.Decimal(text) * 100
    except decimal.InvalidOperation:
        amount = decimal.Decimal("NaN")
    if not amount.is_finite() or amount != amount.to_integral_value():
        raise DomainError(
            "work_order.bad_amount",
            "Beløbet kunne ikke læses (kroner med højst to decimaler)",
            "The amount could not be read (kroner with at most two decimals)",
        )
    return int(amount)


@router.post("/work-orders/{order_id}/complete", response_class=HTMLResponse)
async def complete(
    request: Request,
    order_id: str,
    user: WebUserDep,
    _csrf: CsrfDep,
    db: SessionDep,
    now: NowDep,
) -> Response:
    """Meld arbejdet udført / report the work done."""
    form = await request.form()
    ticked = {str(k).removeprefix("item_"): True for k in form if str(k).startswith("item_")}

    def run(n: int) -> None:
        service.complete_order(
            db,
            actor=user.actor,
            order_id=n,
            checklist=ticked,
            photo_ref=str(form.get("photo_ref") or "") or None,
            material_ore=_ore(str(form.get("material_kr") or "")),
            labour_ore=_ore(str(form.get("labour_kr") or "")),
            notes=str(form.get("notes") or "") or None,
            now=now,
        )

    return _step(request, db, user, order_id, "completed", run)


@router.post("/work-orders/{order_id}/sign-off", response_class=HTMLResponse)
def sign_off(
    request: Request, order_id: str, user: WebUserDep, _csrf: CsrfDep, db: SessionDep, now: NowDep
) -> Response:
    """Godkend / sign off."""
    return _step(
        request,
        db,
        user,
        order_id,
        "signed_off",
        lambda n: service.sign_off_order(db, actor=user.actor, order_id=n, now=now),
    )


@router.post("/work-orders/{order_id}/cancel", response_class=HTMLResponse)
def cancel(
    request: Request,
    order_id: str,
    user: WebUserDep,
    _csrf: CsrfDep,
    db: SessionDep,
    now: NowDep,
    reason: Annotated[str, Form()] = "",
) -> Response:
    """Annullér / cancel."""
    return _step(
        request,
        db,
        user,
        order_id,
        "cancelled",
        lambda n: service.cancel_order(db, actor=user.actor, order_id=n, reason=reason, now=now),
    )


# --- costs -------------------------------------------------------------------------------------


def _report(db: Session, user: WebUser, params: dict[str, str]) -> costs.CostReport:
    group = params.get("group", "month")
    month = params.get("month", "").strip()[:7] or None
    return costs.cost_report(
        db, actor=user.actor, group=group if group in costs.GROUPS else "month", month=month
    )


@router.get("/costs", response_class=HTMLResponse)
def cost_page(
    request: Request,
    user: WebUserDep,
    db: SessionDep,
    page: str | None = None,
    size: str | None = None,
) -> Response:
    """Udgifter / costs (the totals of every line; the lines a page at a time)."""
    limit, offset, number = ui.paging(page, size)
    params = dict(request.query_params)
    try:
        report = _report(db, user, params)
    except DomainError as exc:
        if ui.page_status(exc) in (403, 404):
            return ui.error_page(request, user, exc)
        params.pop("month", None)
        report = _report(db, user, params)
    query = urlencode({"group": report.group, **({"month": report.month} if report.month else {})})
    return _page(
        request,
        "workorders/costs.html",
        user,
        {
            "nav": "costs",
            "report": report,
            "lines": report.lines[offset : offset + limit],
            "paging": ui.pager(request, len(report.lines), number, limit),
            "groups": [(g, _(costs.GROUP_LABELS[g][0])) for g in costs.GROUPS],
            "querystring": query,
        },
    )


def _export(request: Request, user: WebUser, db: Session, now: dt.datetime, fmt: str) -> Response:
    try:
        report = _report(db, user, dict(request.query_params))
    except DomainError as exc:
        return ui.error_page(request, user, exc)
    costs.record_export(db, actor=user.actor, report=report, fmt=fmt, now=now)
    stamp = now.astimezone(COPENHAGEN).strftime("%Y%m%d-%H%M")
    if fmt == "csv":
        return Response(
            costs.costs_csv(report),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="udgifter-{stamp}.csv"'},
        )
    return Response(
        costs.costs_xlsx(report, now=now),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="udgifter-{stamp}.xlsx"'},
    )


@router.get("/costs.csv")
@writes_on_read
def costs_csv(request: Request, user: WebUserDep, db: SessionDep, now: NowDep) -> Response:
    """Udgifterne som CSV / the costs as CSV."""
    return _export(request, user, db, now, "csv")


@router.get("/costs.xlsx")
@writes_on_read
def costs_xlsx(request: Request, user: WebUserDep, db: SessionDep, now: NowDep) -> Response:
    """Udgifterne som Excel / the costs as Excel."""
    return _export(request, user, db, now, "xlsx")


# --- timelines ---------------------------------------------------------------------------------


@router.get("/citizens/{citizen_id}/timeline", response_class=HTMLResponse)
def citizen_timeline(
    request: Request, citizen_id: str, user: WebUserDep, db: SessionDep
) -> Response:
    """Borgerens forløb / the citizen's timeline."""
    try:
        number = ui.path_id(citizen_id, "Borgeren", "citizen")
        view = timeline.citizen_timeline(db, actor=user.actor, citizen_id=number)
    except DomainError as exc:
        return ui.error_page(request, user, exc)
    back = (f"/citizens/{number}", _("Borgeren"))
    return _page(
        request, "workorders/timeline.html", user, {"nav": "citizens", "view": view, "back": back}
    )


@router.get("/properties/{property_id}/timeline", response_class=HTMLResponse)
def property_timeline(
    request: Request, property_id: str, user: WebUserDep, db: SessionDep
) -> Response:
    """Ejendommens forløb / the property's timeline."""
    try:
        number = ui.path_id(property_id, "Ejendommen", "property")
        view = timeline.property_timeline(db, actor=user.actor, property_id=number)
    except DomainError as exc:
        return ui.error_page(request, user, exc)
    return _page(
        request,
        "workorders/timeline.html",
        user,
        {"nav": "work_orders", "view": view, "back": ("/work-orders", _("Arbejdsordrer"))},
    )
