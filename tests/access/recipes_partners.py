"""How the routes of the partner company's portal (``carekey.partners``) are called: the
organisation probes of ``world_orgs`` (company P, its worker and phone, its agreement with A,
for everyone; Q's for ``padmin_out``: ``Ctx.org``). P's administrator is the one actor the
portal is for; aimed at Q's people and phones it gets 404, and Q's are never in P's lists."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from carekey.auth.passwords import verify_password
from carekey.domain import enums as e
from carekey.store import models as m
from tests.access.recipes import REASON, Ctx, Effect, Req, exists, field_is, recipe

API = "/api/v1/partner"
NEW_PASSWORD = "en-ny-adgangskode-42"


def _number(ctx: Ctx) -> str:
    return f"NEW-{ctx.actor.upper()}-W"


def _label(ctx: Ctx) -> str:
    return f"NEW-{ctx.actor.upper()}-TLF"


def _password_is_new(employee_id: int) -> Effect:
    def check(db: Session) -> bool:
        person = db.get(m.Employee, employee_id)
        return person is not None and verify_password(person.password_hash, NEW_PASSWORD)

    return check


def _worker_blocked(ctx: Ctx) -> None:
    with Session(ctx.engine) as db, db.begin():
        db.execute(
            update(m.Employee)
            .where(m.Employee.id == ctx.org.worker)
            .values(status=e.EmployeeStatus.BLOCKED, blocked_reason="forberedt")
        )


def _phone_blocked(ctx: Ctx) -> None:
    with Session(ctx.engine) as db, db.begin():
        db.execute(
            update(m.Phone)
            .where(m.Phone.id == ctx.org.phone)
            .values(status=e.PhoneStatus.BLOCKED, blocked_reason="forberedt")
        )


def _worker_status(ctx: Ctx, status: e.EmployeeStatus) -> Effect:
    return field_is(m.Employee, ctx.org.worker, "status", status)


def _phone_status(ctx: Ctx, status: e.PhoneStatus) -> Effect:
    return field_is(m.Phone, ctx.org.phone, "status", status)


def _new_worker(ctx: Ctx) -> Effect:
    return exists(m.Employee, employee_number=_number(ctx))


def _new_phone(ctx: Ctx) -> Effect:
    return exists(m.Phone, label=_label(ctx))


def _code(ctx: Ctx) -> Effect:
    return exists(m.EnrolmentCode, phone_id=ctx.org.phone)


def _no_holder(ctx: Ctx) -> Effect:
    return field_is(m.Phone, ctx.org.phone, "employee_id", None)


# --- the API -----------------------------------------------------------------------------------


@recipe("GET", API)
def _api_overview(ctx: Ctx) -> list[Req]:
    return [Req("GET", API, marker=ctx.org.company_name)]


@recipe("GET", f"{API}/agreements")
def _api_agreements(ctx: Ctx) -> list[Req]:
    return [Req("GET", f"{API}/agreements", marker=ctx.org.association_name)]


@recipe("GET", f"{API}/workers")
def _api_workers(ctx: Ctx) -> list[Req]:
    return [Req("GET", f"{API}/workers", marker=ctx.org.worker_number)]


@recipe("POST", f"{API}/workers")
def _api_create_worker(ctx: Ctx) -> list[Req]:
    body = {"employee_number": _number(ctx), "full_name": "Ny Partnermedarbejder"}
    return [Req("POST", f"{API}/workers", json=body, effect=_new_worker(ctx))]


@recipe("POST", f"{API}/workers/{{employee_id}}/password")
def _api_password(ctx: Ctx) -> list[Req]:
    url = f"{API}/workers/{ctx.org.worker}/password"
    effect = _password_is_new(ctx.org.worker)
    return [Req("POST", url, json={"password": NEW_PASSWORD}, effect=effect)]


@recipe("POST", f"{API}/workers/{{employee_id}}/block")
def _api_block_worker(ctx: Ctx) -> list[Req]:
    url = f"{API}/workers/{ctx.org.worker}/block"
    effect = _worker_status(ctx, e.EmployeeStatus.BLOCKED)
    return [Req("POST", url, json={"reason": REASON}, effect=effect)]


@recipe("POST", f"{API}/workers/{{employee_id}}/unblock")
def _api_unblock_worker(ctx: Ctx) -> list[Req]:
    _worker_blocked(ctx)
    url = f"{API}/workers/{ctx.org.worker}/unblock"
    effect = _worker_status(ctx, e.EmployeeStatus.ACTIVE)
    return [Req("POST", url, json={"reason": REASON}, effect=effect, what="a blocked worker")]


@recipe("GET", f"{API}/phones")
def _api_phones(ctx: Ctx) -> list[Req]:
    return [Req("GET", f"{API}/phones", marker=ctx.org.phone_label)]


@recipe("POST", f"{API}/phones")
def _api_create_phone(ctx: Ctx) -> list[Req]:
    # Registered to the side's worker: Q's worker is 404 to P's administrator.
    body = {"label": _label(ctx), "employee_id": ctx.org.worker}
    return [Req("POST", f"{API}/phones", json=body, effect=_new_phone(ctx))]


@recipe("POST", f"{API}/phones/{{phone_id}}/holder")
def _api_holder(ctx: Ctx) -> list[Req]:
    url = f"{API}/phones/{ctx.org.phone}/holder"
    return [Req("POST", url, json={"employee_id": None}, effect=_no_holder(ctx))]


@recipe("POST", f"{API}/phones/{{phone_id}}/enrolment-code")
def _api_code(ctx: Ctx) -> list[Req]:
    return [Req("POST", f"{API}/phones/{ctx.org.phone}/enrolment-code", effect=_code(ctx))]


@recipe("POST", f"{API}/phones/{{phone_id}}/block")
def _api_block_phone(ctx: Ctx) -> list[Req]:
    url = f"{API}/phones/{ctx.org.phone}/block"
    effect = _phone_status(ctx, e.PhoneStatus.LOST)
    return [Req("POST", url, json={"reason": REASON, "lost": True}, effect=effect)]


@recipe("POST", f"{API}/phones/{{phone_id}}/unblock")
def _api_unblock_phone(ctx: Ctx) -> list[Req]:
    _phone_blocked(ctx)
    url = f"{API}/phones/{ctx.org.phone}/unblock"
    effect = _phone_status(ctx, e.PhoneStatus.ACTIVE)
    return [Req("POST", url, json={"reason": REASON}, effect=effect, what="a blocked phone")]


# --- the pages ---------------------------------------------------------------------------------


@recipe("GET", "/partner")
def _web_overview(ctx: Ctx) -> list[Req]:
    return [Req("GET", "/partner", marker=ctx.org.company_name)]


@recipe("GET", "/partner/staff")
def _web_staff(ctx: Ctx) -> list[Req]:
    return [Req("GET", "/partner/staff", marker=ctx.org.worker_number)]


@recipe("POST", "/partner/workers")
def _web_create_worker(ctx: Ctx) -> list[Req]:
    form = {"employee_number": _number(ctx), "full_name": "Ny Partnermedarbejder"}
    return [Req("POST", "/partner/workers", data=form, effect=_new_worker(ctx))]


@recipe("POST", "/partner/workers/{employee_id}/password")
def _web_password(ctx: Ctx) -> list[Req]:
    url = f"/partner/workers/{ctx.org.worker}/password"
    effect = _password_is_new(ctx.org.worker)
    return [Req("POST", url, data={"password": NEW_PASSWORD}, effect=effect)]


@recipe("POST", "/partner/workers/{employee_id}/block")
def _web_block_worker(ctx: Ctx) -> list[Req]:
    url = f"/partner/workers/{ctx.org.worker}/block"
    effect = _worker_status(ctx, e.EmployeeStatus.BLOCKED)
    return [Req("POST", url, data={"reason": REASON}, effect=effect)]


@recipe("POST", "/partner/workers/{employee_id}/unblock")
def _web_unblock_worker(ctx: Ctx) -> list[Req]:
    _worker_blocked(ctx)
    url = f"/partner/workers/{ctx.org.worker}/unblock"
    effect = _worker_status(ctx, e.EmployeeStatus.ACTIVE)
    return [Req("POST", url, data={"reason": REASON}, effect=effect, what="a blocked worker")]


@recipe("POST", "/partner/phones")
def _web_create_phone(ctx: Ctx) -> list[Req]:
    form = {"label": _label(ctx), "employee": str(ctx.org.worker)}
    return [Req("POST", "/partner/phones", data=form, effect=_new_phone(ctx))]


@recipe("POST", "/partner/phones/{phone_id}/holder")
def _web_holder(ctx: Ctx) -> list[Req]:
    url = f"/partner/phones/{ctx.org.phone}/holder"
    return [Req("POST", url, data={"employee": ""}, effect=_no_holder(ctx))]


@recipe("POST", "/partner/phones/{phone_id}/enrolment-code")
def _web_code(ctx: Ctx) -> list[Req]:
    return [Req("POST", f"/partner/phones/{ctx.org.phone}/enrolment-code", effect=_code(ctx))]


@recipe("POST", "/partner/phones/{phone_id}/block")
def _web_block_phone(ctx: Ctx) -> list[Req]:
    url = f"/partner/phones/{ctx.org.phone}/block"
    effect = _phone_status(ctx, e.PhoneStatus.LOST)
    return [Req("POST", url, data={"reason": REASON, "lost": "1"}, effect=effect)]


@recipe("POST", "/partner/phones/{phone_id}/unblock")
def _web_unblock_phone(ctx: Ctx) -> list[Req]:
    _phone_blocked(ctx)
    url = f"/partner/phones/{ctx.org.phone}/unblock"
    effect = _phone_status(ctx, e.PhoneStatus.ACTIVE)
    return [Req("POST", url, data={"reason": REASON}, effect=effect, what="a blocked phone")]
