"""The seeded world the access tests act in, and the ONE place that obtains credentials.

The world: Copenhagen (municipality 1, the "small" seed, districts D01, D02, D03) with a district
lead of D01 and D03, an auditor, a care worker, an installer and, for every kind of object, one
probe in D01 (the lead's own district: ``side("in")``) and one in D02 (not the lead's:
``side("out")``); and Frederiksberg (municipality 2) with its administrator, who must never see
or touch Copenhagen's probes. Probe objects carry distinctive names and numbers so that a page or
a list can be searched for them. The other parties (issue 15) are built in ``world_orgs``:
housing associations A and B, partner companies P and Q, their agreements, people and phones;
A's user, P's administrator and P's worker sign in like everyone else (P's worker cannot: a
partner worker has the key app only, like a care worker).

Credentials: every office sign-in goes through ``api_headers`` (the API token endpoint) or
``web_sign_in`` (the /login and /login/totp pages). Both send a TOTP code and move the frozen clock
on by 30 s first, so that each code is used once: the token endpoint is about to require
``totp_code`` and to accept each code only once; the current server ignores the extra field.
Care workers, installers and partner workers cannot sign in at all; ``minted_api_headers`` and
``minted_web`` forge what they would hold if they had once been office users (a role changed
after sign-in), so the matrix also proves the routes themselves refuse them.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
import secrets
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pyotp
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from carekey.access import Actor
from carekey.adminui.security import SESSION_COOKIE, csrf_token
from carekey.auth.passwords import hash_password
from carekey.auth.tokens import sign_token
from carekey.clock import FrozenClock
from carekey.config import Settings
from carekey.domain import enums as e
from carekey.emergency_keys import service as emergency
from carekey.keyservice.issuer import create_issuer_key
from carekey.revocation import service as revocation
from carekey.seed.service import DEMO_PASSWORD, seed
from carekey.server.app import create_app
from carekey.store import models as m
from carekey.store.db import create_db_engine
from carekey.store.sealed import seal
from tests.access.world_orgs import OrgSide, build_orgs

SECRET = "test-secret-for-the-access-matrix-0123456789"
START = dt.datetime(2026, 11, 26, 6, 45, tzinfo=dt.UTC)
TOTP_STEP = dt.timedelta(seconds=30)
PASSWORD = DEMO_PASSWORD

ActorName = Literal[
    "admin",
    "lead_in",
    "lead_out",
    "auditor",
    "care_worker",
    "installer",
    "other_admin",
    "assoc",
    "assoc_out",
    "padmin",
    "padmin_out",
    "pworker",
    "anonymous",
]
ACTORS: tuple[ActorName, ...] = (
    "admin",
    "lead_in",
    "lead_out",
    "auditor",
    "care_worker",
    "installer",
    "other_admin",
    "assoc",
    "assoc_out",
    "padmin",
    "padmin_out",
    "pworker",
    "anonymous",
)
# Whose credentials an actor uses: lead_in and lead_out are the same district lead.
PERSON_OF: dict[ActorName, str | None] = {
    "admin": "admin",
    "lead_in": "lead",
    "lead_out": "lead",
    "auditor": "auditor",
    "care_worker": "care_worker",
    "installer": "installer",
    "other_admin": "other_admin",
    "assoc": "assoc",
    "assoc_out": "assoc",
    "padmin": "padmin",
    "padmin_out": "padmin",
    "pworker": "pworker",
    "anonymous": None,
}
OFFICE_PEOPLE = ("admin", "lead", "auditor", "installer", "other_admin", "assoc", "padmin")
# People who can never obtain office credentials (the key app only): their tokens are forged.
KEY_APP_PEOPLE = ("care_worker", "pworker")
# The actors aiming at the other side's organisations (association B, company Q).
OUT_OF_ORGANISATION: frozenset[ActorName] = frozenset({"assoc_out", "padmin_out"})


@dataclass(frozen=True)
class Person:
    """Someone who signs in."""

    key: str
    employee_id: int
    municipality_id: int
    municipality_code: str
    employee_number: str
    totp_secret: str
    phone_id: int | None = None

    def totp(self, at: dt.datetime) -> str:
        """The TOTP code of this person's authenticator at ``at``."""
        return pyotp.TOTP(self.totp_secret).at(at)


@dataclass(frozen=True)
class Side:
    """Copenhagen's probe objects in one district: D01 (``in``) or D02 (``out``)."""

    district: int
    district_code: str
    district_name: str
    employee: int  # active care worker of this district only, owner of ``phone``
    employee_number: str
    employee_name: str
    blocked_employee: int
    blocked_employee_number: str
    phone: int
    phone_label: str
    blocked_phone: int  # also ``employee``'s
    blocked_phone_label: str
    citizen: int  # active, with a home lock
    citizen_name: str  # family name, unique in the world
    removed_citizen: int
    removed_citizen_name: str
    door: int  # ``citizen``'s home lock
    door_serial: str
    block_reason: str  # the reason ``blocked_employee`` was blocked with (an admin action)


@dataclass(frozen=True)
class Grants:
    """Live emergency keys. ``inside``: employee and citizen both in the lead's districts;
    ``citizen_out``: the citizen is in D02; ``employee_out``: the employee is in D02."""

    inside: int
    citizen_out: int
    employee_out: int
    reasons: dict[str, str]


@dataclass(frozen=True)
class World:
    """Ids of everything the access tests aim at."""

    people: dict[str, Person]
    sides: dict[str, Side]
    d3_employee: int  # care worker of D03 only (the lead's second district)
    d3_employee_number: str
    d3_citizen: int  # active citizen of D03
    d3_citizen_name: str
    grants: Grants
    other_district: int  # Frederiksberg's district (code F01)
    other_employee: int  # Frederiksberg's care worker
    orgs: dict[str, OrgSide]  # "own": association A, company P; "out": B and Q

    def side(self, actor: ActorName) -> Side:
        """The probes an actor aims at: D02's for ``lead_out``, D01's for everyone else
        (for ``other_admin`` these are another municipality's objects)."""
        return self.sides["out" if actor == "lead_out" else "in"]

    def org_side(self, actor: ActorName) -> OrgSide:
        """The organisations' probes an actor aims at: B's and Q's for ``assoc_out`` and
        ``padmin_out``, A's and P's for everyone else (for ``other_admin`` another
        municipality's)."""
        return self.orgs["out" if actor in OUT_OF_ORGANISATION else "own"]


@dataclass(frozen=True)
class WebCredentials:
    """A signed-in browser: its session cookie and the session's CSRF token."""

    cookies: dict[str, str]
    csrf: str


@dataclass
class Credentials:
    """What an actor holds. ``office`` is False for care workers, installers and partner
    workers (forged)."""

    api: dict[str, str] = field(default_factory=dict)
    web: WebCredentials | None = None
    office: bool = False


def settings() -> Settings:
    """The server settings of every access test."""
    return Settings(secret_key=SECRET)


# --- credentials -------------------------------------------------------------------------------


def api_sign_in(client: TestClient, clock: FrozenClock, person: Person) -> Any:
    """POST /api/v1/auth/token with password and a fresh TOTP code; returns the response."""
    clock.advance(TOTP_STEP)
    body = {
        "municipality": person.municipality_code,
        "employee_number": person.employee_number,
        "password": PASSWORD,
        "totp_code": person.totp(clock.now()),
    }
    return client.post("/api/v1/auth/token", json=body)


def api_headers(client: TestClient, clock: FrozenClock, person: Person) -> dict[str, str]:
    """Authorization headers for an office employee, signed in through the API."""
    response = api_sign_in(client, clock, person)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def csrf_of(html: str) -> str:
    """The CSRF token a page carries."""
    found = re.search(r'name="csrf-token" content="([0-9a-f]+)"', html)
    assert found, "page has no CSRF token"
    return found.group(1)


def web_password_step(client: TestClient, person: Person, *, next_url: str = "/") -> Any:
    """Step 1 of the web sign-in (GET /login for the form's CSRF token, POST /login)."""
    page = client.get("/login")
    return client.post(
        "/login",
        data={
            "municipality": person.municipality_code,
            "employee_number": person.employee_number,
            "password": PASSWORD,
            "csrf_token": csrf_of(page.text),
            "next": next_url,
        },
        follow_redirects=False,
    )


def web_totp_step(client: TestClient, clock: FrozenClock, person: Person) -> Any:
    """Step 2 of the web sign-in: the TOTP code (the secret is already set up). Without a
    pending step 1 the form's CSRF token comes from the sign-in page instead."""
    page = client.get("/login/totp", follow_redirects=False)
    if page.status_code != 200:
        page = client.get("/login")
    token = csrf_of(page.text)
    return client.post(
        "/login/totp",
        data={"code": person.totp(clock.now()), "csrf_token": token},
        follow_redirects=False,
    )


def web_sign_in(client: TestClient, clock: FrozenClock, person: Person) -> WebCredentials:
    """Sign in through the pages (password, then TOTP); the client's cookie jar is left empty."""
    client.cookies.clear()
    clock.advance(TOTP_STEP)
    first = web_password_step(client, person)
    assert first.status_code == 303, first.text
    second = web_totp_step(client, clock, person)
    assert second.status_code == 303, second.text
    session = client.cookies.get(SESSION_COOKIE)
    assert session, "no session cookie after sign-in"
    # Any page an office user may see carries the session's CSRF token (an error page too).
    token = csrf_of(client.get("/audit").text)
    client.cookies.clear()
    return WebCredentials({SESSION_COOKIE: session}, token)


def web_client(client: TestClient, credentials: WebCredentials | None) -> TestClient:
    """``client`` with ``credentials``' session cookie as its only cookie (none: signed out)."""
    client.cookies.clear()
    if credentials is not None:
        for name, value in credentials.cookies.items():
            client.cookies.set(name, value)
    return client


def minted_api_headers(person: Person, epoch: int, now: dt.datetime) -> dict[str, str]:
    """An administration token as the server would have issued it, for someone who may not get
    one (an office user whose role was changed to care worker after signing in)."""
    token = sign_token(
        {
            "emp": person.employee_id,
            "mun": person.municipality_id,
            "ep": epoch,
            "exp": int((now + dt.timedelta(hours=8)).timestamp()),
            "n": secrets.token_hex(8),
        },
        secret=SECRET,
        purpose="admin",
    )
    return {"Authorization": f"Bearer {token}"}


def minted_web(person: Person, epoch: int, now: dt.datetime) -> WebCredentials:
    """A web session cookie (and its CSRF token) as the server would have set it."""
    sid = secrets.token_hex(16)
    token = sign_token(
        {
            "emp": person.employee_id,
            "mun": person.municipality_id,
            "ep": epoch,
            "sid": sid,
            "iat": int(now.timestamp()),
            "seen": int(now.timestamp()),
            "exp": int((now + dt.timedelta(minutes=20)).timestamp()),
        },
        secret=SECRET,
        purpose="web",
    )
    return WebCredentials({SESSION_COOKIE: token}, csrf_token(SECRET, sid))


# --- building the world ------------------------------------------------------------------------


_HASH: list[str] = []


def _password_hash() -> str:
    if not _HASH:
        _HASH.append(hash_password(PASSWORD))
    return _HASH[0]


def _employee(
    session: Session,
    municipality_id: int,
    number: str,
    name: str,
    role: e.Role,
    districts: tuple[int, ...] = (),
) -> m.Employee:
    employee = m.Employee(
        municipality_id=municipality_id,
        employee_number=number,
        full_name=name,
        email=f"{number.lower()}@example.dk",
        password_hash=_password_hash(),
        roles=[m.EmployeeRole(role=role)],
    )
    session.add(employee)
    session.flush()
    for district in districts:
        session.add(
            m.EmployeeDistrict(
                employee_id=employee.id, district_id=district, municipality_id=municipality_id
            )
        )
    session.flush()
    return employee


def _phone(session: Session, municipality_id: int, employee_id: int, label: str) -> m.Phone:
    phone = m.Phone(municipality_id=municipality_id, employee_id=employee_id, label=label)
    session.add(phone)
    session.flush()
    return phone


def _citizens_with_home_locks(session: Session, district: int) -> list[tuple[m.Citizen, int]]:
    rows = session.execute(
        select(m.Citizen, m.DoorDevice.id)
        .join(m.DoorDevice, m.DoorDevice.dwelling_id == m.Citizen.dwelling_id)
        .where(m.Citizen.municipality_id == 1)
        .where(m.Citizen.district_id == district)
        .where(m.Citizen.status == e.CitizenStatus.ACTIVE)
        .where(m.DoorDevice.kind == e.DoorKind.HOME_LOCK)
        .order_by(m.Citizen.id)
    ).all()
    return [(c, d) for c, d in rows]


def _admin_actor(session: Session, employee_id: int) -> Actor:
    employee = session.get(m.Employee, employee_id)
    assert employee is not None
    return Actor(
        employee.id,
        employee.municipality_id,
        frozenset({e.Role.ADMINISTRATOR}),
        f"{employee.full_name} ({employee.employee_number})",
    )


def _side(session: Session, admin: Actor, tag: str, district: int) -> Side:
    """The probe objects of one district, named after ``tag`` ("D1" or "D2")."""
    name = session.get(m.District, district)
    assert name is not None
    employee = _employee(
        session, 1, f"{tag}-EMP-ACTIVE", f"Probe Aktiv {tag}", e.Role.CARE_WORKER, (district,)
    )
    blocked = _employee(
        session, 1, f"{tag}-EMP-BLOCKED", f"Probe Spærret {tag}", e.Role.CARE_WORKER, (district,)
    )
    phone = _phone(session, 1, employee.id, f"{tag}-PHONE-ACTIVE")
    blocked_phone = _phone(session, 1, employee.id, f"{tag}-PHONE-BLOCKED")
    (citizen, door), (removed, _door) = _citizens_with_home_locks(session, district)[:2]
    citizen.given_name, citizen.family_name = "Probe", f"Borger-{tag}-Active"
    removed.given_name, removed.family_name = "Probe", f"Borger-{tag}-Removed"
    device = session.get(m.DoorDevice, door)
    assert device is not None
    device.serial = f"PROBE-{tag}-LOCK"
    session.flush()
    reason = f"probe-block-{tag.lower()}-employee"
    revocation.block_employee(
        session, actor=admin, employee_id=blocked.id, reason=reason, now=START
    )
    revocation.block_phone(
        session, actor=admin, phone_id=blocked_phone.id, reason="probe", lost=False, now=START
    )
    revocation.remove_citizen(
        session, actor=admin, citizen_id=removed.id, reason="probe", now=START
    )
    # Something happened at the probe door, for the audit log to show.
    session.add_all(
        m.AuditEvent(
            municipality_id=1,
            source=e.AuditSource.SERVER,
            action=action,
            employee_id=employee.id,
            phone_id=phone.id,
            door_device_id=door,
            citizen_id=citizen.id,
            occurred_at=START - dt.timedelta(hours=1),
            received_at=START - dt.timedelta(hours=1),
        )
        for action in (e.AuditAction.LOGIN, e.AuditAction.UNLOCKED)
    )
    session.flush()
    return Side(
        district=district,
        district_code=name.code,
        district_name=name.name,
        employee=employee.id,
        employee_number=employee.employee_number,
        employee_name=employee.full_name,
        blocked_employee=blocked.id,
        blocked_employee_number=blocked.employee_number,
        phone=phone.id,
        phone_label=phone.label,
        blocked_phone=blocked_phone.id,
        blocked_phone_label=blocked_phone.label,
        citizen=citizen.id,
        citizen_name=citizen.family_name,
        removed_citizen=removed.id,
        removed_citizen_name=removed.family_name,
        door=door,
        door_serial=device.serial,
        block_reason=reason,
    )


def _person(session: Session, key: str, employee: m.Employee, phone: int | None = None) -> Person:
    """Give ``employee`` a TOTP secret (as if set up on the first web sign-in)."""
    totp = pyotp.random_base32()
    employee.totp_secret_sealed = seal(totp.encode(), secret=SECRET, purpose="totp")
    municipality = session.get(m.Municipality, employee.municipality_id)
    assert municipality is not None
    return Person(
        key,
        employee.id,
        employee.municipality_id,
        municipality.code,
        employee.employee_number,
        totp,
        phone,
    )


def build_world(engine: Engine) -> World:
    """Seed and prepare an empty, migrated database."""
    with engine.begin() as connection:
        seed(connection, profile="small", seed=1, secret=SECRET)
    with Session(engine) as session, session.begin():
        admin_id = session.execute(
            select(m.EmployeeRole.employee_id)
            .where(m.EmployeeRole.role == e.Role.ADMINISTRATOR)
            .order_by(m.EmployeeRole.employee_id)
        ).scalar()
        assert admin_id is not None
        admin = _admin_actor(session, admin_id)
        sides = {"in": _side(session, admin, "D1", 1), "out": _side(session, admin, "D2", 2)}
        d3_employee = _employee(
            session, 1, "D3-EMP-ACTIVE", "Probe Aktiv D3", e.Role.CARE_WORKER, (3,)
        )
        d3_citizen, _door = _citizens_with_home_locks(session, 3)[0]
        d3_citizen.given_name, d3_citizen.family_name = "Probe", "Borger-D3-Active"
        lead = _employee(session, 1, "L0001", "Leder Lund", e.Role.DISTRICT_LEAD, (1, 3))
        auditor = _employee(session, 1, "A0001", "Revisor Rask", e.Role.AUDITOR)
        worker = _employee(session, 1, "W0001", "Hjælper Holm", e.Role.CARE_WORKER, (1,))
        worker_phone = _phone(session, 1, worker.id, "W0001-PHONE")
        installer = _employee(session, 1, "I0001", "Montør Mikkelsen", e.Role.INSTALLER)

        reasons = {
            "inside": "probe-grant-inside",
            "citizen_out": "probe-grant-citizen-out",
            "employee_out": "probe-grant-employee-out",
        }

        def grant(employee: int, citizen: int, reason: str) -> int:
            return emergency.grant_emergency_key(
                session,
                actor=admin,
                employee_id=employee,
                citizen_id=citizen,
                reason=reason,
                duration=dt.timedelta(hours=8),
                now=START,
            ).id

        grants = Grants(
            inside=grant(d3_employee.id, sides["in"].citizen, reasons["inside"]),
            citizen_out=grant(d3_employee.id, sides["out"].citizen, reasons["citizen_out"]),
            employee_out=grant(sides["out"].employee, sides["in"].citizen, reasons["employee_out"]),
            reasons=reasons,
        )

        # Frederiksberg: a municipality of its own, with a district, an administrator and staff.
        other = m.Municipality(code="0147", name="Frederiksberg Kommune")
        session.add(other)
        session.flush()
        other_district = m.District(municipality_id=other.id, code="F01", name="Frederiksberg C")
        session.add(other_district)
        session.flush()
        create_issuer_key(
            session,
            municipality_id=other.id,
            secret=SECRET,
            now=START,
            status=e.IssuerKeyStatus.ACTIVE,
        )
        other_admin = _employee(session, other.id, "F0001", "Frida Admin", e.Role.ADMINISTRATOR)
        other_worker = _employee(
            session, other.id, "F0002", "Finn Hjælper", e.Role.CARE_WORKER, (other_district.id,)
        )
        _phone(session, other.id, other_worker.id, "FK-TLF-1")
        orgs, org_people = build_orgs(session, password_hash=_password_hash(), now=START)

        admin_employee = session.get(m.Employee, admin_id)
        assert admin_employee is not None
        people = {
            "admin": _person(session, "admin", admin_employee),
            "lead": _person(session, "lead", lead),
            "auditor": _person(session, "auditor", auditor),
            "care_worker": _person(session, "care_worker", worker, worker_phone.id),
            "installer": _person(session, "installer", installer),
            "other_admin": _person(session, "other_admin", other_admin),
            "assoc": _person(session, "assoc", org_people.assoc),
            "padmin": _person(session, "padmin", org_people.padmin),
            "pworker": _person(session, "pworker", org_people.pworker, org_people.pworker_phone),
        }
        return World(
            people=people,
            sides=sides,
            d3_employee=d3_employee.id,
            d3_employee_number=d3_employee.employee_number,
            d3_citizen=d3_citizen.id,
            d3_citizen_name=d3_citizen.family_name,
            grants=grants,
            other_district=other_district.id,
            other_employee=other_worker.id,
            orgs=orgs,
        )


def _epoch(engine: Engine, employee_id: int) -> int:
    with Session(engine) as session:
        employee = session.get(m.Employee, employee_id)
        assert employee is not None
        return employee.session_epoch


def sign_everyone_in(engine: Engine, world: World) -> tuple[dict[str, Credentials], dt.datetime]:
    """Sign every office person in once (API and web), check that care workers, installers and
    partner workers cannot, and forge theirs; returns the credentials and the time the tests run
    at (a TOTP step after the last sign-in, so a test's own sign-in uses a fresh code)."""
    clock = FrozenClock(START)
    found: dict[str, Credentials] = {}
    with TestClient(create_app(settings(), engine=engine, clock=clock)) as client:
        for key in OFFICE_PEOPLE:
            person = world.people[key]
            api = api_headers(client, clock, person)
            found[key] = Credentials(api, web_sign_in(client, clock, person), office=True)
        for key in KEY_APP_PEOPLE:
            person = world.people[key]
            refused = api_sign_in(client, clock, person)
            assert refused.status_code in (401, 403), refused.text
            client.cookies.clear()
            clock.advance(TOTP_STEP)
            page = web_password_step(client, person)
            assert page.status_code in (401, 403), page.text
            assert SESSION_COOKIE not in client.cookies
            client.cookies.clear()
            epoch = _epoch(engine, person.employee_id)
            found[key] = Credentials(
                minted_api_headers(person, epoch, clock.now()),
                minted_web(person, epoch, clock.now()),
                office=False,
            )
    found["anonymous"] = Credentials()
    return found, clock.advance(TOTP_STEP)


@dataclass(frozen=True)
class Template:
    """A prepared database file, the world in it, and everyone's credentials."""

    path: Path
    world: World
    credentials: dict[str, Credentials]
    now: dt.datetime

    def credentials_of(self, actor: ActorName) -> Credentials:
        """The credentials ``actor`` uses."""
        person = PERSON_OF[actor]
        return self.credentials[person or "anonymous"]


def make_template(migrated: Path, folder: Path) -> Template:
    """Copy the migrated empty database ``migrated`` into ``folder`` and prepare it."""
    path = folder / "world.db"
    shutil.copyfile(migrated, path)
    engine = create_db_engine(f"sqlite:///{path}")
    try:
        world = build_world(engine)
        credentials, now = sign_everyone_in(engine, world)
    finally:
        engine.dispose()  # closes the last connection: the WAL is checkpointed into the file
    assert not Path(f"{path}-wal").exists(), "the template's WAL was not checkpointed"
    return Template(path, world, credentials, now)


def restore(template: Template, engine: Engine, target: Path) -> None:
    """Put the template's contents back into ``target``, the file ``engine`` works on."""
    engine.dispose()
    for suffix in ("-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(template.path, target)


def b64(data: bytes) -> str:
    """Standard base64 text, as the key-app API takes it."""
    return base64.b64encode(data).decode()
