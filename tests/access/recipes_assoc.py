"""How the routes of the housing association's portal (``carekey.associations``) are called:
the organisation probes of ``world_orgs`` (association A, its agreement with P, for everyone;
B's and Q's for ``assoc_out``: ``Ctx.org``). A's user is the one actor the portal is for; aimed
at B's things it gets 404, and B's things are never in A's lists."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from carekey.domain import enums as e
from carekey.domain.partner_policy import DEFAULT_BASIS
from carekey.store import models as m
from tests.access.recipes import REASON, Ctx, Effect, Req, exists, field_is, recipe

API = "/api/v1/association"


def _permission_request(ctx: Ctx) -> int:
    """An open request of the municipality for the side's property."""
    o = ctx.org
    with Session(ctx.engine) as db, db.begin():
        request = m.PermissionRequest(
            municipality_id=1,
            housing_association_id=o.association,
            property_id=o.property,
            covers_entrances=True,
            covers_gates=False,
            status=e.PermissionStatus.REQUESTED,
            requested_at=ctx.template.now - dt.timedelta(days=2),
        )
        db.add(request)
        db.flush()
        return request.id


def _granted(request_id: int) -> Effect:
    return field_is(m.PermissionRequest, request_id, "status", e.PermissionStatus.GRANTED)


def _basis(ctx: Ctx) -> str:
    with Session(ctx.engine) as db:
        company = db.get(m.PartnerCompany, ctx.org.company)
        assert company is not None
        return DEFAULT_BASIS[company.category].value


def _second_agreement(ctx: Ctx) -> Effect:
    """The side's association has a second agreement with the side's company."""
    o = ctx.org

    def check(db: Session) -> bool:
        count = db.execute(
            select(func.count())
            .select_from(m.Agreement)
            .where(m.Agreement.housing_association_id == o.association)
            .where(m.Agreement.partner_company_id == o.company)
        ).scalar_one()
        return int(count) == 2

    return check


def _ended(agreement_id: int) -> Effect:
    def check(db: Session) -> bool:
        agreement = db.get(m.Agreement, agreement_id)
        return agreement is not None and agreement.valid_until is not None

    return check


def _friday(agreement_id: int) -> Effect:
    return exists(m.AgreementWindow, agreement_id=agreement_id, weekday=4)


def _block_first(ctx: Ctx) -> None:
    """The side's agreement is blocked (by its own association), for an unblock to try."""
    with Session(ctx.engine) as db, db.begin():
        db.execute(
            update(m.Agreement)
            .where(m.Agreement.id == ctx.org.agreement)
            .values(blocked=True, blocked_reason="forberedt", blocked_at=ctx.template.now)
        )


def _agreement_body(ctx: Ctx) -> dict[str, Any]:
    return {
        "company_id": ctx.org.company,
        "legal_basis": _basis(ctx),
        "doors": {"entrance_ids": [ctx.org.entrance]},
        "windows": [{"weekday": 0, "start": "06:00", "end": "08:00"}],
        "reason": REASON,
    }


def _agreement_form(ctx: Ctx) -> dict[str, Any]:
    return {
        "company": str(ctx.org.company),
        "basis": _basis(ctx),
        "entrance_ids": [str(ctx.org.entrance)],
        "window_days": ["0:0"],
        "window_start": ["06:00", ""],
        "window_end": ["08:00", ""],
        "valid_from": ctx.template.now.date().isoformat(),
    }


# --- the API -----------------------------------------------------------------------------------


@recipe("GET", f"{API}/properties")
def _api_properties(ctx: Ctx) -> list[Req]:
    return [Req("GET", f"{API}/properties", marker=ctx.org.entrance_door_serial)]


@recipe("GET", f"{API}/properties/{{property_id}}")
def _api_property(ctx: Ctx) -> list[Req]:
    o = ctx.org
    return [Req("GET", f"{API}/properties/{o.property}", marker=o.entrance_door_serial)]


@recipe("GET", f"{API}/permission-requests")
def _api_permission_requests(ctx: Ctx) -> list[Req]:
    _permission_request(ctx)
    return [Req("GET", f"{API}/permission-requests", marker=ctx.org.property_street)]


@recipe("GET", f"{API}/permission-requests/{{request_id}}")
def _api_permission_request(ctx: Ctx) -> list[Req]:
    request_id = _permission_request(ctx)
    url = f"{API}/permission-requests/{request_id}"
    return [Req("GET", url, marker=ctx.org.property_street)]


@recipe("POST", f"{API}/permission-requests/{{request_id}}/answer")
def _api_answer(ctx: Ctx) -> list[Req]:
    request_id = _permission_request(ctx)
    url = f"{API}/permission-requests/{request_id}/answer"
    return [Req("POST", url, json={"decision": "grant"}, effect=_granted(request_id))]


@recipe("GET", f"{API}/companies")
def _api_companies(ctx: Ctx) -> list[Req]:
    return [Req("GET", f"{API}/companies", marker=ctx.org.company_name)]


@recipe("POST", f"{API}/companies/{{company_id}}/block")
def _api_block(ctx: Ctx) -> list[Req]:
    o = ctx.org
    effect = field_is(m.Agreement, o.agreement, "blocked", True)
    url = f"{API}/companies/{o.company}/block"
    return [Req("POST", url, json={"reason": REASON}, effect=effect)]


@recipe("POST", f"{API}/companies/{{company_id}}/unblock")
def _api_unblock(ctx: Ctx) -> list[Req]:
    o = ctx.org
    _block_first(ctx)
    effect = field_is(m.Agreement, o.agreement, "blocked", False)
    url = f"{API}/companies/{o.company}/unblock"
    return [Req("POST", url, json={"reason": REASON}, effect=effect, what="a blocked company")]


@recipe("GET", f"{API}/agreements")
def _api_agreements(ctx: Ctx) -> list[Req]:
    return [Req("GET", f"{API}/agreements", marker=ctx.org.company_name)]


@recipe("POST", f"{API}/agreements")
def _api_create_agreement(ctx: Ctx) -> list[Req]:
    body = _agreement_body(ctx)
    return [Req("POST", f"{API}/agreements", json=body, effect=_second_agreement(ctx))]


@recipe("GET", f"{API}/agreements/{{agreement_id}}")
def _api_agreement(ctx: Ctx) -> list[Req]:
    o = ctx.org
    return [Req("GET", f"{API}/agreements/{o.agreement}", marker=o.company_name)]


@recipe("PATCH", f"{API}/agreements/{{agreement_id}}")
def _api_update_agreement(ctx: Ctx) -> list[Req]:
    o = ctx.org
    body = {"windows": [{"weekday": 4, "start": "07:00", "end": "17:00"}], "reason": REASON}
    url = f"{API}/agreements/{o.agreement}"
    return [Req("PATCH", url, json=body, effect=_friday(o.agreement))]


@recipe("POST", f"{API}/agreements/{{agreement_id}}/end")
def _api_end_agreement(ctx: Ctx) -> list[Req]:
    o = ctx.org
    url = f"{API}/agreements/{o.agreement}/end"
    return [Req("POST", url, json={"reason": REASON}, effect=_ended(o.agreement))]


@recipe("GET", f"{API}/log")
def _api_log(ctx: Ctx) -> list[Req]:
    return [Req("GET", f"{API}/log", marker=ctx.org.worker_name)]


@recipe("GET", f"{API}/log.csv")
def _api_log_csv(ctx: Ctx) -> list[Req]:
    return [Req("GET", f"{API}/log.csv", marker=ctx.org.worker_name)]


# --- the pages ---------------------------------------------------------------------------------


@recipe("GET", "/association")
def _web_overview(ctx: Ctx) -> list[Req]:
    return [Req("GET", "/association", marker=ctx.org.entrance_door_serial)]


@recipe("POST", "/association/permissions/{request_id}")
def _web_answer(ctx: Ctx) -> list[Req]:
    request_id = _permission_request(ctx)
    url = f"/association/permissions/{request_id}"
    return [Req("POST", url, data={"decision": "grant"}, effect=_granted(request_id))]


@recipe("GET", "/association/log")
def _web_log(ctx: Ctx) -> list[Req]:
    return [Req("GET", "/association/log", marker=ctx.org.worker_name)]


@recipe("GET", "/association/log.csv")
def _web_log_csv(ctx: Ctx) -> list[Req]:
    return [Req("GET", "/association/log.csv", marker=ctx.org.worker_name)]


@recipe("GET", "/association/agreements")
def _web_agreements(ctx: Ctx) -> list[Req]:
    marker = f'href="/association/agreements/{ctx.org.agreement}"'
    return [Req("GET", "/association/agreements", marker=marker)]


@recipe("GET", "/association/agreements/new")
def _web_new_agreement(ctx: Ctx) -> list[Req]:
    # The form offers the association's own entrances (no object: B's never).
    return [Req("GET", "/association/agreements/new", marker=ctx.org.property_street)]


@recipe("POST", "/association/agreements/new")
def _web_create_agreement(ctx: Ctx) -> list[Req]:
    form = _agreement_form(ctx)
    return [Req("POST", "/association/agreements/new", data=form, effect=_second_agreement(ctx))]


@recipe("GET", "/association/agreements/{agreement_id}")
def _web_agreement(ctx: Ctx) -> list[Req]:
    o = ctx.org
    return [Req("GET", f"/association/agreements/{o.agreement}", marker=o.company_name)]


@recipe("GET", "/association/agreements/{agreement_id}/edit")
def _web_edit_agreement(ctx: Ctx) -> list[Req]:
    o = ctx.org
    return [Req("GET", f"/association/agreements/{o.agreement}/edit", marker=o.company_name)]


@recipe("POST", "/association/agreements/{agreement_id}/edit")
def _web_save_agreement(ctx: Ctx) -> list[Req]:
    o = ctx.org
    form = {
        "entrance_ids": [str(o.entrance)],
        "window_days": ["0:4"],
        "window_start": ["07:00", ""],
        "window_end": ["17:00", ""],
    }
    url = f"/association/agreements/{o.agreement}/edit"
    return [Req("POST", url, data=form, effect=_friday(o.agreement))]


@recipe("POST", "/association/agreements/{agreement_id}/end")
def _web_end_agreement(ctx: Ctx) -> list[Req]:
    o = ctx.org
    url = f"/association/agreements/{o.agreement}/end"
    return [Req("POST", url, data={"reason": REASON}, effect=_ended(o.agreement))]


@recipe("GET", "/association/companies/{company_id}/block")
def _web_confirm_block(ctx: Ctx) -> list[Req]:
    o = ctx.org
    return [Req("GET", f"/association/companies/{o.company}/block", marker=o.company_name)]


@recipe("POST", "/association/companies/{company_id}/block")
def _web_block(ctx: Ctx) -> list[Req]:
    o = ctx.org
    effect = field_is(m.Agreement, o.agreement, "blocked", True)
    url = f"/association/companies/{o.company}/block"
    return [Req("POST", url, data={"reason": REASON}, effect=effect)]


@recipe("POST", "/association/companies/{company_id}/unblock")
def _web_unblock(ctx: Ctx) -> list[Req]:
    o = ctx.org
    _block_first(ctx)
    effect = field_is(m.Agreement, o.agreement, "blocked", False)
    url = f"/association/companies/{o.company}/unblock"
    return [Req("POST", url, data={"reason": REASON}, effect=effect, what="a blocked company")]
