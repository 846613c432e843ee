"""A whole day of home care, driven through the real server API, protocol and door firmware.

``carekey sim day --profile copenhagen`` builds a fresh database (a temporary SQLite file, or a
new ``carekey_sim_<random>`` database on the PostgreSQL server given with ``--database-url``,
dropped afterwards), migrates and seeds it, and runs the real FastAPI app in-process (over
``fastapi.testclient.TestClient``, i.e. real HTTP requests through ASGI) with a frozen clock that
the simulation moves from 06:00 through the evening and the night until 07:00 the next morning.

Phones are real :class:`~carekey.app.service.KeyApp` instances (enrolled with one-time codes from
the admin API, logged in with password and device proof, wallets, outboxes, heartbeats, uploads);
doors are the real firmware (:mod:`carekey.devices.homelock`, :mod:`carekey.devices.controller`)
reached over the in-memory :class:`~carekey.link.transport.BluetoothLink`. See
``docs/simulation.md`` for the scenario, what is sampled and how each invariant is computed.

The invariants are computed from independent evidence: the doors' own signed event logs and
flash (which denylist version a door holds, and from which log position), the server's database,
and the simulation's plan. Counters the simulation keeps itself are only used for reporting.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import heapq
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pyotp
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from carekey.app.client import AppError, ServerClient
from carekey.app.service import KeyApp
from carekey.app.wallet import Argon2Params
from carekey.auth.service import enrol_totp, next_totp_code
from carekey.clock import COPENHAGEN, UTC, FrozenClock
from carekey.config import Settings
from carekey.devices.firmware import DoorFirmware
from carekey.devices.kinds import build_door
from carekey.domain import enums as e
from carekey.doors.commissioning import DoorKeyReport, commission_doors
from carekey.keyservice import issuer as issuer_service
from carekey.link.driver import DoorEntry, PhoneDriver
from carekey.link.transport import BluetoothLink, Transport
from carekey.protocol.credential import DoorKind, SubjectType, issue_credential
from carekey.protocol.errors import ProtocolError
from carekey.protocol.events import EventKind, decode_event
from carekey.protocol.keys import DeviceKey, DoorKey
from carekey.protocol.session import Command
from carekey.protocol.windows import TimeWindow
from carekey.seed.service import DEMO_PASSWORD, PROFILES, seed
from carekey.server.app import create_app
from carekey.store import models as m
from carekey.store.db import create_db_engine
from carekey.store.migrate import upgrade

SECRET = "carekey-simulation-secret-0123456789abcdef"  # noqa: S105 - a throw-away database
PERSONAL_CODE = "2468"
# Cheap wallet key derivation for simulated phones only (a real phone uses the default,
# 3 passes over 32 MiB): the simulation stores ~1,000 wallets, and their cost is not what it
# measures. The server's own password hashing is NOT changed.
SIM_WALLET = Argon2Params(time_cost=1, memory_kib=8192)
DAY = dt.date(2026, 1, 6)  # a Tuesday in January (UTC+1)
OPERATIONS = frozenset({EventKind.UNLOCKED, EventKind.LOCKED, EventKind.RELAY_PULSE})
OPENINGS = frozenset({EventKind.UNLOCKED, EventKind.RELAY_PULSE})
LOG_READ_INTERVAL = dt.timedelta(hours=2)

Echo = Callable[[str], None]


@dataclass(frozen=True)
class Shift:
    """One shift: when its phones log in, and how long it lasts."""

    name: str
    start_hour: int
    share: float  # of the staff on duty
    visits: int  # per walked route


SHIFTS = (
    Shift("morning", 7, 0.68, 6),
    Shift("evening", 15, 0.24, 4),
    Shift("night", 23, 0.08, 2),
)


@dataclass(frozen=True)
class DayOptions:
    """What to simulate. ``employees_fraction`` scales the staff on duty (quick runs);
    ``route_fraction`` is the share of logged-in phones whose routes are walked door by door
    (None: the profile's default)."""

    profile: str = "copenhagen"
    seed: int = 1
    database_url: str | None = None
    report_dir: Path | None = None
    employees_fraction: float | None = None
    route_fraction: float | None = None
    on_duty: float = 0.75


DEFAULT_EMPLOYEES_FRACTION = {"small": 1.0, "copenhagen": 0.5}
DEFAULT_ROUTE_FRACTION = {"small": 1.0, "copenhagen": 0.5}
HEARTBEAT_EVERY_VISITS = 2  # a walking phone checks in before every 2nd visit
SYNC_EVERY_VISITS = 3  # and uploads after every 3rd


def local(hour: int, minute: int = 0, *, day: int = 0) -> dt.datetime:
    """A wall-clock time in Copenhagen on the simulated day (``day=1``: the next morning)."""
    when = dt.datetime.combine(DAY + dt.timedelta(days=day), dt.time(0), tzinfo=COPENHAGEN)
    return (when + dt.timedelta(hours=hour, minutes=minute)).astimezone(UTC)


# --- the world, as planned --------------------------------------------------------------------


@dataclass
class DoorMeta:
    """A door row that the simulation runs a firmware for."""

    device_id: int
    serial: str
    kind: str  # home_lock, entrance_controller, gate_controller
    key_seed: bytes
    battery: float
    offset_ms: int
    drift_ppm: float
    token_age: dt.timedelta


@dataclass
class CitizenDoors:
    citizen_id: int
    district_id: int
    home: str
    entrance: str | None
    gates: list[str]


@dataclass
class Visit:
    citizen: CitizenDoors
    arrive: dt.datetime
    leave: dt.datetime
    emergency: bool = False


class _Network:
    """The phone's mobile connection, which the simulation can cut."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.online = True

    def post(self, url: str, *, json: Any = None, headers: dict[str, str] | None = None) -> Any:
        if not self.online:
            raise httpx.ConnectError("ingen dækning / no coverage")
        return self.client.post(url, json=json, headers=headers)


@dataclass
class SimPhone:
    employee_id: int
    phone_id: int
    number: str
    district_id: int
    shift: Shift
    walker: bool
    net: _Network
    app: KeyApp | None = None
    visits: list[Visit] = field(default_factory=list)
    lost: bool = False
    offline: tuple[dt.datetime, dt.datetime] | None = None
    since_sync: int = 0
    visit_count: int = 0


@dataclass
class Learned:
    """A door took a newer denylist version (observed on the door's flash after a session)."""

    at: dt.datetime
    version: int
    seq: int  # the door's DENYLIST_UPDATED event


@dataclass
class DoorRun:
    """A running simulated door and what the simulation observed of it."""

    meta: DoorMeta
    firmware: DoorFirmware
    learned: list[Learned] = field(default_factory=list)
    offset_first_s: float | None = None
    battery_start: float | None = None
    read_upto: int = 0  # highest seq a phone read with READ_EVENTS
    read_by: dict[int, int] = field(default_factory=dict)  # phone id -> highest seq it read
    seqs_read: dict[int, set[int]] = field(default_factory=dict)  # phone id -> seqs it read

    def read_seqs_by_others(self, lost_phone: int) -> set[int]:
        """The sequence numbers some phone other than the lost one read from this door."""
        out: set[int] = set()
        for phone_id, seqs in self.seqs_read.items():
            if phone_id != lost_phone:
                out |= seqs
        return out

    last_read: dt.datetime | None = None


class _Tap:
    """Between a link and a door: notices when the door's denylist version changes."""

    def __init__(self, run: DoorRun, clock: FrozenClock) -> None:
        self.run = run
        self.clock = clock
        self._before = 0

    def connect(self) -> None:
        door = self.run.firmware
        if self.run.offset_first_s is None:
            now = door.clock.now()
            if now is not None:
                self.run.offset_first_s = (now - self.clock.now()).total_seconds()
        self._before = door.flash.denylist.version
        door.connect()

    def on_packet(self, packet: bytes) -> list[bytes]:
        return self.run.firmware.on_packet(packet)

    def disconnect(self) -> None:
        door = self.run.firmware
        door.disconnect()
        version = door.flash.denylist.version
        if version != self._before:
            seq = max(
                (
                    s.event.seq
                    for s in door.flash.ring
                    if s.event.kind is EventKind.DENYLIST_UPDATED
                ),
                default=door.flash.chain.next_seq - 1,
            )
            self.run.learned.append(Learned(self.clock.now(), version, seq))


@dataclass
class Revoked:
    """A revocation and what the server said about it."""

    what: str
    at: dt.datetime
    version: int
    exposed: dict[int, dt.datetime]  # door device id -> latest expiry of a revoked key
    subject: str | None = None  # for a phone block: the subject whose keys died with it
    door: str | None = None  # for a withdrawn door


# --- the simulation ---------------------------------------------------------------------------


class DaySimulation:
    """One simulated day. Build it with options, then :meth:`run` it."""

    def __init__(self, options: DayOptions, *, echo: Echo | None = None) -> None:
        if options.profile not in PROFILES:
            raise ValueError(f"ukendt profil / unknown profile {options.profile!r}")
        self.options = options
        self.echo = echo or (lambda _line: None)
        self.rng = random.Random(options.seed)  # noqa: S311 - a reproducible scenario
        self.clock = FrozenClock(local(6))
        self.route_fraction = (
            options.route_fraction
            if options.route_fraction is not None
            else DEFAULT_ROUTE_FRACTION.get(options.profile, 1.0)
        )
        self.employees_fraction = (
            options.employees_fraction
            if options.employees_fraction is not None
            else DEFAULT_EMPLOYEES_FRACTION.get(options.profile, 1.0)
        )
        self.on_duty = 0
        self.admin: dict[str, str] = {}
        self.doors: dict[str, DoorMeta] = {}
        self.runs: dict[str, DoorRun] = {}
        self.phones: list[SimPhone] = []
        self.queue: list[tuple[dt.datetime, int, str, Callable[[], None]]] = []
        self._seq = 0
        self.tally: Counter[str] = Counter()
        self.refusals: Counter[str] = Counter()
        self.revocations: list[Revoked] = []
        self.phases: dict[str, float] = {}
        self.partner_subjects: set[str] = set()
        self.scenario: dict[str, Any] = {}

    # --- queue ---

    def at(self, when: dt.datetime, label: str, action: Callable[[], None]) -> None:
        """Schedule ``action`` at simulated time ``when``."""
        self._seq += 1
        heapq.heappush(self.queue, (when, self._seq, label, action))

    # --- setup ---

    def _database(self, stack: contextlib.ExitStack) -> Engine:
        url = self.options.database_url
        if url is None:
            engine = create_db_engine(f"sqlite:///{self.workdir / 'carekey.db'}")
            stack.callback(engine.dispose)
            return engine
        admin = create_db_engine(url, isolation_level="AUTOCOMMIT")
        if admin.dialect.name != "postgresql":
            admin.dispose()
            engine = create_db_engine(url)
            stack.callback(engine.dispose)
            return engine
        name = f"carekey_sim_{uuid.uuid4().hex[:12]}"
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))

        def drop() -> None:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()

        stack.callback(drop)
        sim_url = make_url(admin.url).set(database=name).render_as_string(hide_password=False)
        engine = create_db_engine(sim_url)
        stack.callback(engine.dispose)
        return engine

    def _load_world(self, engine: Engine) -> None:
        with Session(engine) as s:
            staff = s.execute(
                select(
                    m.Employee.id,
                    m.Employee.employee_number,
                    m.Phone.id.label("phone_id"),
                    m.EmployeeDistrict.district_id,
                )
                .join(m.EmployeeRole, m.EmployeeRole.employee_id == m.Employee.id)
                .join(m.EmployeeDistrict, m.EmployeeDistrict.employee_id == m.Employee.id)
                .join(m.Phone, m.Phone.employee_id == m.Employee.id)
                .where(m.EmployeeRole.role.in_([e.Role.CARE_WORKER, e.Role.DISTRICT_LEAD]))
                .order_by(m.Employee.id, m.EmployeeDistrict.district_id)
            ).all()
            self.staff: dict[int, tuple[str, int, int]] = {}
            for row in staff:
                self.staff.setdefault(row.id, (row.employee_number, row.phone_id, row.district_id))
            rows = s.execute(
                select(
                    m.Citizen.id,
                    m.Citizen.district_id,
                    m.Dwelling.entrance_id,
                    m.Entrance.property_id,
                    m.DoorDevice.serial,
                )
                .join(m.Dwelling, m.Dwelling.id == m.Citizen.dwelling_id)
                .join(m.Entrance, m.Entrance.id == m.Dwelling.entrance_id)
                .join(m.DoorDevice, m.DoorDevice.dwelling_id == m.Dwelling.id)
                .order_by(m.Citizen.id)
            ).all()
            devices = s.execute(
                select(
                    m.DoorDevice.id,
                    m.DoorDevice.serial,
                    m.DoorDevice.kind,
                    m.DoorDevice.entrance_id,
                    m.DoorDevice.battery_pct,
                    m.DoorDevice.clock_offset_ms,
                    m.Gate.property_id,
                ).outerjoin(m.Gate, m.Gate.id == m.DoorDevice.gate_id)
            ).all()
            self.device_rows = {d.serial: d for d in devices}
            entrance_door = {d.entrance_id: d.serial for d in devices if d.entrance_id}
            gates: dict[int, list[str]] = {}
            for d in devices:
                if d.property_id is not None:
                    gates.setdefault(d.property_id, []).append(d.serial)
            self.citizens = {
                r.id: CitizenDoors(
                    r.id,
                    r.district_id,
                    r.serial,
                    entrance_door.get(r.entrance_id),
                    sorted(gates.get(r.property_id, [])),
                )
                for r in rows
            }
            self.by_district: dict[int, list[CitizenDoors]] = {}
            for c in self.citizens.values():
                self.by_district.setdefault(c.district_id, []).append(c)
            self.admin_number = (
                s.execute(
                    select(m.Employee.employee_number)
                    .join(m.EmployeeRole, m.EmployeeRole.employee_id == m.Employee.id)
                    .where(m.EmployeeRole.role == e.Role.ADMINISTRATOR)
                    .order_by(m.Employee.id)
                )
                .scalars()
                .first()
            )
            # The office administrator's authenticator app: the API asks for a TOTP code.
            self.admin_totp = pyotp.random_base32()
            self._totp_step: int | None = None
            administrator = s.execute(
                select(m.Employee).where(m.Employee.employee_number == self.admin_number)
            ).scalar_one()
            enrol_totp(s, employee=administrator, secret_b32=self.admin_totp, secret=SECRET)
            s.commit()
            self.keyring = issuer_service.keyring(s, municipality_id=1)
            self.issuer_key = issuer_service.active_issuer_key(s, municipality_id=1, secret=SECRET)
            self.partner_rows = s.execute(
                select(
                    m.PartnerStaff.id,
                    m.PartnerStaff.company_id,
                    m.Agreement.id.label("agreement_id"),
                    m.PartnerCompany.category,
                )
                .join(m.PartnerCompany, m.PartnerCompany.id == m.PartnerStaff.company_id)
                .join(m.Agreement, m.Agreement.partner_company_id == m.PartnerCompany.id)
                .order_by(m.PartnerStaff.id, m.Agreement.id)
            ).all()
            self.agreement_doors: dict[int, list[str]] = {}
            for a in s.execute(
                select(m.AgreementDoor.agreement_id, m.DoorDevice.serial).join(
                    m.DoorDevice, m.DoorDevice.id == m.AgreementDoor.door_device_id
                )
            ).all():
                self.agreement_doors.setdefault(a.agreement_id, []).append(a.serial)
            self.windows: dict[int, list[tuple[int, int, int]]] = {}
            for w in s.execute(select(m.AgreementWindow)).scalars():
                self.windows.setdefault(w.agreement_id, []).append(
                    (w.weekday, w.start_minute, w.end_minute)
                )

    def _door(self, serial: str) -> DoorMeta:
        meta = self.doors.get(serial)
        if meta is None:
            row = self.device_rows[serial]
            key_seed = hashlib.sha256(
                f"carekey-sim-door\0{self.options.seed}\0{serial}".encode()
            ).digest()
            drift = self.rng.uniform(-400, 400) if self.rng.random() < 0.1 else 0.0
            meta = DoorMeta(
                device_id=row.id,
                serial=serial,
                kind=row.kind.value,
                key_seed=key_seed,
                battery=float(row.battery_pct or 100),
                offset_ms=int(row.clock_offset_ms or 0),
                drift_ppm=drift,
                token_age=dt.timedelta(hours=self.rng.uniform(1, 40)),
            )
            self.doors[serial] = meta
        return meta

    def _plan(self) -> None:
        """Who works which shift, whose route is walked, and the day's incidents."""
        rng = self.rng
        ids = sorted(self.staff)
        duty = max(1, round(len(ids) * self.options.on_duty))
        self.on_duty = duty
        simulated = max(3, round(duty * self.employees_fraction))
        on_duty = sorted(rng.sample(ids, min(simulated, len(ids))))
        rng.shuffle(on_duty)
        start = 0
        for index, shift in enumerate(SHIFTS):
            count = (
                len(on_duty) - start
                if index == len(SHIFTS) - 1
                else max(1, round(len(on_duty) * shift.share))
            )
            for employee_id in sorted(on_duty[start : start + count]):
                number, phone_id, district = self.staff[employee_id]
                phone = SimPhone(
                    employee_id,
                    phone_id,
                    number,
                    district,
                    shift,
                    walker=rng.random() < self.route_fraction,
                    net=_Network(self.client),
                )
                self.phones.append(phone)
            start += count
        for phone in self.phones:
            if not phone.walker:
                continue
            citizens = self.by_district[phone.district_id]
            chosen = rng.sample(citizens, min(phone.shift.visits, len(citizens)))
            begin = local(phone.shift.start_hour) + dt.timedelta(minutes=20)
            slot = dt.timedelta(hours=7) / max(1, len(chosen))
            for i, citizen in enumerate(chosen):
                arrive = begin + slot * i + dt.timedelta(minutes=rng.uniform(0, 20))
                leave = arrive + dt.timedelta(minutes=rng.uniform(10, 35))
                phone.visits.append(Visit(citizen, arrive, leave))
        walkers = [p for p in self.phones if p.walker and p.visits]
        morning = [p for p in walkers if p.shift.name == "morning"]
        # Some phones lose coverage for an hour and upload later.
        for phone in rng.sample(walkers, max(1, len(walkers) // 20)):
            begin = phone.visits[0].arrive + dt.timedelta(minutes=rng.uniform(0, 120))
            phone.offline = (begin, begin + dt.timedelta(hours=1))
        # The lost phone: a morning walker with visits before and after 10:00.
        candidates = [
            p
            for p in morning
            if any(v.arrive < local(10) for v in p.visits)
            and any(v.arrive > local(10, 30) for v in p.visits)
        ]
        self.lost = rng.choice(candidates or morning)
        self.lost.offline = None
        # The removed citizen: on a morning route before noon (so keys to it are out there).
        before_noon = [v.citizen for p in morning for v in p.visits if v.arrive < local(12)]
        self.removed = rng.choice(before_noon)
        # A later visit to the removed citizen by a morning phone, after the removal.
        late = [
            p for p in morning if p is not self.lost and p.district_id == self.removed.district_id
        ]
        if late:
            phone = rng.choice(late)
            phone.visits.append(Visit(self.removed, local(13, 30), local(13, 50)))
            phone.visits.sort(key=lambda v: v.arrive)
        # The emergency key: a morning walker, one citizen in another district, at 11:30.
        helper = rng.choice([p for p in morning if p is not self.lost])
        others = [
            c
            for d, cs in self.by_district.items()
            if d != helper.district_id
            for c in cs
            if c is not self.removed
        ]
        self.emergency = (helper, rng.choice(others))
        helper.visits.append(Visit(self.emergency[1], local(11, 45), local(12, 5), emergency=True))
        helper.visits.sort(key=lambda v: v.arrive)
        for phone in walkers:
            for visit in phone.visits:
                for serial in [visit.citizen.home, visit.citizen.entrance, *visit.citizen.gates]:
                    if serial:
                        self._door(serial)
        # Batteries: a few locks start just above the low mark, one just above the reserve.
        homes = sorted(s for s, d in self.doors.items() if d.kind == "home_lock")
        for serial in rng.sample(homes, max(2, len(homes) // 100)):
            self.doors[serial].battery = 20.02
        self.empty_lock = rng.choice(homes)
        self.doors[self.empty_lock].battery = 3.02
        # One lock loses power at 09:00: one visited later in the morning.
        later = [v.citizen.home for p in morning for v in p.visits if v.arrive > local(9, 30)]
        self.power_lock = rng.choice(later or homes)
        self.scenario = {
            "lost_phone": self.lost.phone_id,
            "removed_citizen": self.removed.citizen_id,
            "emergency_key": [self.emergency[0].employee_id, self.emergency[1].citizen_id],
            "power_loss_lock": self.power_lock,
            "empty_battery_lock": self.empty_lock,
        }
        self._plan_partners()

    def _plan_partners(self) -> None:
        """Two staff per partner company open stairwell doors and gates of their agreements
        inside the agreement's window today (or early tomorrow for newspapers)."""
        rng = self.rng
        by_company: dict[int, list[Any]] = {}
        for row in self.partner_rows:
            by_company.setdefault(row.company_id, []).append(row)
        self.partner_plan: list[tuple[Any, list[str], TimeWindow, int]] = []
        routed_entrances = {s for s, d in self.doors.items() if d.kind != "home_lock"}
        for rows in by_company.values():
            staff_ids = sorted({r.id for r in rows})[:2]
            for staff_id in staff_ids:
                agreement = rng.choice([r for r in rows if r.id == staff_id])
                doors = self.agreement_doors.get(agreement.agreement_id, [])
                windows = self.windows.get(agreement.agreement_id, [])
                if not doors or not windows:
                    continue
                preferred = [d for d in doors if d in routed_entrances] or doors
                chosen = rng.sample(preferred, min(4, len(preferred)))
                # Today's window, or the next day's if today has none.
                day = 0 if any(w[0] == DAY.weekday() for w in windows) else 1
                weekday = (DAY.weekday() + day) % 7
                window = next((w for w in windows if w[0] == weekday), None)
                if window is None:
                    continue
                if window[1] < 6 * 60:  # a night/morning window: tomorrow morning
                    day = 1
                    weekday = (DAY.weekday() + 1) % 7
                    window = next((w for w in windows if w[0] == weekday), window)
                for serial in chosen:
                    self._door(serial)
                self.partner_plan.append((agreement, chosen, TimeWindow(*window), day))

    # --- server actions ---

    def _totp_code(self) -> str:
        """The simulated administrator's authenticator app (set up in ``_enrol_admin_totp``)."""
        code, self._totp_step = next_totp_code(self.admin_totp, self.clock.now(), self._totp_step)
        return code

    def _admin_headers(self) -> dict[str, str]:
        response = self.client.post(
            "/api/v1/auth/token",
            json={
                "municipality": "0101",
                "employee_number": self.admin_number,
                "password": DEMO_PASSWORD,
                "totp_code": self._totp_code(),
            },
        )
        response.raise_for_status()
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    def _admin(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self.client.post(f"/api/v1/admin{path}", json=body, headers=self.admin)
        if response.status_code == 401:  # the office signs in again after 8 hours
            self.admin = self._admin_headers()
            response = self.client.post(f"/api/v1/admin{path}", json=body, headers=self.admin)
        if response.status_code >= 400:
            raise RuntimeError(f"{path}: {response.status_code} {response.text}")
        result: dict[str, Any] = response.json()
        return result

    def _commission(self, engine: Engine) -> None:
        """Commission the simulated doors with the keys their firmware will hold, before anyone
        logs in (phones get the public keys in their bundles)."""
        reports = [
            DoorKeyReport(d.device_id, DoorKey.from_seed(d.key_seed).public.key.raw)
            for d in self.doors.values()
        ]
        with Session(engine) as s, s.begin():
            commission_doors(s, doors=reports, now=self.clock.now(), reason="carekey sim day")

    def run_door(self, serial: str) -> DoorRun:
        """The running firmware of a door, started when a phone first reaches it."""
        run = self.runs.get(serial)
        if run is None:
            meta = self.doors[serial]
            firmware = build_door(
                serial=serial,
                kind=meta.kind,
                keyring=self.keyring,
                clock=self.clock,
                door_key=DoorKey.from_seed(meta.key_seed),
                synced=False,
                drift_ppm=meta.drift_ppm,
            )
            now = self.clock.now()
            drifted = (now - local(6)) * (meta.drift_ppm * 1e-6)
            firmware.clock.set(now + dt.timedelta(milliseconds=meta.offset_ms) + drifted)
            firmware.flash.last_token_time = now - meta.token_age
            if firmware.battery is not None:
                firmware.battery.percent = meta.battery
            run = DoorRun(meta, firmware, battery_start=meta.battery)
            self.runs[serial] = run
        return run

    def _transport(self, door_id: str) -> Transport:
        if door_id not in self.doors:
            raise AppError(
                "app.door_unreachable",
                "Døren svarer ikke. Gå tættere på og prøv igen.",
                "The door does not answer. Move closer and try again.",
            )
        return BluetoothLink(_Tap(self.run_door(door_id), self.clock)).connect()

    # --- phones ---

    def _enrol_and_login(self, phone: SimPhone) -> None:
        code = self._admin(f"/phones/{phone.phone_id}/enrolment-code")["code"]
        app = KeyApp(
            self.workdir / "phones" / str(phone.phone_id),
            server=ServerClient(phone.net),
            clock=self.clock,
            transports=self._transport,
            wallet_options={"argon2": SIM_WALLET},
        )
        app.enrol(code)
        phone.app = app
        app.login(phone.number, DEMO_PASSWORD, PERSONAL_CODE)
        self.tally["logins"] += 1

    def _online(self, phone: SimPhone) -> bool:
        if phone.lost:
            return False
        window = phone.offline
        now = self.clock.now()
        phone.net.online = not (window is not None and window[0] <= now < window[1])
        return phone.net.online

    def _checkin(self, phone: SimPhone, *, sync: bool) -> None:
        app = phone.app
        if app is None or phone.lost:
            return
        self._online(phone)
        try:
            status = app.heartbeat()
        except AppError as exc:
            self.tally[f"heartbeat_error:{exc.code}"] += 1
            return
        self.tally["heartbeats"] += 1
        self.tally[f"heartbeat_{status.lower()}"] += 1
        if sync and status not in ("OFFLINE", "WIPE", "NO_SESSION"):
            self.tally["uploaded_items"] += app.sync()
            phone.since_sync = 0

    def _tap_door(self, phone: SimPhone, serial: str, command: Command) -> bool:
        app = phone.app
        assert app is not None
        self.tally["door_taps"] += 1
        try:
            outcome = app.open(serial) if command is Command.UNLOCK else app.lock_door(serial)
        except AppError as exc:
            self.refusals[exc.code] += 1
            return False
        if not outcome.ok:
            self.refusals[outcome.code] += 1
        return outcome.ok

    def _read_log(self, phone: SimPhone, serial: str) -> None:
        """Read the door's signed log (READ_EVENTS) with the app's own keys, counter and outbox,
        as the key app should when leaving (not yet in ``KeyApp``; see docs/simulation.md)."""
        app = phone.app
        assert app is not None
        run = self.runs.get(serial)
        if run is None:
            return
        try:
            bundle = app._unlocked_bundle()
            keystore, _, _ = app._require_enrolled()
            entry = app._entry(bundle, serial)
        except AppError:
            return
        # Where this phone starts: after what the server had when the bundle was issued, or what
        # this phone has read itself since, whichever is later. Not what other phones read: a
        # phone that read the log and was lost before uploading must not hide those events.
        server_seq = next(
            (int(d.get("last_seq") or 0) for d in bundle["doors"] if d["door_id"] == serial), 0
        )
        start = max(server_seq, run.read_by.get(phone.phone_id, 0)) + 1
        driver = app._driver(bundle, keystore)
        app.state.counter += 1
        app._save_state()
        driver.counter = app.state.counter - 1
        transport = app.transports(serial)
        try:
            result = driver.run(
                transport, entry, Command.READ_EVENTS, {"from_seq": start, "limit": 64}
            )
        except ProtocolError as exc:
            self.refusals[f"read:{exc.code}"] += 1
            return
        finally:
            transport.close()
        app.state.counter = max(app.state.counter, driver.counter)
        app._save_state()
        self.tally["log_reads"] += 1
        if not result.ok:
            self.refusals[f"read:{result.response.result}"] += 1
            return
        events = [bytes(x) for x in result.response.data.get("events", [])]  # type: ignore[attr-defined]
        if events:
            app.outbox.add_door_events(serial, events)
            upto = max(
                decode_event(raw, door_key=run.firmware.door_key.public).event.seq for raw in events
            )
            run.read_by[phone.phone_id] = max(run.read_by.get(phone.phone_id, 0), upto)
            run.seqs_read.setdefault(phone.phone_id, set()).update(
                decode_event(raw, door_key=run.firmware.door_key.public).event.seq for raw in events
            )
            run.read_upto = max(
                run.read_upto,
                max(
                    decode_event(raw, door_key=run.firmware.door_key.public).event.seq
                    for raw in events
                ),
            )
        run.last_read = self.clock.now()

    def _arrive(self, phone: SimPhone, visit: Visit) -> None:
        if phone.app is None or phone.lost:
            return
        online = self._online(phone)
        phone.visit_count += 1
        if online and phone.visit_count % HEARTBEAT_EVERY_VISITS == 1:
            self._checkin(phone, sync=False)
        self.tally["visits"] += 1
        citizen = visit.citizen
        for serial in [*citizen.gates[:1], citizen.entrance]:
            if serial and not self._tap_door(phone, serial, Command.UNLOCK):
                self.tally["visit_outer_door_refused"] += 1
        if self._tap_door(phone, citizen.home, Command.UNLOCK):
            self.tally["visits_home_opened"] += 1
            self.at(visit.leave, "leave", lambda: self._leave(phone, visit))
        else:
            self.tally["visits_home_refused"] += 1

    def _leave(self, phone: SimPhone, visit: Visit) -> None:
        if phone.app is None or phone.lost:
            return
        self._tap_door(phone, visit.citizen.home, Command.LOCK)
        self._read_log(phone, visit.citizen.home)
        for serial in [visit.citizen.entrance, *visit.citizen.gates[:1]]:
            run = self.runs.get(serial) if serial else None
            if run is not None and (
                run.last_read is None or self.clock.now() - run.last_read >= LOG_READ_INTERVAL
            ):
                self._read_log(phone, run.meta.serial)
        phone.since_sync += 1
        if phone.since_sync >= SYNC_EVERY_VISITS and self._online(phone):
            self.tally["uploaded_items"] += phone.app.sync()
            phone.since_sync = 0

    def _logout(self, phone: SimPhone) -> None:
        if phone.app is None or phone.lost:
            return
        phone.offline = None
        self._online(phone)
        phone.app.logout()
        self.tally["logouts"] += 1

    # --- incidents ---

    def _lose_phone(self) -> None:
        self.lost.lost = True
        self.lost.net.online = False

    def _block_lost_phone(self) -> None:
        result = self._admin(
            f"/phones/{self.lost.phone_id}/block",
            {"reason": "Mistet i bussen / lost on the bus", "lost": True},
        )
        exposed = {
            d["door_device_id"]: dt.datetime.fromisoformat(d["until"])
            for d in result["exposed_doors"]
        }
        self.revocations.append(
            Revoked(
                "phone_lost",
                self.clock.now(),
                int(result["denylist_version"]),
                exposed,
                subject=f"e{self.lost.employee_id}",
            )
        )
        # Whoever found the phone (unlocked, kept offline) tries the doors it has keys to.
        when = local(10, 15)
        for visit in self.lost.visits:
            for serial in (visit.citizen.entrance, visit.citizen.home):
                if serial:
                    self.at(when, "finder", partial(self._finder_try, serial))
                    when += dt.timedelta(minutes=7)

    def _finder_try(self, serial: str) -> None:
        app = self.lost.app
        assert app is not None
        self.tally["finder_attempts"] += 1
        try:
            outcome = app.open(serial)
        except AppError as exc:
            self.refusals[f"finder:{exc.code}"] += 1
            return
        self.tally["finder_openings_reported_by_app" if outcome.ok else "finder_refused"] += 1

    def _grant_emergency(self) -> None:
        helper, citizen = self.emergency
        self._admin(
            "/emergency-keys",
            {
                "employee_id": helper.employee_id,
                "citizen_id": citizen.citizen_id,
                "reason": "Vikar dækker en borger uden for distriktet / substitute cover",
                "minutes": 120,
            },
        )
        self.tally["emergency_keys"] += 1

    def _remove_citizen(self) -> None:
        result = self._admin(
            f"/citizens/{self.removed.citizen_id}/remove",
            {"reason": "Flyttet på plejehjem / moved to a nursing home"},
        )
        exposed = {
            d["door_device_id"]: dt.datetime.fromisoformat(d["until"])
            for d in result["exposed_doors"]
        }
        self.revocations.append(
            Revoked(
                "citizen_removed",
                self.clock.now(),
                int(result["denylist_version"]),
                exposed,
                door=self.removed.home,
            )
        )

    def _power_loss(self) -> None:
        self.run_door(self.power_lock).firmware.power_loss()
        self.tally["power_losses"] += 1

    # --- partners ---

    def _partner_round(
        self, agreement: Any, doors: list[str], window: TimeWindow, day: int
    ) -> None:
        start = local(0, window.start_minute, day=day)
        end = min(local(0, window.end_minute, day=day), start + dt.timedelta(hours=9))
        key = DeviceKey.generate()
        subject = f"p{agreement.id}"
        self.partner_subjects.add(subject)
        kinds = {
            DoorKind.GATE if self.doors[s].kind == "gate_controller" else DoorKind.ENTRANCE
            for s in doors
        }
        by_kind: dict[DoorKind, list[str]] = {}
        for s in doors:
            k = DoorKind.GATE if self.doors[s].kind == "gate_controller" else DoorKind.ENTRANCE
            by_kind.setdefault(k, []).append(s)
        credentials: dict[str, bytes] = {}
        for kind, serials in by_kind.items():
            raw = issue_credential(
                issuer_key=self.issuer_key,
                subject=subject,
                subject_type=SubjectType.PARTNER,
                device_key=key.public,
                kinds=kind,
                not_before=start,
                expires=end,
                serial=int(start.timestamp()) + len(credentials),
                denylist_version=0,
                doors=[s.encode() for s in serials],
                windows=[window],
                time_zone="Europe/Copenhagen",
            )
            credentials.update(dict.fromkeys(serials, raw))
        del kinds
        driver = PhoneDriver(device_key=key)
        span = (end - start) / (len(doors) + 2)
        for i, serial in enumerate(doors):
            when = start + span * (i + 1)
            self.at(
                when,
                "partner",
                partial(self._partner_open, driver, serial, credentials[serial]),
            )
        # The same partner phone at a home lock in one of these buildings: must be refused.
        homes = [
            c.home for c in self.citizens.values() if c.entrance in doors and c.home in self.doors
        ]
        if homes:
            home, first = homes[0], next(iter(credentials.values()))
            when = start + span * (len(doors) + 1)
            self.at(
                when,
                "partner_home",
                partial(self._partner_open, driver, home, first, home=True),
            )

    def _partner_open(
        self, driver: PhoneDriver, serial: str, credential: bytes, *, home: bool = False
    ) -> None:
        run = self.run_door(serial)
        entry = DoorEntry(serial.encode(), run.firmware.door_key.public, credential)
        link = BluetoothLink(_Tap(run, self.clock)).connect()
        self.tally["partner_home_attempts" if home else "partner_attempts"] += 1
        try:
            result = driver.run(link, entry, Command.UNLOCK)
        except ProtocolError as exc:
            self.refusals[f"partner:{exc.code}"] += 1
            return
        finally:
            link.close()
        if result.ok:
            self.tally["partner_openings_reported"] += 1
        else:
            self.refusals[f"partner:{result.response.result}"] += 1

    # --- the day ---

    def _schedule(self) -> None:
        rng = self.rng
        for phone in self.phones:
            login = local(phone.shift.start_hour) - dt.timedelta(minutes=rng.uniform(0, 30))
            self.at(login, "login", partial(self._enrol_and_login, phone))
            for visit in phone.visits:
                self.at(visit.arrive, "visit", partial(self._arrive, phone, visit))
            if not phone.visits:
                mid = local(phone.shift.start_hour + 4) + dt.timedelta(minutes=rng.uniform(0, 60))
                self.at(mid, "heartbeat", partial(self._checkin, phone, sync=True))
            if phone.offline is not None:
                back = partial(self._checkin, phone, sync=True)
                self.at(phone.offline[1], "back_online", back)
            end = local(phone.shift.start_hour + 8) + dt.timedelta(minutes=rng.uniform(0, 20))
            self.at(end, "logout", partial(self._logout, phone))
        self.at(local(9), "power_loss", self._power_loss)
        self.at(local(10), "phone_lost", self._lose_phone)
        self.at(local(10, 5), "phone_blocked", self._block_lost_phone)
        self.at(local(11, 30), "emergency_key", self._grant_emergency)
        self.at(local(12), "citizen_removed", self._remove_citizen)
        for agreement, doors, window, day in self.partner_plan:
            self.at(
                local(0, window.start_minute, day=day),
                "partner_round",
                partial(self._partner_round, agreement, doors, window, day),
            )

    def _drain(self, progress: Callable[[int, int], None]) -> None:
        total = len(self.queue)
        done = 0
        while self.queue:
            when, _, _label, action = heapq.heappop(self.queue)
            if when > self.clock.now():
                self.clock.set(when)
            action()
            done += 1
            if done % 200 == 0 or not self.queue:
                progress(done, max(total, done + len(self.queue)))
        # Past the last shift: auto-relocks and relay releases due by now happen.
        self.clock.set(max(self.clock.now(), local(7, day=1)))
        for run in self.runs.values():
            run.firmware.tick()

    def run(self, progress: Callable[[str, int, int], None] | None = None) -> dict[str, Any]:
        """Run the day and return the summary (the JSON line)."""
        report = progress or (lambda _phase, _done, _total: None)
        started = time.perf_counter()
        with contextlib.ExitStack() as stack:
            self.workdir = Path(tempfile.mkdtemp(prefix="carekey-sim-phones-", dir=_ram_dir()))
            stack.callback(shutil.rmtree, self.workdir, True)
            mark = time.perf_counter()
            engine = self._database(stack)
            upgrade(engine)
            with engine.begin() as connection:
                seed(
                    connection, profile=self.options.profile, seed=self.options.seed, secret=SECRET
                )
            self._load_world(engine)
            settings = Settings(secret_key=SECRET)
            self.client = stack.enter_context(
                TestClient(create_app(settings, engine=engine, clock=self.clock))
            )
            self.admin = self._admin_headers()
            self._plan()
            self._commission(engine)
            self.phases["setup_s"] = round(time.perf_counter() - mark, 2)
            self.echo(
                f"Dagen planlagt / day planned: {len(self.phones)} telefoner / phones, "
                f"{sum(len(p.visits) for p in self.phones)} besøg / visits, "
                f"{len(self.doors)} døre / doors"
            )
            mark = time.perf_counter()
            self._schedule()
            self._drain(lambda done, total: report("day", done, total))
            self.phases["day_s"] = round(time.perf_counter() - mark, 2)
            mark = time.perf_counter()
            summary = self._check(engine)
            self.phases["check_s"] = round(time.perf_counter() - mark, 2)
            summary["phases"] = self.phases
            summary["wall_s"] = round(time.perf_counter() - started, 2)
            if self.options.report_dir is not None:
                from carekey.sim.report import write_report

                mark = time.perf_counter()
                write_report(self.options.report_dir, summary, self.details)
                self.phases["report_s"] = round(time.perf_counter() - mark, 2)
        summary["wall_s"] = round(time.perf_counter() - started, 2)
        return summary

    # --- the invariants ---

    def _check(self, engine: Engine) -> dict[str, Any]:
        ids = {run.meta.device_id: serial for serial, run in self.runs.items()}
        stored: set[tuple[str, int]] = set()
        with Session(engine) as s:
            id_list = list(ids)
            for i in range(0, len(id_list), 500):
                for row in s.execute(
                    select(m.AuditEvent.door_device_id, m.AuditEvent.door_seq)
                    .where(m.AuditEvent.door_device_id.in_(id_list[i : i + 500]))
                    .where(m.AuditEvent.door_seq.is_not(None))
                ).all():
                    stored.add((ids[row.door_device_id], int(row.door_seq)))
            flagged = s.execute(
                select(func.count())
                .select_from(m.AuditEvent)
                .where(m.AuditEvent.chain_gap.is_(True) | m.AuditEvent.chain_broken.is_(True))
            ).scalar_one()
        lost_subject = f"e{self.lost.employee_id}"
        events_total = events_lost = awaiting = dropped = 0
        partner_home_openings = non_staff_home_openings = 0
        openings_per_hour: Counter[int] = Counter()
        lost_examples: list[str] = []
        for serial, run in self.runs.items():
            door = run.firmware
            dropped += door.flash.events_dropped
            for signed in door.flash.ring:
                ev = signed.event
                events_total += 1
                by_phone = ev.kind in OPERATIONS or (
                    ev.kind is EventKind.REFUSED and ev.subject is not None
                )
                carried = ev.seq in run.read_seqs_by_others(self.lost.phone_id) or (
                    by_phone
                    and ev.subject is not None
                    and ev.subject.startswith("e")
                    and ev.subject != lost_subject
                )
                if (serial, ev.seq) not in stored:
                    if carried:
                        events_lost += 1
                        if len(lost_examples) < 5:
                            lost_examples.append(
                                f"{serial}#{ev.seq}:{ev.kind.name}:{ev.subject}:{ev.time}"
                            )
                    else:
                        awaiting += 1
                if ev.kind in OPENINGS and ev.time is not None:
                    openings_per_hour[ev.time.astimezone(COPENHAGEN).hour] += 1
                if door.kind is DoorKind.HOME and ev.kind is EventKind.UNLOCKED:
                    subject = ev.subject or ""
                    if subject in self.partner_subjects or subject.startswith("p"):
                        partner_home_openings += 1
                    if not subject.startswith("e"):
                        non_staff_home_openings += 1
        # Revocations: when each door learned the version that carries it (door's flash).
        after_reached = 0
        exposures: list[dict[str, Any]] = []
        serial_of = {d.device_id: s for s, d in self.doors.items()}
        for rev in self.revocations:
            for device_id, until in rev.exposed.items():
                door_serial = serial_of.get(device_id)
                door_run = self.runs.get(door_serial) if door_serial else None
                learned = (
                    next((x for x in door_run.learned if x.version >= rev.version), None)
                    if door_run
                    else None
                )
                reached = learned.at if learned else None
                end = min(reached, until) if reached else until  # keys die by themselves
                exposures.append(
                    {
                        "revocation": rev.what,
                        "door": door_serial or str(device_id),
                        "simulated": door_run is not None,
                        "reached": reached is not None,
                        "exposure_s": max(0.0, (end - rev.at).total_seconds()),
                    }
                )
                if door_run is None or learned is None:
                    continue
                for signed in door_run.firmware.flash.ring:
                    ev = signed.event
                    if ev.seq <= learned.seq or ev.kind not in OPENINGS:
                        continue
                    if rev.subject is not None and ev.subject == rev.subject:
                        after_reached += 1
                    if rev.door is not None and rev.door == door_serial and ev.subject:
                        after_reached += 1
        reached_s = [x["exposure_s"] for x in exposures if x["reached"]]
        batteries = [
            (r.battery_start or 0.0, r.firmware.battery.percent)
            for r in self.runs.values()
            if r.firmware.battery is not None
        ]
        offsets = [
            (r.offset_first_s, _offset(r.firmware.clock.now(), self.clock.now()))
            for r in self.runs.values()
        ]
        sessions = sum(r.firmware.stats.sessions for r in self.runs.values())
        walkers = [p for p in self.phones if p.walker and p.visits]
        summary: dict[str, Any] = {
            "profile": self.options.profile,
            "seed": self.options.seed,
            "database": engine.dialect.name,
            "employees_on_duty": self.on_duty,
            "employees_simulated": len(self.phones),
            "employees_walking_routes": len(walkers),
            "logins": self.tally["logins"],
            "heartbeats": self.tally["heartbeats"],
            "visits": self.tally["visits"],
            "visits_home_opened": self.tally["visits_home_opened"],
            "door_operations": sessions,
            "doors_simulated": len(self.runs),
            "door_events": events_total,
            "events_lost": events_lost,
            "events_awaiting_collection": awaiting,
            "events_dropped_by_doors": dropped,
            "server_flagged_events": int(flagged),
            "openings_after_revocation_reached": after_reached,
            "partner_home_openings": partner_home_openings,
            "non_staff_home_openings": non_staff_home_openings,
            "partner_openings": self.tally["partner_openings_reported"],
            "partner_home_attempts": self.tally["partner_home_attempts"],
            "max_revocation_exposure_s": round(
                max((x["exposure_s"] for x in exposures), default=0.0)
            ),
            "max_revocation_reach_s": round(max(reached_s, default=0.0)),
            "median_revocation_reach_s": round(statistics.median(reached_s)) if reached_s else None,
            "revocation_doors": len(exposures),
            "revocation_doors_reached": len(reached_s),
            "finder_attempts": self.tally["finder_attempts"],
            "finder_openings": self.tally["finder_openings_reported_by_app"],
            "refusals": dict(sorted(self.refusals.items())),
            "low_battery_locks": sum(1 for _, end in batteries if end <= 20.0),
            "scenario": self.scenario,
        }
        if lost_examples:
            summary["lost_examples"] = lost_examples
        self.details = {
            "openings_per_hour": dict(openings_per_hour.items()),
            "exposures": exposures,
            "batteries": batteries,
            "offsets": offsets,
        }
        return summary


def _offset(door: dt.datetime | None, true: dt.datetime) -> float | None:
    return None if door is None else (door - true).total_seconds()


def _ram_dir() -> str | None:
    return "/dev/shm" if Path("/dev/shm").is_dir() else None  # noqa: S108 - RAM disk for speed


def run(
    options: DayOptions,
    *,
    echo: Echo | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, Any]:
    """Simulate one day and return the summary dict (what the CLI prints as JSON)."""
    return DaySimulation(options, echo=echo).run(progress)


def cli_command(
    profile: str = "copenhagen",
    seed_value: int = 1,
    database_url: str | None = None,
    report: Path | None = None,
    employees_fraction: float | None = None,
    route_fraction: float | None = None,
) -> dict[str, Any]:
    """``carekey sim day``: a Rich progress bar on stderr, then one JSON line on stdout."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    err = Console(stderr=True)
    options = DayOptions(
        profile=profile,
        seed=seed_value,
        database_url=database_url,
        report_dir=report,
        employees_fraction=employees_fraction,
        route_fraction=route_fraction,
    )
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=False,
    ) as bar:
        task = bar.add_task("Simulerer dagen / simulating the day", total=None)

        def progress(_phase: str, done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        summary = run(options, echo=err.print, progress=progress)
    sys.stdout.write(json.dumps(summary, ensure_ascii=False) + "\n")
    sys.stdout.flush()
    return summary


__all__ = ["DayOptions", "DaySimulation", "cli_command", "run"]
