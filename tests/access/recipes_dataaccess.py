"""How the routes of carekey.dataaccess (the right of access, issue 19, docs/access-report.md)
are called in the route x role matrix.

A citizen's report is asked for the side's probe citizen (``ctx.side.citizen``) by the citizen
themselves, for the last days; an employee's export for the side's care worker. Every report
made is a line in the log of administrative actions: that is the recipe's effect, and a refused
request must leave no such line."""

from __future__ import annotations

from carekey.store import models as m
from tests.access.recipes import Ctx, Effect, Req, exists, recipe

A = "/api/v1/admin"


def _period(ctx: Ctx) -> dict[str, str]:
    today = ctx.clock.now().date()
    return {"basis": "citizen", "from": today.replace(day=1).isoformat(), "to": today.isoformat()}


def _citizen_logged(ctx: Ctx) -> Effect:
    return exists(m.AdminAction, action="privacy.citizen_report", target_id=str(ctx.side.citizen))


def _employee_logged(ctx: Ctx) -> Effect:
    return exists(m.AdminAction, action="privacy.employee_report", target_id=str(ctx.side.employee))


@recipe("GET", f"{A}/citizens/{{citizen_id}}/access-report")
def _api_citizen(ctx: Ctx) -> list[Req]:
    s = ctx.side
    url = f"{A}/citizens/{s.citizen}/access-report"
    params = {**_period(ctx), "reference": "J.nr. matrix"}
    return [Req("GET", url, params=params, marker=s.citizen_name, effect=_citizen_logged(ctx))]


@recipe("GET", f"{A}/employees/{{employee_id}}/data-export")
def _api_employee(ctx: Ctx) -> list[Req]:
    s = ctx.side
    url = f"{A}/employees/{s.employee}/data-export"
    return [Req("GET", url, marker=s.employee_number, effect=_employee_logged(ctx))]


@recipe("GET", "/citizens/{citizen_id}/access-report")
def _web_citizen(ctx: Ctx) -> list[Req]:
    s = ctx.side
    url = f"/citizens/{s.citizen}/access-report"
    return [
        Req("GET", url, params=_period(ctx), marker=s.citizen_name, effect=_citizen_logged(ctx))
    ]


@recipe("GET", "/citizens/{citizen_id}/access-report.json")
def _web_citizen_json(ctx: Ctx) -> list[Req]:
    s = ctx.side
    url = f"/citizens/{s.citizen}/access-report.json"
    return [
        Req("GET", url, params=_period(ctx), marker=s.citizen_name, effect=_citizen_logged(ctx))
    ]


@recipe("GET", "/citizens/{citizen_id}/access-report.csv")
def _web_citizen_csv(ctx: Ctx) -> list[Req]:
    s = ctx.side
    url = f"/citizens/{s.citizen}/access-report.csv"
    # The CSV holds the lock's events, not the citizen's name: its header is the marker.
    marker = "Tidspunkt (dansk tid)"
    return [Req("GET", url, params=_period(ctx), marker=marker, effect=_citizen_logged(ctx))]


@recipe("GET", "/employees/{employee_id}/data")
def _web_employee(ctx: Ctx) -> list[Req]:
    s = ctx.side
    url = f"/employees/{s.employee}/data"
    return [Req("GET", url, marker=s.employee_number, effect=_employee_logged(ctx))]


@recipe("GET", "/employees/{employee_id}/data.json")
def _web_employee_json(ctx: Ctx) -> list[Req]:
    s = ctx.side
    url = f"/employees/{s.employee}/data.json"
    return [Req("GET", url, marker=s.employee_number, effect=_employee_logged(ctx))]


@recipe("GET", "/account/data")
def _own(ctx: Ctx) -> list[Req]:
    person = ctx.person
    marker = person.employee_number if person is not None else None
    return [Req("GET", "/account/data", marker=marker)]


@recipe("GET", "/account/data.json")
def _own_json(ctx: Ctx) -> list[Req]:
    person = ctx.person
    marker = person.employee_number if person is not None else None
    return [Req("GET", "/account/data.json", marker=marker)]
