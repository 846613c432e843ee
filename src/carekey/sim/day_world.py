"""The simulated day's world: its options, shifts and time, what the seeded database holds,
and the phones, visits and doors the plan is made of."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pyotp
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from carekey.app.service import KeyApp
from carekey.app.wallet import Argon2Params
from carekey.auth.service import enrol_totp
from carekey.clock import COPENHAGEN, UTC
from carekey.domain import enums as e
from carekey.keyservice import issuer as issuer_service
from carekey.protocol.keys import IssuerKeyring
from carekey.store import models as m

DAY = dt.date(2026, 1, 6)  # a Tuesday in January (UTC+1)
# Cheap wallet key derivation for simulated phones only (a real phone uses the default,
# 3 passes over 32 MiB): the simulation opens ~3,000 wallets (logins, codes typed at doors),
# and their cost is not what it measures. The server's own password hashing is NOT changed.
SIM_WALLET = Argon2Params(time_cost=1, memory_kib=1024)


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
    freshness_min: float | None = None
    """The municipality's proof-of-freshness lifetime for the day (None: the default policy)."""
    online_fraction: float = 0.25
    """The share of entrances and gates online over MQTT (issue 17; ``sim.day_online``)."""


DEFAULT_EMPLOYEES_FRACTION = {"small": 1.0, "copenhagen": 0.5}
DEFAULT_ROUTE_FRACTION = {"small": 1.0, "copenhagen": 0.5}


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


class Network:
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
    net: Network
    app: KeyApp | None = None
    visits: list[Visit] = field(default_factory=list)
    lost: bool = False
    offline: tuple[dt.datetime, dt.datetime] | None = None
    since_sync: int = 0
    visit_count: int = 0


# --- the world, as seeded ---------------------------------------------------------------------


@dataclass
class World:
    """What the simulation needs from the seeded database (municipality 1)."""

    staff: dict[int, tuple[str, int, int]]  # employee id -> (number, phone id, district id)
    care_workers: frozenset[int]  # of the staff, those who may get an emergency key
    device_rows: dict[str, Any]  # serial -> door_device row (with its gate's property)
    citizens: dict[int, CitizenDoors]
    by_district: dict[int, list[CitizenDoors]]
    admin_number: str
    admin_totp: str  # the office administrator's authenticator app
    keyring: IssuerKeyring
    partner_keyring: IssuerKeyring
    """The server's partner issuer keys: the day's entrances and gates trust them, home locks
    never (``start_door``)."""


def load_world(engine: Engine, *, secret: str) -> World:
    """Read the world from the seeded database, and set up the administrator's TOTP (the API
    asks the office for a code)."""
    with Session(engine) as s:
        staff_rows = s.execute(
            select(
                m.Employee.id,
                m.Employee.employee_number,
                m.Phone.id.label("phone_id"),
                m.EmployeeDistrict.district_id,
                m.EmployeeRole.role,
            )
            .join(m.EmployeeRole, m.EmployeeRole.employee_id == m.Employee.id)
            .join(m.EmployeeDistrict, m.EmployeeDistrict.employee_id == m.Employee.id)
            .join(m.Phone, m.Phone.employee_id == m.Employee.id)
            .where(m.EmployeeRole.role.in_([e.Role.CARE_WORKER, e.Role.DISTRICT_LEAD]))
            .order_by(m.Employee.id, m.EmployeeDistrict.district_id)
        ).all()
        staff: dict[int, tuple[str, int, int]] = {}
        for row in staff_rows:
            staff.setdefault(row.id, (row.employee_number, row.phone_id, row.district_id))
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
        device_rows = {d.serial: d for d in devices}
        entrance_door = {d.entrance_id: d.serial for d in devices if d.entrance_id}
        gates: dict[int, list[str]] = {}
        for d in devices:
            if d.property_id is not None:
                gates.setdefault(d.property_id, []).append(d.serial)
        citizens = {
            r.id: CitizenDoors(
                r.id,
                r.district_id,
                r.serial,
                entrance_door.get(r.entrance_id),
                sorted(gates.get(r.property_id, [])),
            )
            for r in rows
        }
        by_district: dict[int, list[CitizenDoors]] = {}
        for c in citizens.values():
            by_district.setdefault(c.district_id, []).append(c)
        admin_number = (
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
        admin_totp = pyotp.random_base32()
        administrator = s.execute(
            select(m.Employee).where(m.Employee.employee_number == admin_number)
        ).scalar_one()
        enrol_totp(s, employee=administrator, secret_b32=admin_totp, secret=secret)
        s.commit()
        keyring = issuer_service.keyring(s, municipality_id=1)
        partner_keyring = issuer_service.keyring(
            s, municipality_id=1, purpose=e.IssuerKeyPurpose.PARTNER
        )
    assert admin_number is not None
    return World(
        staff=staff,
        care_workers=frozenset(r.id for r in staff_rows if r.role is e.Role.CARE_WORKER),
        device_rows=device_rows,
        citizens=citizens,
        by_district=by_district,
        admin_number=admin_number,
        admin_totp=admin_totp,
        keyring=keyring,
        partner_keyring=partner_keyring,
    )
