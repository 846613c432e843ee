"""``carekey screenshots``: the administration UI on a realistic Copenhagen morning, photographed.

:func:`take` builds a temporary SQLite database with the ``copenhagen`` profile, two weeks of
door activity (:func:`carekey.sim.bench_web.add_history`) and a morning of real activity through
the key service's HTTP API: care workers' phones are enrolled with one-time codes, log in with
password and device proof, and upload the signed, hash-chained events of the doors they opened
and locked (each door is commissioned again with a key the simulation holds).
Halfway through the morning one phone is reported lost and blocked, so the dashboard shows the
doors that have not yet learnt about it. The server runs in-process on loopback with a clock
set to this morning (10:40 Danish time) so the pictures do not depend on when they are taken;
headless Chromium signs in with password and TOTP and saves full-page PNGs of the dashboard,
the audit log and one citizen's "who has been in this home" report. Then a housing
association's user (``B001``) signs in and the association's portal is photographed: the
overview and the form for a new agreement (:func:`prepare_association`); last a partner
company's administrator (``P01-ADM``): the company's overview and its people and phones.

The helpers here (:class:`ApiPhone`, :func:`admin_headers`, :func:`sign_in_browser`) are also
what the browser tests use.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import random
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final

import httpx
import pyotp
import typer
from pydantic import SecretStr
from rich.console import Console
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from carekey.associations.service import finished_months
from carekey.auth.service import enrol_totp, next_totp_code
from carekey.clock import COPENHAGEN
from carekey.config import Settings
from carekey.domain import enums as e
from carekey.doors.commissioning import DoorKeyReport, commission_doors
from carekey.protocol.deviceproof import proof_message
from carekey.protocol.events import EventChain, EventKind
from carekey.protocol.keys import DeviceKey, DoorKey
from carekey.seed.service import DEMO_PASSWORD
from carekey.sim.bench_web import (
    ADMIN_NUMBER,
    MUNICIPALITY,
    WEB_SECRET,
    DoorChain,
    add_history,
    seed_database,
)
from carekey.sim.server import free_port
from carekey.store import models as m
from carekey.store.db import create_db_engine

if TYPE_CHECKING:
    from playwright.sync_api import Page

Echo = Callable[[str], None]

CHROMIUM: Final = "/usr/bin/chromium"
CHROMIUM_ARGS: Final = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
SCREENSHOT_ARGS: Final = (*CHROMIUM_ARGS, "--lang=da-DK")  # Danish date fields
VIEWPORT: Final = {"width": 1366, "height": 900}
MORNING_END: Final = dt.time(10, 40)  # the moment the pictures show, Danish time
WORKERS: Final = 36
LOST_REASON: Final = "Telefonen er tabt på ruten (meldt af medarbejderen)"
ASSOCIATION_USER: Final = "B001"
PARTNER_ADMIN: Final = "P01-ADM"  # the first partner company's administrator
# The municipality's openings per property and month in the association's pictures, drawn
# from these (each a different band: 0, under 10, ca. 10, ca. 30, ca. 50, ca. 80).
OPENING_COUNTS: Final = (0, 4, 12, 27, 48, 83)
PORTAL_MONTHS_AHEAD: Final = 4


# --- the key app over HTTP --------------------------------------------------------------------


_totp_steps: dict[str, int] = {}  # the last TOTP step each secret was used at, per process


def totp_code(secret_b32: str, now: dt.datetime) -> str:
    """A code that has not been used by this process yet (a code works once)."""
    code, step = next_totp_code(secret_b32, now, _totp_steps.get(secret_b32))
    _totp_steps[secret_b32] = step
    return code


def enrol_office_totp(engine: Engine, employee_number: str, *, secret: str) -> str:
    """Give a seeded office employee an authenticator app; returns its base32 secret."""
    secret_b32 = pyotp.random_base32()
    with Session(engine) as db, db.begin():
        employee = db.execute(
            select(m.Employee).where(m.Employee.employee_number == employee_number)
        ).scalar_one()
        enrol_totp(db, employee=employee, secret_b32=secret_b32, secret=secret)
    return secret_b32


def admin_headers(
    http: httpx.Client,
    *,
    totp_secret: str,
    employee_number: str = ADMIN_NUMBER,
    password: str = DEMO_PASSWORD,
    municipality: str = MUNICIPALITY,
    at: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
) -> dict[str, str]:
    """Bearer headers for an office employee, from ``POST /api/v1/auth/token`` (password and
    TOTP code)."""
    response = http.post(
        "/api/v1/auth/token",
        json={
            "municipality": municipality,
            "employee_number": employee_number,
            "password": password,
            "totp_code": totp_code(totp_secret, at()),
        },
    )
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def settled(call: Callable[[], httpx.Response], *, wait_s: float = 2.0) -> httpx.Response:
    """``call()``, repeated for up to ``wait_s`` while it answers 401 or 403.

    The API can answer before its transaction has committed (the request's database session
    closes after the response is sent), so a request sent the instant the previous one
    returned may not see its effect yet (a just-made enrolment code, a just-enrolled phone, a
    just-started session). A person never notices; a script does. The last answer is returned,
    so a real refusal still comes back as one.
    """
    deadline = time.monotonic() + wait_s
    while True:
        response = call()
        if response.status_code not in (401, 403) or time.monotonic() > deadline:
            return response
        time.sleep(0.05)


@dataclass
class ApiPhone:
    """A key app on one enrolled phone, speaking the key service's HTTP API."""

    http: httpx.Client
    phone_id: int
    device_key: DeviceKey
    bundle: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def enrol(cls, http: httpx.Client, admin: dict[str, str], phone_id: int) -> ApiPhone:
        """Enrol phone ``phone_id`` with a one-time code an administrator made."""
        response = http.post(f"/api/v1/admin/phones/{phone_id}/enrolment-code", headers=admin)
        response.raise_for_status()
        key = DeviceKey.generate()
        body = {
            "code": response.json()["code"],
            "public_key": base64.b64encode(key.public.compressed).decode(),
        }
        enrolled = settled(lambda: http.post("/api/v1/app/enrol", json=body))
        if enrolled.status_code != 200:
            raise RuntimeError(
                f"enrolling phone {phone_id}: {enrolled.status_code} {enrolled.text}"
            )
        return cls(http, phone_id, key)

    def proof(self, purpose: str) -> dict[str, str]:
        """A fresh challenge signed with the device key for ``purpose``."""
        response = self.http.post("/api/v1/app/challenge", json={"phone_id": self.phone_id})
        response.raise_for_status()
        challenge = response.json()["challenge"]
        signature = self.device_key.sign(proof_message(challenge, self.phone_id, purpose))
        return {"challenge": challenge, "signature": base64.b64encode(signature).decode()}

    def login(
        self,
        employee_number: str,
        password: str = DEMO_PASSWORD,
        municipality: str = MUNICIPALITY,
    ) -> httpx.Response:
        """Log in (password and device proof); keeps the bundle on success."""
        response = settled(
            lambda: self.http.post(
                "/api/v1/app/login",
                json={
                    "municipality": municipality,
                    "employee_number": employee_number,
                    "password": password,
                    "phone_id": self.phone_id,
                    **self.proof("login"),
                },
            )
        )
        if response.status_code == 200:
            self.bundle = response.json()
        return response

    @property
    def auth(self) -> dict[str, str]:
        """The session's bearer header."""
        return {"Authorization": f"Bearer {self.bundle['session_token']}"}

    def heartbeat(self) -> httpx.Response:
        """``POST /heartbeat``: OK, REFRESH or WIPE."""
        return self.http.post("/api/v1/app/heartbeat", headers=self.auth)

    def refresh(self) -> httpx.Response:
        """A new key bundle for the running session (device proof, no password)."""
        response = self.http.post(
            "/api/v1/app/bundle", json=self.proof("bundle"), headers=self.auth
        )
        if response.status_code == 200:
            token = self.bundle["session_token"]
            self.bundle = response.json()
            self.bundle.setdefault("session_token", token)
        return response

    def door_ids(self) -> set[str]:
        """Serials of the doors the current bundle opens."""
        return {str(d["door_id"]) for d in self.bundle.get("doors", [])}

    def upload(self, doors: dict[str, list[bytes]]) -> httpx.Response:
        """Upload signed door events read from ``doors`` (serial -> events)."""
        body = {
            "doors": [
                {"door_id": serial, "events": [base64.b64encode(x).decode() for x in events]}
                for serial, events in doors.items()
            ]
        }
        return settled(lambda: self.http.post("/api/v1/app/events", json=body, headers=self.auth))


# --- signing in with a browser ------------------------------------------------------------------


def sign_in_browser(
    page: Page,
    base_url: str,
    *,
    employee_number: str = ADMIN_NUMBER,
    password: str = DEMO_PASSWORD,
    totp_secret: str | None = None,
    at: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
) -> str:
    """Sign in through the pages like a person: number and password, then the six-digit code
    (reading the secret from the set-up page on first sign-in). Returns the TOTP secret."""
    page.goto(f"{base_url}/login")
    page.get_by_label("Medarbejdernummer").fill(employee_number)
    page.get_by_label("Adgangskode").fill(password)
    page.get_by_role("button", name="Fortsæt").click()
    page.wait_for_url("**/login/totp")
    shown = page.locator("#totp-secret")
    if shown.count():
        totp_secret = shown.get_attribute("data-secret")
    if not totp_secret:
        raise RuntimeError("no TOTP secret for this employee")
    page.get_by_label("Sekscifret kode").fill(totp_code(totp_secret, at()))
    page.get_by_role("button", name="Log ind", exact=True).click()
    page.wait_for_url(lambda url: "/login" not in url)
    return totp_secret


@contextlib.contextmanager
def chromium(args: tuple[str, ...] = CHROMIUM_ARGS) -> Iterator[Any]:
    """Debian's Chromium through Playwright (headless, no network side-channels); closed after."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=list(args)
        )
        try:
            yield browser
        finally:
            browser.close()


# --- an in-process server with a clock set to this morning --------------------------------------


class ShiftedClock:
    """The wall clock moved by an offset that can be reset: time runs, from a chosen moment."""

    def __init__(self, start: dt.datetime) -> None:
        self._offset = dt.timedelta()
        self.set(start)

    def set(self, when: dt.datetime) -> None:
        """From now on, the clock reads ``when`` plus the time that passes."""
        self._offset = when - dt.datetime.now(dt.UTC)

    def now(self) -> dt.datetime:
        """The shifted time, UTC."""
        return dt.datetime.now(dt.UTC) + self._offset


@contextlib.contextmanager
def local_server(settings: Settings, clock: ShiftedClock) -> Iterator[str]:
    """uvicorn in a thread on 127.0.0.1 and a free port, serving the app with ``clock``."""
    import uvicorn

    from carekey.server.app import create_app

    port = free_port()
    config = uvicorn.Config(
        create_app(settings, clock=clock),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="carekey-screenshots", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


# --- a morning of home care ---------------------------------------------------------------------


@dataclass
class Visit:
    """One planned visit: a worker at a citizen's home, the entrance first if it has a module."""

    employee_id: int
    citizen_id: int
    home: int  # door device id of the home lock
    entrance: int | None
    at: dt.datetime
    stay: dt.timedelta
    locks: bool = True


@dataclass
class Morning:
    """What :func:`plan_morning` chose."""

    workers: list[tuple[int, str]]  # (employee id, employee number)
    visits: list[Visit]
    lost: int  # employee id whose phone is lost at ``lost_at``
    lost_at: dt.datetime
    report_citizen: int


def _local(day: dt.date, at: dt.time) -> dt.datetime:
    return dt.datetime.combine(day, at, tzinfo=COPENHAGEN).astimezone(dt.UTC)


def plan_morning(engine: Engine, day: dt.date, rng: random.Random) -> Morning:
    """Visits between 07:00 and 10:40 on ``day`` by care workers of the first districts; each
    home and each entrance once, so every door's log stays in one phone's upload order."""
    with engine.connect() as connection:
        team = connection.execute(
            select(m.EmployeeDistrict.district_id, m.Employee.id, m.Employee.employee_number)
            .join(m.Employee, m.Employee.id == m.EmployeeDistrict.employee_id)
            .join(m.EmployeeRole, m.EmployeeRole.employee_id == m.Employee.id)
            .where(m.EmployeeRole.role == e.Role.CARE_WORKER)
            .order_by(m.EmployeeDistrict.district_id, m.Employee.id)
        ).all()
        homes = connection.execute(
            select(m.Citizen.id, m.Citizen.district_id, m.DoorDevice.id, m.Dwelling.entrance_id)
            .join(m.Dwelling, m.Dwelling.id == m.Citizen.dwelling_id)
            .join(m.DoorDevice, m.DoorDevice.dwelling_id == m.Dwelling.id)
            .where(m.Citizen.status == e.CitizenStatus.ACTIVE)
            .order_by(m.Citizen.id)
        ).all()
        entrance_ctl = dict(
            connection.execute(
                select(m.DoorDevice.entrance_id, m.DoorDevice.id).where(
                    m.DoorDevice.entrance_id.is_not(None)
                )
            ).all()
        )
    per_district: dict[int, list[tuple[int, str]]] = {}
    seen: set[int] = set()
    for district_id, employee_id, number in team:
        if employee_id in seen or len(per_district.get(district_id, [])) >= 6:
            continue
        seen.add(employee_id)
        per_district.setdefault(district_id, []).append((employee_id, number))
    districts = sorted(per_district)[: WORKERS // 6]
    workers = [w for d in districts for w in per_district[d]]
    used_entrances: set[int] = set()
    visits: list[Visit] = []
    for district_id in districts:
        candidates = [h for h in homes if h.district_id == district_id]
        rng.shuffle(candidates)
        for employee_id, _number in per_district[district_id]:
            at = _local(day, dt.time(7, 0)) + dt.timedelta(minutes=rng.randrange(0, 20))
            while True:
                stay = dt.timedelta(minutes=rng.randrange(12, 40), seconds=rng.randrange(60))
                if at + stay > _local(day, MORNING_END) - dt.timedelta(minutes=5):
                    break
                while candidates:
                    citizen_id, _d, home, entrance_id = candidates.pop()
                    entrance = entrance_ctl.get(entrance_id)
                    if entrance is None or entrance_id not in used_entrances:
                        break
                else:
                    break
                used_entrances.add(entrance_id)
                visits.append(Visit(employee_id, citizen_id, home, entrance, at, stay))
                at += stay + dt.timedelta(minutes=rng.randrange(8, 30))
    visits.sort(key=lambda v: v.at)
    # A home door left unlocked after the last visit of the morning in the first district.
    last_of_first = max((v for v in visits if v.employee_id == workers[0][0]), key=lambda v: v.at)
    last_of_first.locks = False
    lost = workers[2][0]
    # The report shows a citizen visited this morning who has many visits in the history.
    visited = {v.citizen_id for v in visits if v.locks}
    with engine.connect() as connection:
        report = connection.execute(
            select(m.AuditEvent.citizen_id)
            .where(m.AuditEvent.citizen_id.in_(visited))
            .group_by(m.AuditEvent.citizen_id)
            .order_by(func.count().desc(), m.AuditEvent.citizen_id)
            .limit(1)
        ).scalar_one_or_none()
    return Morning(
        workers, visits, lost, _local(day, dt.time(9, 47)), report or visits[0].citizen_id
    )


@dataclass
class _DoorLogs:
    """The doors' own logs as a visit extends them: chained and signed with each door's key."""

    chains: dict[int, DoorChain]
    keys: dict[int, DoorKey]
    serials: dict[int, str]
    subject: str
    events: dict[str, list[bytes]] = field(default_factory=dict)

    def log(self, door: int, kind: EventKind, when: dt.datetime) -> None:
        head = self.chains.get(door) or DoorChain(self.serials[door])
        chain = EventChain(head.serial.encode(), head.next_seq, head.last_hash)
        signed, chain = chain.append(
            self.keys[door], kind=kind, time=when.replace(microsecond=0), subject=self.subject
        )
        self.chains[door] = DoorChain(head.serial, chain.next_seq, chain.last_hash)
        self.events.setdefault(head.serial, []).append(signed.raw)


def run_morning(
    engine: Engine,
    base_url: str,
    clock: ShiftedClock,
    morning: Morning,
    chains: dict[int, DoorChain],
    echo: Echo,
    totp: str,
) -> None:
    """Log the workers' phones in at the start of the shift and upload each visit's door
    events right after it, with the server's clock following along; block the lost phone."""
    door_keys: dict[int, DoorKey] = {}
    serials: dict[int, str] = {}
    wanted = {v.home for v in morning.visits} | {v.entrance for v in morning.visits if v.entrance}
    with Session(engine) as db, db.begin():
        for door_id, serial in db.execute(
            select(m.DoorDevice.id, m.DoorDevice.serial).where(m.DoorDevice.id.in_(wanted))
        ):
            door_keys[door_id], serials[door_id] = DoorKey.generate(), serial
        commission_doors(
            db,
            doors=[DoorKeyReport(i, key.public.key.raw) for i, key in door_keys.items()],
            now=clock.now(),
        )
    phones: dict[int, ApiPhone] = {}
    day = morning.visits[0].at.astimezone(COPENHAGEN).date()
    with httpx.Client(base_url=base_url, timeout=60) as http:
        clock.set(_local(day, dt.time(6, 40)))
        admin = admin_headers(http, totp_secret=totp, at=clock.now)
        for employee_id, number in morning.workers:
            phone = ApiPhone.enrol(http, admin, employee_id)  # the seed gives employee n phone n
            phone.login(number).raise_for_status()
            phones[employee_id] = phone
        echo(f"{len(phones)} phones enrolled and logged in at 06:40")
        blocked = False
        uploaded = 0
        for visit in morning.visits:
            if not blocked and visit.at >= morning.lost_at:
                clock.set(morning.lost_at)
                lost = http.post(
                    f"/api/v1/admin/phones/{morning.lost}/block",
                    json={"reason": LOST_REASON, "lost": True},
                    headers=admin,
                )
                lost.raise_for_status()
                blocked = True
                echo(f"phone {morning.lost} blocked as lost at {morning.lost_at:%H:%M} UTC")
            if blocked and visit.employee_id == morning.lost:
                continue
            doors = _DoorLogs(chains, door_keys, serials, subject=f"e{visit.employee_id}")
            if visit.entrance is not None:
                doors.log(
                    visit.entrance, EventKind.RELAY_PULSE, visit.at - dt.timedelta(seconds=70)
                )
            doors.log(visit.home, EventKind.UNLOCKED, visit.at)
            if visit.locks:
                doors.log(visit.home, EventKind.LOCKED, visit.at + visit.stay)
            clock.set(visit.at + visit.stay + dt.timedelta(minutes=2))
            stored = phones[visit.employee_id].upload(doors.events)
            stored.raise_for_status()
            uploaded += int(stored.json().get("stored", 0))
        clock.set(_local(day, MORNING_END))
    echo(f"{len(morning.visits)} visits this morning, {uploaded} door events uploaded")


# --- the housing association's portal -----------------------------------------------------------


def _month_start(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def prepare_association(
    engine: Engine, today: dt.date, rng: random.Random
) -> tuple[dt.datetime, int]:
    """The association's pictures are taken "later": at 10:40 on the 10th of the month
    ``PORTAL_MONTHS_AHEAD`` months on, so that the three finished months the portal counts hold
    none of the history or the morning (whose dates depend on the day the pictures are taken),
    only openings written here with fixed counts per property (``OPENING_COUNTS``); and the
    municipality asks for permission at one property. Returns that moment and the company the
    form is opened for."""
    moment = _local(_month_start(today, PORTAL_MONTHS_AHEAD).replace(day=10), MORNING_END)
    with Session(engine) as db, db.begin():
        user = db.execute(
            select(m.Employee).where(m.Employee.employee_number == ASSOCIATION_USER)
        ).scalar_one()
        association = user.housing_association_id
        props = list(
            db.execute(
                select(m.Property.id)
                .where(m.Property.housing_association_id == association)
                .order_by(m.Property.id)
            ).scalars()
        )
        controllers = dict(
            db.execute(
                select(m.Entrance.property_id, func.min(m.DoorDevice.id))
                .join(m.DoorDevice, m.DoorDevice.entrance_id == m.Entrance.id)
                .where(m.Entrance.property_id.in_(props))
                .group_by(m.Entrance.property_id)
            ).all()
        )
        worker = db.execute(
            select(func.min(m.EmployeeRole.employee_id)).where(
                m.EmployeeRole.role == e.Role.CARE_WORKER
            )
        ).scalar_one()
        municipality = user.municipality_id
        for month in finished_months(moment):
            for prop in props:
                door = controllers.get(prop)
                count = rng.choice(OPENING_COUNTS)
                if door is None or not count:
                    continue
                db.add_all(
                    m.AuditEvent(
                        municipality_id=municipality,
                        source=e.AuditSource.DOOR,
                        action=e.AuditAction.RELAY_PULSED,
                        door_device_id=door,
                        employee_id=worker,
                        occurred_at=month.start + dt.timedelta(hours=7 + n % 12, days=n % 27),
                        received_at=month.start + dt.timedelta(hours=8 + n % 12, days=n % 27),
                    )
                    for n in range(count)
                )
        if props:
            db.add(
                m.PermissionRequest(
                    municipality_id=municipality,
                    housing_association_id=association,
                    property_id=props[-1],
                    covers_entrances=True,
                    covers_gates=True,
                    requested_at=moment - dt.timedelta(days=2, hours=3),
                )
            )
        company = db.execute(
            select(func.min(m.PartnerCompany.id)).where(
                m.PartnerCompany.municipality_id == municipality
            )
        ).scalar_one()
    return moment, int(company)


def take(*, out_dir: Path, echo: Echo) -> list[Path]:
    """Seed Copenhagen, play a morning, and save ``dashboard.png``, ``audit-log.png`` and
    ``citizen-report.png`` in ``out_dir``, then the association's ``association-portal.png``
    and ``association-agreement-form.png``, and the partner company's ``partner-portal.png``
    ``partner-staff.png`` and ``partner-errands.png`` (a new errand); returns the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(26)  # noqa: S311 - synthetic, reproducible activity
    today = dt.datetime.now(COPENHAGEN).date()
    with tempfile.TemporaryDirectory(prefix="carekey-screenshots-") as folder:
        url = f"sqlite:///{Path(folder) / 'carekey.db'}"
        engine = create_db_engine(url)
        try:
            seed_database(engine, secret=WEB_SECRET)
            totp = enrol_office_totp(engine, ADMIN_NUMBER, secret=WEB_SECRET)
            association_totp = enrol_office_totp(engine, ASSOCIATION_USER, secret=WEB_SECRET)
            partner_totp = enrol_office_totp(engine, PARTNER_ADMIN, secret=WEB_SECRET)
            start_of_day = _local(today, dt.time(0, 0))
            history = add_history(
                engine, start=start_of_day - dt.timedelta(days=14), end=start_of_day
            )
            echo(f"copenhagen profile, 14 days of history ({history.events:,} audit events)")
            morning = plan_morning(engine, today, rng)
            clock = ShiftedClock(_local(today, dt.time(6, 40)))
            settings = Settings(database_url=url, secret_key=SecretStr(WEB_SECRET))
            with local_server(settings, clock) as base_url:
                run_morning(engine, base_url, clock, morning, history.chains, echo, totp)
                saved = _photograph(base_url, clock, morning, out_dir, echo, totp)
                moment, company = prepare_association(engine, today, rng)
                clock.set(moment)
                shots = (
                    ("association-portal.png", "/association"),
                    (
                        "association-agreement-form.png",
                        f"/association/agreements/new?company={company}",
                    ),
                )
                saved += _photograph_as(
                    base_url, clock, shots, out_dir, echo, ASSOCIATION_USER, association_totp
                )
                partner = (
                    ("partner-portal.png", "/partner"),
                    ("partner-staff.png", "/partner/staff"),
                )
                saved += _photograph_as(
                    base_url, clock, partner, out_dir, echo, PARTNER_ADMIN, partner_totp
                )
                # Errands are for deliveries to a named resident: the meal-box company's.
                deliverer = errand_admin(engine)
                deliverer_totp = enrol_office_totp(engine, deliverer, secret=WEB_SECRET)
                errands = (("partner-errands.png", "/partner/errands/new"),)
                return saved + _photograph_as(
                    base_url, clock, errands, out_dir, echo, deliverer, deliverer_totp
                )
        finally:
            engine.dispose()


def errand_admin(engine: Engine) -> str:
    """The administrator of a company with an agreement for deliveries to a named resident."""
    with Session(engine) as db:
        number = db.execute(
            select(m.Employee.employee_number)
            .join(m.EmployeeRole, m.EmployeeRole.employee_id == m.Employee.id)
            .join(m.Agreement, m.Agreement.partner_company_id == m.Employee.partner_company_id)
            .where(m.EmployeeRole.role == e.Role.PARTNER_ADMIN)
            .where(m.Agreement.requires_errand.is_(True))
            .order_by(m.Employee.id)
        ).scalar()
    if number is None:
        raise RuntimeError("no partner company has an agreement for errands")
    return str(number)


def _photograph(
    base_url: str, clock: ShiftedClock, morning: Morning, out_dir: Path, echo: Echo, totp: str
) -> list[Path]:
    shots = (
        ("dashboard.png", "/dashboard"),
        ("audit-log.png", "/audit"),
        ("citizen-report.png", f"/citizens/{morning.report_citizen}/report"),
        # Issue 16: the office's work orders, one order, a citizen's timeline and the costs.
        ("work-orders.png", "/work-orders"),
        ("work-order.png", "/work-orders/1"),
        ("citizen-timeline.png", f"/citizens/{morning.report_citizen}/timeline"),
        ("costs.png", "/costs?group=district"),
    )
    return _photograph_as(base_url, clock, shots, out_dir, echo, ADMIN_NUMBER, totp)


def _photograph_as(
    base_url: str,
    clock: ShiftedClock,
    shots: tuple[tuple[str, str], ...],
    out_dir: Path,
    echo: Echo,
    employee_number: str,
    totp: str,
) -> list[Path]:
    """Sign ``employee_number`` in with Chromium and save a full-page PNG of each page."""
    saved: list[Path] = []
    with chromium(SCREENSHOT_ARGS) as browser:
        context = browser.new_context(viewport=VIEWPORT, locale="da-DK")
        try:
            page = context.new_page()
            sign_in_browser(
                page, base_url, employee_number=employee_number, totp_secret=totp, at=clock.now
            )
            for name, path in shots:
                page.goto(f"{base_url}{path}")
                page.wait_for_load_state("networkidle")
                target = out_dir / name
                page.screenshot(path=str(target), full_page=True)
                saved.append(target)
                echo(f"saved {target}")
        finally:
            context.close()
    return saved


def cli_command(
    out: Annotated[
        Path, typer.Option(help="Mappe til billederne / folder for the pictures.")
    ] = Path("docs/screenshots"),
) -> None:
    """Skærmbilleder af administrationen / screenshots of the administration (Chromium).

    Register in ``carekey.cli.main``: ``app.command("screenshots")(screenshots.cli_command)``.
    """
    console = Console()
    try:
        take(out_dir=out, echo=console.print)
    except (RuntimeError, OSError, httpx.HTTPError) as exc:
        Console(stderr=True).print(f"[bold red]Fejl / error:[/] {exc}")
        raise typer.Exit(2) from exc
