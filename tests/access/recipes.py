"""How each route of the matrix is called: realistic path ids and a valid body, per actor.

A recipe gets the actor's context and returns the request(s) to make: the probe object of the
actor's side (D01 for everyone, D02 for ``lead_out``; see ``World.side``), a body that succeeds
for someone allowed (so a refusal cannot come from a malformed request), and what to look for:

- ``marker``: text the answer shows when the probe object is in it (a list row, a detail page);
  an allowed answer must show it, a hidden or refused one must not;
- ``effect``: the change a successful request makes, read back from the database; an allowed
  request must have made it. A refused one is checked more strictly (nothing at all changed).

Where ``lead_out`` has more than one way to be outside (an emergency key whose citizen, or whose
employee, is in another district), the recipe returns one request per way.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from carekey.clock import FrozenClock
from carekey.domain import enums as e
from carekey.store import models as m
from tests.access.world import (
    PASSWORD,
    PERSON_OF,
    ActorName,
    Credentials,
    Person,
    Side,
    Template,
    World,
    api_sign_in,
    b64,
    csrf_of,
    web_client,
    web_password_step,
    web_totp_step,
)
from tests.access.world_orgs import OrgSide

A = "/api/v1/admin"
REASON = "matrix"
Effect = Callable[[Session], bool]


@dataclass
class Ctx:
    """Everything a recipe may use."""

    template: Template
    actor: ActorName
    client: TestClient
    clock: FrozenClock
    engine: Engine

    @property
    def world(self) -> World:
        return self.template.world

    @property
    def side(self) -> Side:
        return self.world.side(self.actor)

    @property
    def org(self) -> OrgSide:
        """The organisations' probes the actor aims at (``World.org_side``)."""
        return self.world.org_side(self.actor)

    @property
    def creds(self) -> Credentials:
        return self.template.credentials_of(self.actor)

    @property
    def person(self) -> Person | None:
        key = PERSON_OF[self.actor]
        return self.world.people[key] if key else None

    @property
    def municipality_id(self) -> int:
        return self.person.municipality_id if self.person else 1

    @property
    def tag(self) -> str:
        return "D2" if self.actor == "lead_out" else "D1"

    def use_web(self, creds: Credentials | None) -> None:
        """Put ``creds``' session cookie (or none) into the client's cookie jar."""
        web_client(self.client, creds.web if creds is not None else None)


@dataclass
class Req:
    """One request of a recipe."""

    method: str
    url: str
    json: Any = None
    data: dict[str, Any] | None = None
    files: dict[str, Any] | None = None
    params: dict[str, Any] | None = None
    marker: str | None = None
    effect: Effect | None = None
    what: str = ""
    # False: the recipe set up cookies and tokens itself (sign-in pages); don't add the actor's.
    credentials: bool = True
    # The response, when the recipe made the request itself (through the sign-in helpers).
    done: Any = None


Recipe = Callable[[Ctx], list[Req]]
RECIPES: dict[tuple[str, str], Recipe] = {}


def recipe(method: str, path: str) -> Callable[[Recipe], Recipe]:
    """Register the recipe of one route."""

    def register(make: Recipe) -> Recipe:
        assert (method, path) not in RECIPES, f"two recipes for {method} {path}"
        RECIPES[(method, path)] = make
        return make

    return register


def simple(method: str, path: str, url: str | None = None, **options: Any) -> None:
    """A route called the same way by everyone, without an object."""
    recipe(method, path)(lambda _ctx: [Req(method, url or path, **options)])


# --- effects: what a change did, read back from the database -----------------------------------


def _row(db: Session, model: type[m.Base], object_id: int) -> Any:
    found = db.get(model, object_id)
    assert found is not None, f"{model.__name__} {object_id} is gone"
    return found


def employee_status(employee_id: int, status: e.EmployeeStatus) -> Effect:
    return lambda db: _row(db, m.Employee, employee_id).status is status


def phone_status(phone_id: int, status: e.PhoneStatus) -> Effect:
    return lambda db: _row(db, m.Phone, phone_id).status is status


def citizen_removed(citizen_id: int, removed: bool) -> Effect:
    return lambda db: (_row(db, m.Citizen, citizen_id).status is e.CitizenStatus.REMOVED) == removed


def exists(model: type[m.Base], **where: Any) -> Effect:
    def check(db: Session) -> bool:
        stmt = select(func.count()).select_from(model)
        for name, value in where.items():
            stmt = stmt.where(getattr(model, name) == value)
        return bool(db.execute(stmt).scalar_one())

    return check


def field_is(model: type[m.Base], object_id: int, name: str, value: Any) -> Effect:
    return lambda db: getattr(_row(db, model, object_id), name) == value


def grant_revoked(grant_id: int) -> Effect:
    return lambda db: _row(db, m.EmergencyKeyGrant, grant_id).revoked_at is not None


# --- public routes -----------------------------------------------------------------------------

for _path in (
    "/openapi.json",
    "/docs",
    "/redoc",
    "/favicon.ico",
    "/healthz",
    "/readyz",
    "/login",
):
    simple("GET", _path)
simple("GET", "/lang/{language}", "/lang/en", params={"next": "/"})
simple("GET", "/login/totp")


@recipe("POST", "/logout")
def _logout(ctx: Ctx) -> list[Req]:
    # With a session: its CSRF token; without: the sign-in page's (bound to a pre-session).
    if ctx.creds.web is not None:
        ctx.use_web(ctx.creds)
        token = ctx.creds.web.csrf
    else:
        ctx.use_web(None)
        token = csrf_of(ctx.client.get("/login").text)
    return [Req("POST", "/logout", data={"csrf_token": token}, credentials=False)]


simple("POST", "/api/v1/auth/logout")


def _wrong_person() -> Person:
    return Person("nobody", 0, 1, "0101", "E00001", "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")


@recipe("POST", "/api/v1/auth/token")
def _token(ctx: Ctx) -> list[Req]:
    # Through the one sign-in helper (a fresh TOTP code); anonymous: a wrong password.
    person = ctx.person or _wrong_person()
    if ctx.person is None:
        ctx.clock.advance(dt.timedelta(seconds=30))
        body = {
            "municipality": person.municipality_code,
            "employee_number": person.employee_number,
            "password": "forkert-adgangskode",
            "totp_code": person.totp(ctx.clock.now()),
        }
        return [Req("POST", "/api/v1/auth/token", json=body, credentials=False)]
    response = api_sign_in(ctx.client, ctx.clock, person)
    return [Req("POST", "/api/v1/auth/token", credentials=False, done=response)]


@recipe("POST", "/login")
def _login(ctx: Ctx) -> list[Req]:
    ctx.use_web(None)
    if ctx.person is None:
        page = ctx.client.get("/login")
        body = {
            "municipality": "0101",
            "employee_number": "E00001",
            "password": "forkert-adgangskode",
            "csrf_token": csrf_of(page.text),
            "next": "/",
        }
        return [Req("POST", "/login", data=body, credentials=False)]
    response = web_password_step(ctx.client, ctx.person)
    return [Req("POST", "/login", credentials=False, done=response)]


@recipe("POST", "/login/totp")
def _login_totp(ctx: Ctx) -> list[Req]:
    ctx.use_web(None)
    if ctx.person is None:  # no password step: a right code alone must not sign anyone in
        response = web_totp_step(ctx.client, ctx.clock, _wrong_person())
        return [Req("POST", "/login/totp", credentials=False, done=response)]
    web_password_step(ctx.client, ctx.person)
    response = web_totp_step(ctx.client, ctx.clock, ctx.person)
    return [Req("POST", "/login/totp", credentials=False, done=response)]


# --- the key app -------------------------------------------------------------------------------


def _challenge(ctx: Ctx, phone_id: int) -> str:
    response = ctx.client.post("/api/v1/app/challenge", json={"phone_id": phone_id})
    assert response.status_code == 200, response.text
    return str(response.json()["challenge"])


def _device_phone(ctx: Ctx) -> int:
    person = ctx.person
    return person.phone_id if person and person.phone_id else ctx.side.phone


@recipe("POST", "/api/v1/app/enrol")
def _enrol(ctx: Ctx) -> list[Req]:
    body = {"code": "ABCD-EFGH-JKLM", "public_key": b64(b"\x02" + secrets.token_bytes(32))}
    return [Req("POST", "/api/v1/app/enrol", json=body, what="a made-up enrolment code")]


@recipe("POST", "/api/v1/app/challenge")
def _app_challenge(ctx: Ctx) -> list[Req]:
    return [Req("POST", "/api/v1/app/challenge", json={"phone_id": ctx.side.phone})]


@recipe("POST", "/api/v1/app/login")
def _app_login(ctx: Ctx) -> list[Req]:
    # The right password (anonymous: a care worker's, as if overheard), no device signature.
    person = ctx.person
    number = person.employee_number if person else ctx.side.employee_number
    body = {
        "municipality": person.municipality_code if person else "0101",
        "employee_number": number,
        "password": PASSWORD,
        "phone_id": _device_phone(ctx),
        "challenge": _challenge(ctx, _device_phone(ctx)),
        "signature": b64(secrets.token_bytes(64)),
    }
    return [Req("POST", "/api/v1/app/login", json=body, what="password without device proof")]


@recipe("POST", "/api/v1/app/bundle")
def _bundle(ctx: Ctx) -> list[Req]:
    body = {"challenge": _challenge(ctx, _device_phone(ctx)), "signature": b64(bytes(64))}
    return [Req("POST", "/api/v1/app/bundle", json=body)]


simple("POST", "/api/v1/app/heartbeat")


@recipe("POST", "/api/v1/app/time-token")
def _time_token(ctx: Ctx) -> list[Req]:
    body = {"door_id": ctx.side.door_serial, "nonce": b64(secrets.token_bytes(16))}
    return [Req("POST", "/api/v1/app/time-token", json=body)]


simple("POST", "/api/v1/app/events", json={"doors": [], "receipts": [], "app_events": []})


# --- administration API ------------------------------------------------------------------------


@recipe("GET", f"{A}/employees")
def _api_employees(ctx: Ctx) -> list[Req]:
    marker = ctx.side.employee_number
    return [Req("GET", f"{A}/employees", params={"limit": 200}, marker=marker)]


@recipe("POST", f"{A}/employees")
def _api_create_employee(ctx: Ctx) -> list[Req]:
    number = f"NEW-{ctx.tag}-EMP"
    body = {
        "employee_number": number,
        "full_name": "Ny Medarbejder",
        "roles": ["care_worker"],
        "district_ids": [ctx.side.district],
        "reason": REASON,
    }
    effect = exists(m.Employee, employee_number=number, municipality_id=1)
    return [Req("POST", f"{A}/employees", json=body, effect=effect, what=f"in {ctx.tag}")]


@recipe("GET", f"{A}/employees/{{employee_id}}")
def _api_employee(ctx: Ctx) -> list[Req]:
    s = ctx.side
    return [Req("GET", f"{A}/employees/{s.employee}", marker=s.employee_number)]


@recipe("PATCH", f"{A}/employees/{{employee_id}}")
def _api_update_employee(ctx: Ctx) -> list[Req]:
    s = ctx.side
    effect = field_is(m.Employee, s.employee, "full_name", "Omdøbt Probe")
    body = {"full_name": "Omdøbt Probe", "reason": REASON}
    return [Req("PATCH", f"{A}/employees/{s.employee}", json=body, effect=effect)]


@recipe("POST", f"{A}/employees/{{employee_id}}/block")
def _api_block_employee(ctx: Ctx) -> list[Req]:
    s = ctx.side
    effect = employee_status(s.employee, e.EmployeeStatus.BLOCKED)
    return [
        Req("POST", f"{A}/employees/{s.employee}/block", json={"reason": REASON}, effect=effect)
    ]


@recipe("POST", f"{A}/employees/{{employee_id}}/unblock")
def _api_unblock_employee(ctx: Ctx) -> list[Req]:
    s = ctx.side
    effect = employee_status(s.blocked_employee, e.EmployeeStatus.ACTIVE)
    url = f"{A}/employees/{s.blocked_employee}/unblock"
    return [Req("POST", url, json={"reason": REASON}, effect=effect)]


@recipe("GET", f"{A}/phones")
def _api_phones(ctx: Ctx) -> list[Req]:
    return [Req("GET", f"{A}/phones", params={"limit": 200}, marker=ctx.side.phone_label)]


@recipe("POST", f"{A}/phones")
def _api_create_phone(ctx: Ctx) -> list[Req]:
    label = f"NEW-{ctx.tag}-PHONE"
    body = {"label": label, "employee_id": ctx.side.employee, "reason": REASON}
    effect = exists(m.Phone, label=label, municipality_id=1)
    return [Req("POST", f"{A}/phones", json=body, effect=effect, what=f"for {ctx.tag}'s worker")]


@recipe("GET", f"{A}/phones/{{phone_id}}")
def _api_phone(ctx: Ctx) -> list[Req]:
    s = ctx.side
    return [Req("GET", f"{A}/phones/{s.phone}", marker=s.phone_label)]


@recipe("PATCH", f"{A}/phones/{{phone_id}}")
def _api_update_phone(ctx: Ctx) -> list[Req]:
    s = ctx.side
    effect = field_is(m.Phone, s.phone, "model", "Nokia 3310")
    body = {"model": "Nokia 3310", "reason": REASON}
    return [Req("PATCH", f"{A}/phones/{s.phone}", json=body, effect=effect)]


@recipe("POST", f"{A}/phones/{{phone_id}}/block")
def _api_block_phone(ctx: Ctx) -> list[Req]:
    s = ctx.side
    effect = phone_status(s.phone, e.PhoneStatus.BLOCKED)
    body = {"reason": REASON, "lost": False}
    return [Req("POST", f"{A}/phones/{s.phone}/block", json=body, effect=effect)]


@recipe("POST", f"{A}/phones/{{phone_id}}/unblock")
def _api_unblock_phone(ctx: Ctx) -> list[Req]:
    s = ctx.side
    effect = phone_status(s.blocked_phone, e.PhoneStatus.ACTIVE)
    url = f"{A}/phones/{s.blocked_phone}/unblock"
    return [Req("POST", url, json={"reason": REASON}, effect=effect)]


@recipe("POST", f"{A}/phones/{{phone_id}}/enrolment-code")
def _api_enrolment_code(ctx: Ctx) -> list[Req]:
    s = ctx.side
    effect = exists(m.EnrolmentCode, phone_id=s.phone)
    return [Req("POST", f"{A}/phones/{s.phone}/enrolment-code", effect=effect)]


@recipe("GET", f"{A}/districts")
def _api_districts(ctx: Ctx) -> list[Req]:
    return [Req("GET", f"{A}/districts", marker=ctx.side.district_name)]


@recipe("POST", f"{A}/districts")
def _api_create_district(ctx: Ctx) -> list[Req]:
    body = {"code": "D09", "name": "Nyt Distrikt", "reason": REASON}
    effect = exists(m.District, code="D09", municipality_id=ctx.municipality_id)
    return [Req("POST", f"{A}/districts", json=body, effect=effect)]


@recipe("GET", f"{A}/districts/{{district_id}}")
def _api_district(ctx: Ctx) -> list[Req]:
    s = ctx.side
    return [Req("GET", f"{A}/districts/{s.district}", marker=s.district_name)]


@recipe("PATCH", f"{A}/districts/{{district_id}}")
def _api_update_district(ctx: Ctx) -> list[Req]:
    s = ctx.side
    effect = field_is(m.District, s.district, "name", "Omdøbt Distrikt")
    body = {"name": "Omdøbt Distrikt", "reason": REASON}
    return [Req("PATCH", f"{A}/districts/{s.district}", json=body, effect=effect)]


@recipe("GET", f"{A}/citizens")
def _api_citizens(ctx: Ctx) -> list[Req]:
    return [Req("GET", f"{A}/citizens", params={"limit": 200}, marker=ctx.side.citizen_name)]


@recipe("POST", f"{A}/citizens")
def _api_create_citizen(ctx: Ctx) -> list[Req]:
    name = f"Borger-NEW-{ctx.tag}"
    body = {
        "given_name": "Ny",
        "family_name": name,
        "district_id": ctx.side.district,
        "status": "pending",
        "reason": REASON,
    }
    effect = exists(m.Citizen, family_name=name)
    return [Req("POST", f"{A}/citizens", json=body, effect=effect, what=f"in {ctx.tag}")]


@recipe("GET", f"{A}/citizens/{{citizen_id}}")
def _api_citizen(ctx: Ctx) -> list[Req]:
    s = ctx.side
    return [Req("GET", f"{A}/citizens/{s.citizen}", marker=s.citizen_name)]


@recipe("PATCH", f"{A}/citizens/{{citizen_id}}")
def _api_update_citizen(ctx: Ctx) -> list[Req]:
    s = ctx.side
    name = f"{s.citizen_name}-Omdøbt"
    effect = field_is(m.Citizen, s.citizen, "family_name", name)
    body = {"family_name": name, "reason": REASON}
    return [Req("PATCH", f"{A}/citizens/{s.citizen}", json=body, effect=effect)]


@recipe("POST", f"{A}/citizens/{{citizen_id}}/remove")
def _api_remove_citizen(ctx: Ctx) -> list[Req]:
    s = ctx.side
    effect = citizen_removed(s.citizen, removed=True)
    return [Req("POST", f"{A}/citizens/{s.citizen}/remove", json={"reason": REASON}, effect=effect)]


@recipe("POST", f"{A}/citizens/{{citizen_id}}/restore")
def _api_restore_citizen(ctx: Ctx) -> list[Req]:
    s = ctx.side
    effect = citizen_removed(s.removed_citizen, removed=False)
    url = f"{A}/citizens/{s.removed_citizen}/restore"
    return [Req("POST", url, json={"reason": REASON}, effect=effect)]


@recipe("GET", f"{A}/doors")
def _api_doors(ctx: Ctx) -> list[Req]:
    return [Req("GET", f"{A}/doors", params={"limit": 200}, marker=ctx.side.door_serial)]


@recipe("GET", f"{A}/doors/{{door_id}}")
def _api_door(ctx: Ctx) -> list[Req]:
    s = ctx.side
    return [Req("GET", f"{A}/doors/{s.door}", marker=s.door_serial)]


# Emergency keys: which grant (or which employee and citizen for a new one) each actor aims at.


def grants_of(ctx: Ctx) -> list[tuple[int, str, str]]:
    """(grant id, its reason, what it is) the actor aims at."""
    g = ctx.world.grants
    if ctx.actor == "lead_out":
        return [
            (g.citizen_out, g.reasons["citizen_out"], "citizen in D02"),
            (g.employee_out, g.reasons["employee_out"], "employee in D02"),
        ]
    return [(g.inside, g.reasons["inside"], "employee and citizen in the lead's districts")]


def grant_targets(ctx: Ctx) -> list[tuple[int, int, str]]:
    """(employee, citizen, what) of a new emergency key the actor tries to grant."""
    w = ctx.world
    inside, outside = w.sides["in"], w.sides["out"]
    if ctx.actor == "lead_out":
        return [
            (inside.employee, outside.citizen, "citizen in D02"),
            (outside.employee, w.d3_citizen, "employee in D02"),
        ]
    return [(inside.employee, w.d3_citizen, "D01 employee to a D03 citizen")]


def _grant_made(employee: int, citizen: int) -> Effect:
    return exists(m.EmergencyKeyGrant, employee_id=employee, citizen_id=citizen, reason=REASON)


@recipe("GET", f"{A}/emergency-keys")
def _api_grants(ctx: Ctx) -> list[Req]:
    return [
        Req("GET", f"{A}/emergency-keys", params={"state": "all"}, marker=reason, what=what)
        for _id, reason, what in grants_of(ctx)
    ]


@recipe("POST", f"{A}/emergency-keys")
def _api_grant(ctx: Ctx) -> list[Req]:
    return [
        Req(
            "POST",
            f"{A}/emergency-keys",
            json={"employee_id": emp, "citizen_id": cit, "minutes": 60, "reason": REASON},
            effect=_grant_made(emp, cit),
            what=what,
        )
        for emp, cit, what in grant_targets(ctx)
    ]


@recipe("GET", f"{A}/emergency-keys/{{grant_id}}")
def _api_grant_one(ctx: Ctx) -> list[Req]:
    return [
        Req("GET", f"{A}/emergency-keys/{gid}", marker=reason, what=what)
        for gid, reason, what in grants_of(ctx)
    ]


@recipe("POST", f"{A}/emergency-keys/{{grant_id}}/revoke")
def _api_revoke(ctx: Ctx) -> list[Req]:
    return [
        Req(
            "POST",
            f"{A}/emergency-keys/{gid}/revoke",
            json={"reason": REASON},
            effect=grant_revoked(gid),
            what=what,
        )
        for gid, _reason, what in grants_of(ctx)
    ]


@recipe("GET", f"{A}/actions")
def _api_actions(ctx: Ctx) -> list[Req]:
    # The probe: the administrative action that blocked the side's blocked employee.
    return [Req("GET", f"{A}/actions", params={"limit": 200}, marker=ctx.side.block_reason)]


@recipe("GET", f"{A}/audit")
def _api_audit(ctx: Ctx) -> list[Req]:
    return [Req("GET", f"{A}/audit", params={"limit": 1000}, marker=ctx.side.door_serial)]


@recipe("GET", f"{A}/audit.csv")
def _api_audit_csv(ctx: Ctx) -> list[Req]:
    return [Req("GET", f"{A}/audit.csv", marker=ctx.side.door_serial)]


# --- web UI: overview --------------------------------------------------------------------------

simple("GET", "/")
simple("GET", "/dashboard")


@recipe("GET", "/doors")
def _web_doors(ctx: Ctx) -> list[Req]:
    s = ctx.side
    return [
        Req("GET", "/doors", params={"serial": s.door_serial}, marker=f'href="/doors/{s.door}"')
    ]


@recipe("GET", "/doors/{door_id}")
def _web_door(ctx: Ctx) -> list[Req]:
    s = ctx.side
    return [Req("GET", f"/doors/{s.door}", marker=s.door_serial)]


for _path in ("/audit", "/audit.csv", "/audit.xlsx"):

    @recipe("GET", _path)
    def _web_audit(ctx: Ctx, path: str = _path) -> list[Req]:
        return [Req("GET", path, marker=ctx.side.door_serial)]


@recipe("GET", "/citizens/{citizen_id}/report")
def _web_report(ctx: Ctx) -> list[Req]:
    s = ctx.side
    return [Req("GET", f"/citizens/{s.citizen}/report", marker=s.citizen_name)]


@recipe("GET", "/pickers/employees")
def _web_pick_employee(ctx: Ctx) -> list[Req]:
    s = ctx.side
    params = {"employee": s.employee_name}
    return [Req("GET", "/pickers/employees", params=params, marker=f'"{s.employee_number}"')]


@recipe("GET", "/pickers/citizens")
def _web_pick_citizen(ctx: Ctx) -> list[Req]:
    s = ctx.side
    params = {"citizen": s.citizen_name}
    return [Req("GET", "/pickers/citizens", params=params, marker=f'"Probe {s.citizen_name}"')]


# --- web UI: employees -------------------------------------------------------------------------


@recipe("GET", "/employees")
def _web_employees(ctx: Ctx) -> list[Req]:
    return [Req("GET", "/employees", marker=f'href="/employees/{ctx.side.employee}"')]


simple("GET", "/employees/new")


@recipe("POST", "/employees/new")
def _web_create_employee(ctx: Ctx) -> list[Req]:
    number = f"NEW-{ctx.tag}-EMP"
    form = {
        "employee_number": number,
        "full_name": "Ny Medarbejder",
        "email": "",
        "password": "",
        "roles": ["care_worker"],
        "district_ids": [str(ctx.side.district)],
    }
    effect = exists(m.Employee, employee_number=number, municipality_id=1)
    return [Req("POST", "/employees/new", data=form, effect=effect, what=f"in {ctx.tag}")]


simple("GET", "/employees/import")


def _import_file(ctx: Ctx) -> tuple[bytes, str]:
    number = f"IMP-{ctx.tag}-EMP"
    text = f"medarbejdernummer;navn;roller;distrikter\n{number};Importeret;plejemedarbejder;"
    return (text + f"{ctx.side.district_code}\n").encode(), number


@recipe("POST", "/employees/import")
def _web_import_preview(ctx: Ctx) -> list[Req]:
    content, _number = _import_file(ctx)
    files = {"file": ("medarbejdere.csv", content, "text/csv")}
    return [Req("POST", "/employees/import", files=files, data={}, what=f"a row in {ctx.tag}")]


def _preview(ctx: Ctx, creds: Credentials, content: bytes) -> dict[str, str] | None:
    """The confirm form's hidden fields from a preview made with ``creds``, if it offers one."""
    if creds.web is None:
        return None
    ctx.use_web(creds)
    page = ctx.client.post(
        "/employees/import",
        files={"file": ("medarbejdere.csv", content, "text/csv")},
        data={"csrf_token": creds.web.csrf},
    )
    fields = dict(re.findall(r'name="(content|digest)" value="([^"]*)"', page.text))
    return fields if page.status_code == 200 and fields.get("content") else None


@recipe("POST", "/employees/import/confirm")
def _web_import_confirm(ctx: Ctx) -> list[Req]:
    content, number = _import_file(ctx)
    # The actor's own preview; if they get none, the administrator's preview of the same file
    # (the plan is the same for anyone allowed to make it).
    fields = _preview(ctx, ctx.creds, content) or _preview(
        ctx, ctx.template.credentials["admin"], content
    )
    assert fields, "the administrator's preview of the import offers no confirmation"
    ctx.use_web(ctx.creds)
    effect = exists(m.Employee, employee_number=number, municipality_id=1)
    return [
        Req("POST", "/employees/import/confirm", data=fields, effect=effect, what=f"in {ctx.tag}")
    ]


@recipe("GET", "/employees/{employee_id}")
def _web_employee(ctx: Ctx) -> list[Req]:
    s = ctx.side
    return [Req("GET", f"/employees/{s.employee}", marker=s.employee_number)]


@recipe("GET", "/employees/{employee_id}/edit")
def _web_edit_employee(ctx: Ctx) -> list[Req]:
    s = ctx.side
    return [Req("GET", f"/employees/{s.employee}/edit", marker=s.employee_number)]


@recipe("POST", "/employees/{employee_id}/edit")
def _web_save_employee(ctx: Ctx) -> list[Req]:
    s = ctx.side
    form = {
        "full_name": "Omdøbt Probe",
        "email": "",
        "roles": ["care_worker"],
        "district_ids": [str(s.district)],
        "reason": REASON,
    }
    effect = field_is(m.Employee, s.employee, "full_name", "Omdøbt Probe")
    return [Req("POST", f"/employees/{s.employee}/edit", data=form, effect=effect)]


@recipe("GET", "/employees/{employee_id}/block")
def _web_confirm_block_employee(ctx: Ctx) -> list[Req]:
    s = ctx.side
    return [Req("GET", f"/employees/{s.employee}/block", marker=s.employee_number)]


@recipe("POST", "/employees/{employee_id}/block")
def _web_block_employee(ctx: Ctx) -> list[Req]:
    s = ctx.side
    effect = employee_status(s.employee, e.EmployeeStatus.BLOCKED)
    return [Req("POST", f"/employees/{s.employee}/block", data={"reason": REASON}, effect=effect)]


@recipe("POST", "/employees/{employee_id}/unblock")
def _web_unblock_employee(ctx: Ctx) -> list[Req]:
    s = ctx.side
    effect = employee_status(s.blocked_employee, e.EmployeeStatus.ACTIVE)
    url = f"/employees/{s.blocked_employee}/unblock"
    return [Req("POST", url, data={"reason": REASON}, effect=effect)]


# --- web UI: phones ----------------------------------------------------------------------------


@recipe("GET", "/phones")
def _web_phones(ctx: Ctx) -> list[Req]:
    return [Req("GET", "/phones", marker=f'href="/phones/{ctx.side.phone}"')]


simple("GET", "/phones/new")


@recipe("POST", "/phones/new")
def _web_create_phone(ctx: Ctx) -> list[Req]:
    label = f"NEW-{ctx.tag}-PHONE"
    form = {"label": label, "model": "", "employee": "", "employee_id": str(ctx.side.employee)}
    effect = exists(m.Phone, label=label, municipality_id=1)
    return [Req("POST", "/phones/new", data=form, effect=effect, what=f"for {ctx.tag}'s worker")]


@recipe("GET", "/phones/{phone_id}")
def _web_phone(ctx: Ctx) -> list[Req]:
    s = ctx.side
    return [Req("GET", f"/phones/{s.phone}", marker=s.phone_label)]


@recipe("GET", "/phones/{phone_id}/edit")
def _web_edit_phone(ctx: Ctx) -> list[Req]:
    s = ctx.side
    return [Req("GET", f"/phones/{s.phone}/edit", marker=s.phone_label)]


@recipe("POST", "/phones/{phone_id}/edit")
def _web_save_phone(ctx: Ctx) -> list[Req]:
    s = ctx.side
    form = {
        "label": s.phone_label,
        "model": "Nokia 3310",
        "employee": "",
        "employee_id": str(s.employee),
        "reason": REASON,
    }
    effect = field_is(m.Phone, s.phone, "model", "Nokia 3310")
    return [Req("POST", f"/phones/{s.phone}/edit", data=form, effect=effect)]


@recipe("POST", "/phones/{phone_id}/lost")
def _web_lost_phone(ctx: Ctx) -> list[Req]:
    s = ctx.side
    effect = phone_status(s.phone, e.PhoneStatus.LOST)
    return [Req("POST", f"/phones/{s.phone}/lost", data={"reason": "Mistet"}, effect=effect)]


@recipe("GET", "/phones/{phone_id}/block")
def _web_confirm_block_phone(ctx: Ctx) -> list[Req]:
    s = ctx.side
    return [Req("GET", f"/phones/{s.phone}/block", marker=s.phone_label)]


@recipe("POST", "/phones/{phone_id}/block")
def _web_block_phone(ctx: Ctx) -> list[Req]:
    s = ctx.side
    effect = phone_status(s.phone, e.PhoneStatus.BLOCKED)
    return [Req("POST", f"/phones/{s.phone}/block", data={"reason": REASON}, effect=effect)]


@recipe("POST", "/phones/{phone_id}/unblock")
def _web_unblock_phone(ctx: Ctx) -> list[Req]:
    s = ctx.side
    effect = phone_status(s.blocked_phone, e.PhoneStatus.ACTIVE)
    url = f"/phones/{s.blocked_phone}/unblock"
    return [Req("POST", url, data={"reason": REASON}, effect=effect)]


@recipe("POST", "/phones/{phone_id}/enrol")
def _web_enrol_phone(ctx: Ctx) -> list[Req]:
    s = ctx.side
    effect = exists(m.EnrolmentCode, phone_id=s.phone)
    return [Req("POST", f"/phones/{s.phone}/enrol", data={}, effect=effect)]


# --- web UI: districts -------------------------------------------------------------------------


@recipe("GET", "/districts")
def _web_districts(ctx: Ctx) -> list[Req]:
    return [Req("GET", "/districts", marker=f'href="/districts/{ctx.side.district}"')]


@recipe("POST", "/districts")
def _web_create_district(ctx: Ctx) -> list[Req]:
    effect = exists(m.District, code="D09", municipality_id=ctx.municipality_id)
    return [Req("POST", "/districts", data={"code": "D09", "name": "Nyt Distrikt"}, effect=effect)]


@recipe("GET", "/districts/{district_id}")
def _web_district(ctx: Ctx) -> list[Req]:
    s = ctx.side
    return [Req("GET", f"/districts/{s.district}", marker=s.district_name)]


@recipe("POST", "/districts/{district_id}")
def _web_save_district(ctx: Ctx) -> list[Req]:
    s = ctx.side
    form = {"code": s.district_code, "name": "Omdøbt Distrikt", "reason": REASON}
    effect = field_is(m.District, s.district, "name", "Omdøbt Distrikt")
    return [Req("POST", f"/districts/{s.district}", data=form, effect=effect)]


# --- web UI: citizens --------------------------------------------------------------------------


@recipe("GET", "/citizens")
def _web_citizens(ctx: Ctx) -> list[Req]:
    return [Req("GET", "/citizens", marker=f'href="/citizens/{ctx.side.citizen}"')]


simple("GET", "/citizens/new")


@recipe("POST", "/citizens/new")
def _web_create_citizen(ctx: Ctx) -> list[Req]:
    name = f"Borger-NEW-{ctx.tag}"
    form = {
        "given_name": "Ny",
        "family_name": name,
        "district_id": str(ctx.side.district),
        "status": "pending",
        "dwelling": "",
    }
    effect = exists(m.Citizen, family_name=name)
    return [Req("POST", "/citizens/new", data=form, effect=effect, what=f"in {ctx.tag}")]


@recipe("GET", "/citizens/{citizen_id}")
def _web_citizen(ctx: Ctx) -> list[Req]:
    s = ctx.side
    return [Req("GET", f"/citizens/{s.citizen}", marker=s.citizen_name)]


@recipe("POST", "/citizens/{citizen_id}")
def _web_save_citizen(ctx: Ctx) -> list[Req]:
    s = ctx.side
    name = f"{s.citizen_name}-Omdøbt"
    form = {
        "given_name": "Probe",
        "family_name": name,
        "district_id": str(s.district),
        "status": "active",
        "reason": REASON,
    }
    effect = field_is(m.Citizen, s.citizen, "family_name", name)
    return [Req("POST", f"/citizens/{s.citizen}", data=form, effect=effect)]


@recipe("GET", "/citizens/{citizen_id}/remove")
def _web_confirm_remove(ctx: Ctx) -> list[Req]:
    s = ctx.side
    return [Req("GET", f"/citizens/{s.citizen}/remove", marker=s.citizen_name)]


@recipe("POST", "/citizens/{citizen_id}/remove")
def _web_remove_citizen(ctx: Ctx) -> list[Req]:
    s = ctx.side
    effect = citizen_removed(s.citizen, removed=True)
    return [Req("POST", f"/citizens/{s.citizen}/remove", data={"reason": REASON}, effect=effect)]


@recipe("POST", "/citizens/{citizen_id}/restore")
def _web_restore_citizen(ctx: Ctx) -> list[Req]:
    s = ctx.side
    effect = citizen_removed(s.removed_citizen, removed=False)
    url = f"/citizens/{s.removed_citizen}/restore"
    return [Req("POST", url, data={"reason": REASON}, effect=effect)]


# --- web UI: emergency keys --------------------------------------------------------------------


@recipe("GET", "/emergency-keys")
def _web_grants(ctx: Ctx) -> list[Req]:
    return [
        Req("GET", "/emergency-keys", params={"state": "all"}, marker=reason, what=what)
        for _id, reason, what in grants_of(ctx)
    ]


@recipe("POST", "/emergency-keys")
def _web_grant(ctx: Ctx) -> list[Req]:
    return [
        Req(
            "POST",
            "/emergency-keys",
            data={
                "employee": "",
                "employee_id": str(emp),
                "citizen": "",
                "citizen_id": str(cit),
                "minutes": "60",
                "reason": REASON,
            },
            effect=_grant_made(emp, cit),
            what=what,
        )
        for emp, cit, what in grant_targets(ctx)
    ]


@recipe("POST", "/emergency-keys/{grant_id}/revoke")
def _web_revoke(ctx: Ctx) -> list[Req]:
    return [
        Req(
            "POST",
            f"/emergency-keys/{gid}/revoke",
            data={"reason": REASON},
            effect=grant_revoked(gid),
            what=what,
        )
        for gid, _reason, what in grants_of(ctx)
    ]


# --- further parts: their recipes register themselves (one module per part) --------------------

from tests.access import (  # noqa: E402 - each registers its part's recipes
    recipes_accounts,  # noqa: F401 - passwords and authenticators (issue 18)
    recipes_assoc,  # noqa: F401 - the association's portal
    recipes_consents,  # noqa: F401 - consent and permission requests (issue 16)
    recipes_dataaccess,  # noqa: F401 - the right of access, GDPR art. 15 (issue 19)
    recipes_errands,  # noqa: F401 - the partner company's errands and log
    recipes_installer,  # noqa: F401 - the installer's orders and commissioning (issue 16)
    recipes_orgs,  # noqa: F401 - the register
    recipes_partners,  # noqa: F401 - the partner company's portal
    recipes_staff_import,  # noqa: F401 - the import's table of job titles (issue 18)
    recipes_webhooks,  # noqa: F401 - signed webhooks (issue 17)
    recipes_workorders,  # noqa: F401 - work orders, costs and timelines (issue 16)
)
