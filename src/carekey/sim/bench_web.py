"""``carekey bench web``: how fast the administration pages answer on the Copenhagen profile.

Method:

1. **Data.** A fresh database: a temporary SQLite file by default, or, with ``--database-url
   postgresql://…``, a new database ``carekey_webbench_<random>`` on that server (dropped
   afterwards). It is migrated, seeded with the ``copenhagen`` profile (25 districts, 2,000
   citizens, 1,500 employees, 3,500 doors) and given ``history_days`` days of door activity
   (:func:`add_history`): every active citizen gets one to four visits a day by a care worker of
   their district, each an entrance-controller pulse (where the entrance has one), an unlock and
   a lock of the home door, hash-chained per door like a real door log (≈ 12,000 audit events a
   day).
2. **Server.** ``python -m carekey serve`` as a subprocess on
   127.0.0.1 and a free port, one worker, a fixed ``CAREKEY_SECRET_KEY``; the benchmark waits for
   ``/healthz``.
3. **Sign-in.** The seeded administrator signs in like a browser would (httpx with cookies):
   password, then the TOTP set-up page, whose secret gives the code.
4. **Requests.** For each main page, a few warm-up requests, then ``requests_per_page``
   sequential ``GET`` requests over one keep-alive connection, each timed from sending to the last
   byte of the body. p50 and p95 per page; the target is p95 ≤ 200 ms.

The CLI ends with one JSON line ``{"p95_ms": {...}, "p50_ms": {...}, "target_ms": 200,
"all_within_target": ...}``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import random
import re
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Final

import httpx
import pyotp
import typer
from rich.console import Console
from sqlalchemy import Engine, func, insert, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from carekey.clock import COPENHAGEN
from carekey.config import normalize_database_url
from carekey.domain import enums as e
from carekey.protocol.events import GENESIS_HASH, Event, EventKind
from carekey.seed.service import DEMO_PASSWORD, seed
from carekey.sim.server import running_server
from carekey.store import models as m
from carekey.store.db import create_db_engine
from carekey.store.migrate import upgrade

Echo = Callable[[str], None]

WEB_SECRET: Final = "carekey-web-bench-secret-0123456789abcdef"  # noqa: S105 - loopback bench
MUNICIPALITY: Final = "0101"
ADMIN_NUMBER: Final = "E00001"  # the seed makes employee 1 an administrator
TARGET_MS: Final = 200
WARMUP_REQUESTS: Final = 3

# (name in the report, path). ``{citizen}`` is the citizen with the most audit events (the report
# page and the CSV export are measured for them: "everything about this home", the export a
# municipality makes when a relative asks); ``{yesterday}`` is yesterday's date.
PAGES: Final[tuple[tuple[str, str], ...]] = (
    ("dashboard", "/dashboard"),
    ("employees", "/employees"),
    ("phones", "/phones"),
    ("citizens", "/citizens"),
    ("doors", "/doors"),
    ("audit", "/audit"),
    ("citizen_report", "/citizens/{citizen}/report"),
    ("audit_csv", "/audit.csv?citizen_id={citizen}"),
    ("work_orders", "/work-orders"),
    ("work_order", "/work-orders/{order}"),
    ("costs", "/costs?group=citizen"),
    ("citizen_timeline", "/citizens/{citizen}/timeline"),
)
# Measured and reported, but not held to the page target: bulk exports.
EXTRAS: Final[tuple[tuple[str, str], ...]] = (
    ("audit_csv_whole_day", "/audit.csv?from={yesterday}&to={yesterday}"),
)

_ACTION: Final = {
    EventKind.UNLOCKED: e.AuditAction.UNLOCKED,
    EventKind.LOCKED: e.AuditAction.LOCKED,
    EventKind.RELAY_PULSE: e.AuditAction.RELAY_PULSED,
    EventKind.AUTO_RELOCKED: e.AuditAction.AUTO_RELOCKED,
}
# Visit slots in local time (start hour, end hour) and how many visits a citizen's care plan has.
_SLOTS: Final = ((7, 10), (11, 13), (15, 17), (18, 21), (21, 23))
_VISITS_PER_DAY: Final = (1, 1, 2, 2, 2, 3, 3, 4)


# --- the server ----------------------------------------------------------------------------------


@contextlib.contextmanager
def web_server(
    database_url: str,
    *,
    secret: str = WEB_SECRET,
    log_path: Path,
    workers: int = 1,
    startup_s: float = 60.0,
) -> Iterator[str]:
    """The CareKey server as a subprocess on loopback (``sim.server.running_server``)."""
    with running_server(
        database_url, secret=secret, log_path=log_path, workers=workers, startup_s=startup_s
    ) as (base_url, _pid):
        yield base_url


# --- the database --------------------------------------------------------------------------------


@contextlib.contextmanager
def fresh_database(database_url: str | None, folder: Path) -> Iterator[str]:
    """An empty database for one run: a SQLite file in ``folder`` when ``database_url`` is None,
    a new database on the PostgreSQL server of ``database_url`` (dropped afterwards), or the
    given SQLite file as it is (seeding refuses one that already holds data)."""
    if database_url is None:
        yield f"sqlite:///{folder / 'carekey-web.db'}"
        return
    url = make_url(normalize_database_url(database_url))
    if url.get_backend_name() != "postgresql":
        yield database_url
        return
    name = f"carekey_webbench_{uuid.uuid4().hex[:10]}"
    admin = create_db_engine(database_url, isolation_level="AUTOCOMMIT", pool_pre_ping=False)
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield url.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def seed_database(engine: Engine, *, profile: str = "copenhagen", secret: str = WEB_SECRET) -> None:
    """Migrate and seed an empty database."""
    upgrade(engine)
    with engine.begin() as connection:
        seed(connection, profile=profile, seed=1, secret=secret)


@dataclass
class DoorChain:
    """Where a door's event log stands after :func:`add_history`."""

    serial: str
    next_seq: int = 1
    last_hash: bytes = GENESIS_HASH


@dataclass
class History:
    """What :func:`add_history` wrote."""

    events: int = 0
    visits: int = 0
    chains: dict[int, DoorChain] = field(default_factory=dict)  # door device id -> chain head


def _day_starts(start: dt.datetime, end: dt.datetime) -> Iterator[dt.datetime]:
    day = start.astimezone(COPENHAGEN).date()
    while True:
        midnight = dt.datetime.combine(day, dt.time(), tzinfo=COPENHAGEN)
        if midnight >= end:
            return
        yield midnight
        day += dt.timedelta(days=1)


def add_history(
    engine: Engine, *, start: dt.datetime, end: dt.datetime, rng_seed: int = 7
) -> History:
    """Door activity between ``start`` and ``end``: every active citizen's visits by care workers
    of their district (entrance pulse, unlock, lock), as stored audit events.

    The events are hash-chained per door exactly as a door would chain them (``seq``,
    ``prev_hash``, ``event_hash``), so later real uploads continue the chains; they carry no
    signature (synthetic history for page load, not evidence). Doors' ``last_seen_at`` and
    ``last_event_seq`` follow the last event.
    """
    rng = random.Random(rng_seed)  # noqa: S311 - synthetic, reproducible history
    with engine.connect() as connection:
        citizens = connection.execute(
            select(
                m.Citizen.id, m.Citizen.district_id, m.Citizen.dwelling_id, m.Dwelling.entrance_id
            )
            .join(m.Dwelling, m.Dwelling.id == m.Citizen.dwelling_id)
            .where(m.Citizen.status == e.CitizenStatus.ACTIVE)
            .order_by(m.Citizen.id)
        ).all()
        doors = connection.execute(
            select(
                m.DoorDevice.id,
                m.DoorDevice.serial,
                m.DoorDevice.dwelling_id,
                m.DoorDevice.entrance_id,
            ).where(m.DoorDevice.status == e.DoorStatus.ACTIVE)
        ).all()
        workers_rows = connection.execute(
            select(m.EmployeeDistrict.district_id, m.EmployeeDistrict.employee_id)
            .join(m.EmployeeRole, m.EmployeeRole.employee_id == m.EmployeeDistrict.employee_id)
            .where(m.EmployeeRole.role == e.Role.CARE_WORKER)
            .order_by(m.EmployeeDistrict.employee_id)
        ).all()
        phone_of = dict(
            connection.execute(select(m.Phone.employee_id, m.Phone.id).order_by(m.Phone.id)).all()
        )
        municipality_id = connection.execute(select(func.min(m.Municipality.id))).scalar_one()
        starting = dict(
            connection.execute(
                select(m.AuditEvent.door_device_id, func.max(m.AuditEvent.door_seq))
                .where(m.AuditEvent.door_seq.is_not(None))
                .group_by(m.AuditEvent.door_device_id)
            ).all()
        )
    if starting:
        raise ValueError("add_history expects doors without stored events")
    home_lock = {row.dwelling_id: (row.id, row.serial) for row in doors if row.dwelling_id}
    entrance_ctl = {row.entrance_id: (row.id, row.serial) for row in doors if row.entrance_id}
    workers: dict[int, list[int]] = defaultdict(list)
    for district_id, employee_id in workers_rows:
        workers[district_id].append(employee_id)

    # Plan the visits: (door id, serial, time, kind, employee, citizen or None).
    planned: dict[int, list[tuple[dt.datetime, EventKind, int, int | None]]] = defaultdict(list)
    serial_of: dict[int, str] = {}
    history = History()
    plans = {c.id: rng.choice(_VISITS_PER_DAY) for c in citizens}
    for midnight in _day_starts(start, end):
        for citizen in citizens:
            team = workers.get(citizen.district_id)
            lock = home_lock.get(citizen.dwelling_id)
            if not team or lock is None:
                continue
            for slot in sorted(rng.sample(range(len(_SLOTS)), plans[citizen.id])):
                first, last = _SLOTS[slot]
                at = midnight + dt.timedelta(minutes=rng.randrange(first * 60, last * 60))
                stay = dt.timedelta(minutes=rng.randrange(8, 45), seconds=rng.randrange(60))
                if at < start or at + stay > end:
                    continue
                worker = rng.choice(team)
                history.visits += 1
                entrance = entrance_ctl.get(citizen.entrance_id)
                if entrance is not None:
                    serial_of[entrance[0]] = entrance[1]
                    pulse = at - dt.timedelta(seconds=rng.randrange(30, 120))
                    planned[entrance[0]].append((pulse, EventKind.RELAY_PULSE, worker, None))
                serial_of[lock[0]] = lock[1]
                closing = EventKind.AUTO_RELOCKED if rng.random() < 0.02 else EventKind.LOCKED
                planned[lock[0]] += [
                    (at, EventKind.UNLOCKED, worker, citizen.id),
                    (at + stay, closing, worker, citizen.id),
                ]

    rows: list[dict[str, Any]] = []
    last_seen: dict[int, dt.datetime] = {}
    for door_id, events in planned.items():
        chain = DoorChain(serial_of[door_id])
        for when, kind, worker, citizen_id in sorted(events, key=lambda x: x[0]):
            when = when.astimezone(dt.UTC).replace(microsecond=0)
            subject = f"e{worker}"
            event = Event(
                chain.serial.encode(), chain.next_seq, when, kind, chain.last_hash, None, subject
            )
            event_hash = event.hash
            received = min(end, when + dt.timedelta(minutes=rng.randrange(1, 40)))
            rows.append(
                {
                    "municipality_id": municipality_id,
                    "source": e.AuditSource.DOOR,
                    "action": _ACTION[kind],
                    "door_device_id": door_id,
                    "employee_id": worker,
                    "partner_staff_id": None,
                    "citizen_id": citizen_id,
                    "phone_id": phone_of.get(worker),
                    "credential_id": None,
                    "reason_code": None,
                    "occurred_at": when,
                    "received_at": received,
                    "door_seq": chain.next_seq,
                    "prev_hash": chain.last_hash,
                    "event_hash": event_hash,
                    "signature": None,
                    "raw": None,
                    "idempotency_key": None,
                    "chain_gap": False,
                    "chain_broken": False,
                }
            )
            chain = DoorChain(chain.serial, chain.next_seq + 1, event_hash)
            last_seen[door_id] = received
        history.chains[door_id] = chain
    rows.sort(key=lambda row: row["occurred_at"])
    history.events = len(rows)
    with engine.begin() as connection:
        for begin in range(0, len(rows), 5000):
            connection.execute(insert(m.AuditEvent), rows[begin : begin + 5000])
        for door_id, chain in history.chains.items():
            connection.execute(
                update(m.DoorDevice)
                .where(m.DoorDevice.id == door_id)
                .values(last_event_seq=chain.next_seq - 1, last_seen_at=last_seen[door_id])
            )
    return history


def busiest_citizen(engine: Engine) -> int:
    """The citizen with the most audit events (the report page's worst realistic case)."""
    with engine.connect() as connection:
        found = connection.execute(
            select(m.AuditEvent.citizen_id)
            .where(m.AuditEvent.citizen_id.is_not(None))
            .group_by(m.AuditEvent.citizen_id)
            .order_by(func.count().desc(), m.AuditEvent.citizen_id)
            .limit(1)
        ).scalar_one_or_none()
        if found is None:
            found = connection.execute(select(func.min(m.Citizen.id))).scalar_one()
    return int(found)


def newest_work_order(engine: Engine) -> int:
    """The newest work order (the detail page's case)."""
    with engine.connect() as connection:
        found = connection.execute(select(func.max(m.WorkOrder.id))).scalar_one_or_none()
    return int(found or 1)


# --- signing in ----------------------------------------------------------------------------------

_CSRF = re.compile(r'name="csrf-token" content="([^"]+)"')
_TOTP_SECRET = re.compile(r'data-secret="([A-Z2-7]+)"')


def csrf_of(html: str) -> str:
    """The CSRF token a page carries in its ``<meta name="csrf-token">``."""
    found = _CSRF.search(html)
    if found is None:
        raise RuntimeError("the page carries no CSRF token")
    return found.group(1)


def sign_in(
    client: httpx.Client,
    *,
    employee_number: str = ADMIN_NUMBER,
    password: str = DEMO_PASSWORD,
    municipality: str = MUNICIPALITY,
    totp_secret: str | None = None,
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
) -> str:
    """Sign in through the pages (password, then TOTP, setting it up on first use); the client
    keeps the session cookie. Returns the TOTP secret for the next sign-in."""
    page = client.get("/login")
    response = client.post(
        "/login",
        data={
            "municipality": municipality,
            "employee_number": employee_number,
            "password": password,
            "csrf_token": csrf_of(page.text),
            "next": "/",
        },
    )
    if response.status_code != 303:
        raise RuntimeError(f"sign-in refused ({response.status_code})")
    page = client.get("/login/totp")
    found = _TOTP_SECRET.search(page.text)
    if found is not None:
        totp_secret = found.group(1)
    if totp_secret is None:
        raise RuntimeError("no TOTP secret: this employee set up TOTP before")
    response = client.post(
        "/login/totp",
        data={"code": pyotp.TOTP(totp_secret).at(now()), "csrf_token": csrf_of(page.text)},
    )
    if response.status_code != 303:
        raise RuntimeError(f"TOTP refused ({response.status_code})")
    return totp_secret


# --- measuring -----------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile (0-100), interpolated linearly between the nearest ranks."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def time_page(client: httpx.Client, path: str, requests: int) -> list[float]:
    """Milliseconds for ``requests`` sequential GETs of ``path`` (after a short warm-up)."""
    timings: list[float] = []
    for index in range(WARMUP_REQUESTS + requests):
        started = time.perf_counter()
        response = client.get(path)
        body = response.read()
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200 or not body:
            raise RuntimeError(f"GET {path} answered {response.status_code}")
        if index >= WARMUP_REQUESTS:
            timings.append(elapsed)
    return timings


def run(
    *,
    database_url: str | None,
    echo: Echo = print,
    requests_per_page: int = 50,
    history_days: int = 30,
) -> dict[str, Any]:
    """Measure the main pages on the Copenhagen profile (fresh SQLite file when
    ``database_url`` is None, else a fresh database on that PostgreSQL server).

    Returns ``{"p95_ms": {page: ms}, "p50_ms": {...}, "target_ms": 200, "all_within_target":
    bool, ...}``.
    """
    if requests_per_page < 1 or history_days < 0:
        raise ValueError("requests_per_page must be positive and history_days not negative")
    with (
        tempfile.TemporaryDirectory(prefix="carekey-webbench-") as folder,
        fresh_database(database_url, Path(folder)) as url,
    ):
        engine = create_db_engine(url)
        try:
            started = time.perf_counter()
            seed_database(engine)
            now = dt.datetime.now(dt.UTC).replace(microsecond=0)
            history = add_history(engine, start=now - dt.timedelta(days=history_days), end=now)
            citizen = busiest_citizen(engine)
            order = newest_work_order(engine)
            backend = engine.dialect.name
        finally:
            engine.dispose()
        echo(
            f"{backend}: copenhagen profile, {history_days} days of door activity "
            f"({history.visits:,} visits, {history.events:,} audit events), set up in "
            f"{time.perf_counter() - started:.1f} s"
        )
        p95: dict[str, float] = {}
        p50: dict[str, float] = {}
        extra: dict[str, float] = {}
        with (
            web_server(url, log_path=Path(folder) / "server.log") as base_url,
            httpx.Client(base_url=base_url, timeout=60) as client,
        ):
            sign_in(client)
            echo(f"server {base_url}; signed in as {ADMIN_NUMBER}; {requests_per_page} GETs/page")
            yesterday = (now.astimezone(COPENHAGEN).date() - dt.timedelta(days=1)).isoformat()
            for name, template in PAGES:
                path = template.format(citizen=citizen, yesterday=yesterday, order=order)
                timings = time_page(client, path, requests_per_page)
                p50[name] = round(percentile(timings, 50), 1)
                p95[name] = round(percentile(timings, 95), 1)
                mark = "ok" if p95[name] <= TARGET_MS else "OVER TARGET"
                echo(
                    f"  {name:<15} {path:<36} p50 {p50[name]:7.1f} ms  "
                    f"p95 {p95[name]:7.1f} ms  {mark}"
                )
            for name, template in EXTRAS:
                path = template.format(citizen=citizen, yesterday=yesterday, order=order)
                timings = time_page(client, path, max(3, requests_per_page // 10))
                extra[name] = round(percentile(timings, 50), 1)
                echo(f"  {name:<15} {path:<36} p50 {extra[name]:7.1f} ms  (bulk export)")
    return {
        "p95_ms": p95,
        "p50_ms": p50,
        "target_ms": TARGET_MS,
        "all_within_target": all(v <= TARGET_MS for v in p95.values()),
        "backend": backend,
        "requests_per_page": requests_per_page,
        "audit_events": history.events,
        "exports_p50_ms": extra,
    }


def cli_command(
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            help="postgresql://user@host:port/db: en ny database på den server / a fresh database "
            "on that server (dropped afterwards); uden / without: en ny SQLite-fil / a fresh "
            "SQLite file.",
            show_default=False,
        ),
    ] = None,
    requests: Annotated[
        int, typer.Option(min=1, help="Forespørgsler pr. side / requests per page.")
    ] = 50,
    history_days: Annotated[
        int, typer.Option(min=0, help="Dages døraktivitet i loggen / days of door activity.")
    ] = 30,
) -> None:
    """Mål administrationens sider / time the administration pages; ends with one JSON line.

    Register in ``carekey.cli.main``: ``bench_app.command("web")(bench_web.cli_command)``.
    """
    console = Console()
    try:
        result = run(
            database_url=database_url,
            echo=lambda line: console.print(line, soft_wrap=True, highlight=False),
            requests_per_page=requests,
            history_days=history_days,
        )
    except (RuntimeError, ValueError, OperationalError) as exc:
        Console(stderr=True).print(f"[bold red]Fejl / error:[/] {exc}")
        raise typer.Exit(2) from exc
    print(json.dumps(result))  # the machine-readable last line


__all__ = [
    "PAGES",
    "WEB_SECRET",
    "History",
    "add_history",
    "cli_command",
    "fresh_database",
    "run",
    "seed_database",
    "sign_in",
    "web_server",
]
