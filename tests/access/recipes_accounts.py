"""How the routes of carekey.accounts (issue 18, docs/accounts.md) are called in the route x
role matrix.

The probe is the side's care worker (``ctx.side.employee``: D01's, D02's for ``lead_out``, and
for Frederiksberg's administrator another municipality's). A set-password link is made in the
actor's copy of the world with a token the recipe knows; the forced change at sign-in is tried
by giving the actor's own account a one-time password's flag first."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import update
from sqlalchemy.orm import Session

from carekey.store import models as m
from tests.access.recipes import REASON, Ctx, Req, exists, field_is, recipe
from tests.access.world import PASSWORD, csrf_of, web_password_step, web_totp_step

A = "/api/v1/admin"
NEW_PASSWORD = "matrix-ny-adgangskode-1234"


def _with_authenticator(ctx: Ctx) -> int:
    """The side's care worker, given an authenticator to reset."""
    employee = ctx.side.employee
    with Session(ctx.engine) as db, db.begin():
        db.execute(
            update(m.Employee)
            .where(m.Employee.id == employee)
            .values(totp_secret_sealed=b"\x01matrix-sealed-totp-not-used")
        )
    return employee


def _link(ctx: Ctx) -> tuple[str, int]:
    """A fresh set-password link for the side's care worker: its path and its id."""
    token = secrets.token_urlsafe(32)
    with Session(ctx.engine) as db, db.begin():
        link = m.PasswordLink(
            municipality_id=1,
            employee_id=ctx.side.employee,
            token_hash=hashlib.sha256(token.encode()).digest(),
            created_at=ctx.clock.now(),
            expires_at=ctx.clock.now() + dt.timedelta(hours=72),
        )
        db.add(link)
        db.flush()
        return f"/set-password/{token}", link.id


# --- the API -----------------------------------------------------------------------------------


@recipe("POST", f"{A}/employees/{{employee_id}}/one-time-password")
def _api_one_time(ctx: Ctx) -> list[Req]:
    s = ctx.side
    effect = field_is(m.Employee, s.employee, "password_must_change", True)
    return [Req("POST", f"{A}/employees/{s.employee}/one-time-password", effect=effect)]


@recipe("POST", f"{A}/employees/{{employee_id}}/password-link")
def _api_link(ctx: Ctx) -> list[Req]:
    s = ctx.side
    effect = exists(m.PasswordLink, employee_id=s.employee)
    return [Req("POST", f"{A}/employees/{s.employee}/password-link", effect=effect)]


@recipe("POST", f"{A}/employees/{{employee_id}}/totp-reset")
def _api_totp_reset(ctx: Ctx) -> list[Req]:
    employee = _with_authenticator(ctx)
    effect = field_is(m.Employee, employee, "totp_secret_sealed", None)
    url = f"{A}/employees/{employee}/totp-reset"
    return [Req("POST", url, json={"reason": REASON}, effect=effect)]


# --- web UI: from the employee's page ----------------------------------------------------------


@recipe("POST", "/employees/{employee_id}/one-time-password")
def _web_one_time(ctx: Ctx) -> list[Req]:
    s = ctx.side
    effect = field_is(m.Employee, s.employee, "password_must_change", True)
    return [Req("POST", f"/employees/{s.employee}/one-time-password", data={}, effect=effect)]


@recipe("POST", "/employees/{employee_id}/password-link")
def _web_link(ctx: Ctx) -> list[Req]:
    s = ctx.side
    effect = exists(m.PasswordLink, employee_id=s.employee)
    return [Req("POST", f"/employees/{s.employee}/password-link", data={}, effect=effect)]


@recipe("GET", "/employees/{employee_id}/reset-authenticator")
def _web_confirm_reset(ctx: Ctx) -> list[Req]:
    employee = _with_authenticator(ctx)
    marker = ctx.side.employee_number
    return [Req("GET", f"/employees/{employee}/reset-authenticator", marker=marker)]


@recipe("POST", "/employees/{employee_id}/reset-authenticator")
def _web_reset(ctx: Ctx) -> list[Req]:
    employee = _with_authenticator(ctx)
    effect = field_is(m.Employee, employee, "totp_secret_sealed", None)
    url = f"/employees/{employee}/reset-authenticator"
    return [Req("POST", url, data={"reason": REASON}, effect=effect)]


# --- the public set-password page: the link is the credential ----------------------------------


@recipe("GET", "/set-password/{token}")
def _set_password_page(ctx: Ctx) -> list[Req]:
    path, _link_id = _link(ctx)
    return [Req("GET", path, marker=ctx.side.employee_number)]


@recipe("POST", "/set-password/{token}")
def _set_password(ctx: Ctx) -> list[Req]:
    path, link_id = _link(ctx)
    ctx.use_web(None)
    token = csrf_of(ctx.client.get(path).text)
    data = {"password": NEW_PASSWORD, "repeated": NEW_PASSWORD, "csrf_token": token}
    effect = exists(m.PasswordLink, id=link_id, used_at=ctx.clock.now())
    return [Req("POST", path, data=data, effect=effect, credentials=False)]


# --- one's own password ------------------------------------------------------------------------


@recipe("GET", "/account/password")
def _own_page(ctx: Ctx) -> list[Req]:
    return [Req("GET", "/account/password")]


@recipe("POST", "/account/password")
def _own_change(ctx: Ctx) -> list[Req]:
    person = ctx.person
    data = {"current": PASSWORD, "password": NEW_PASSWORD, "repeated": NEW_PASSWORD}
    effect = None
    if person is not None:
        effect = field_is(m.Employee, person.employee_id, "password_changed_at", ctx.clock.now())
    return [Req("POST", "/account/password", data=data, effect=effect)]


# --- the forced change at sign-in --------------------------------------------------------------


@recipe("GET", "/login/new-password")
def _new_password_page(ctx: Ctx) -> list[Req]:
    return [Req("GET", "/login/new-password", credentials=False)]


@recipe("POST", "/login/new-password")
def _new_password(ctx: Ctx) -> list[Req]:
    ctx.use_web(None)
    person = ctx.person
    data = {"password": NEW_PASSWORD, "repeated": NEW_PASSWORD}
    if person is None:  # nothing pending: the page's form alone must not sign anyone in
        token = csrf_of(ctx.client.get("/login").text)
        return [
            Req(
                "POST", "/login/new-password", data={**data, "csrf_token": token}, credentials=False
            )
        ]
    with Session(ctx.engine) as db, db.begin():
        db.execute(
            update(m.Employee)
            .where(m.Employee.id == person.employee_id)
            .values(password_must_change=True)
        )
    web_password_step(ctx.client, person)
    web_totp_step(ctx.client, ctx.clock, person)
    page = ctx.client.get("/login/new-password", follow_redirects=False)
    if page.status_code != 200:  # refused at sign-in (no office role): nothing is pending
        page = ctx.client.get("/login")
    token = csrf_of(page.text)
    effect = field_is(m.Employee, person.employee_id, "password_must_change", False)
    return [
        Req(
            "POST",
            "/login/new-password",
            data={**data, "csrf_token": token},
            effect=effect,
            credentials=False,
        )
    ]
