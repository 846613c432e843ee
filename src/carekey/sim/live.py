"""A short live simulation for ``make demo``: a few care workers' phones log in to the running
server and walk visits in the background, so the dashboard, the doors and the audit log show a
morning's activity while a new user looks around.

Everything goes through the real HTTP API (the server ``make demo`` started), the real key app
and simulated doors in memory. It stops by itself after ``max_visits`` visits or when told to.
"""

from __future__ import annotations

import hashlib
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from carekey.access import Actor
from carekey.app.client import AppError, ServerClient
from carekey.app.service import KeyApp
from carekey.app.wallet import Argon2Params
from carekey.clock import SystemClock
from carekey.devices.firmware import DoorFirmware
from carekey.domain import enums as e
from carekey.doors.commissioning import DoorKeyReport, commission_doors
from carekey.keyservice import issuer as issuer_service
from carekey.keyservice.bundle import LIVE_DOOR_STATUSES
from carekey.keyservice.enrolment import create_enrolment_code
from carekey.link.transport import BluetoothLink, Transport
from carekey.seed.service import DEMO_PASSWORD
from carekey.sim.doors import commission_from_row
from carekey.store import models as m

PERSONAL_CODE = "1357"


@dataclass
class _Walker:
    employee_number: str
    app: KeyApp
    homes: list[list[str]] = field(default_factory=list)  # per citizen: [gate?, entrance?, home]


class LiveActivity:
    """Background phones for the demo. ``start()`` returns at once; ``stop()`` ends it."""

    def __init__(
        self,
        engine: Engine,
        *,
        server_url: str,
        secret: str,
        data_dir: Path,
        phones: int = 4,
        citizens_per_phone: int = 4,
        pause_s: float = 4.0,
        max_visits: int = 300,
        echo: Callable[[str], None] = print,
        seed: int = 7,
    ) -> None:
        self.engine = engine
        self.server_url = server_url
        self.secret = secret
        self.data_dir = data_dir
        self.phones = phones
        self.citizens_per_phone = citizens_per_phone
        self.pause_s = pause_s
        self.max_visits = max_visits
        self.echo = echo
        self.rng = random.Random(seed)  # noqa: S311 - which visit comes next, not a secret
        self.doors: dict[str, DoorFirmware] = {}
        self.visits = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="carekey-live-demo", daemon=True)

    def start(self) -> LiveActivity:
        """Begin in the background (after the server answers)."""
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop and wait a little for the current visit to finish."""
        self._stop.set()
        self._thread.join(timeout)

    def _transport(self, door_id: str) -> Transport:
        return BluetoothLink(self.doors[door_id]).connect()

    def _wait_for_server(self) -> bool:
        deadline = time.monotonic() + 60
        while not self._stop.is_set() and time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.server_url}/healthz", timeout=2).status_code == 200:
                    return True
            except httpx.HTTPError:
                pass
            self._stop.wait(0.5)
        return False

    def _prepare(self) -> list[tuple[str, int, list[list[str]]]]:
        """Pick care workers (not the demo worker), commission their first citizens' doors."""
        clock = SystemClock()
        chosen: list[tuple[str, int, list[list[str]]]] = []
        keys: list[DoorKeyReport] = []
        with Session(self.engine) as session, session.begin():
            workers = session.execute(
                select(m.Employee.id, m.Employee.employee_number, m.Employee.municipality_id)
                .join(m.EmployeeRole, m.EmployeeRole.employee_id == m.Employee.id)
                .join(m.EmployeeDistrict, m.EmployeeDistrict.employee_id == m.Employee.id)
                .where(m.EmployeeRole.role == e.Role.CARE_WORKER)
                .where(m.Employee.status == e.EmployeeStatus.ACTIVE)
                .order_by(m.Employee.id)
                .offset(10)  # leave the first ones to the person trying the demo
                .limit(self.phones * 20)
            ).all()
            seen_districts: set[int] = set()
            for worker in workers:
                if len(chosen) == self.phones:
                    break
                district = (
                    session.execute(
                        select(m.EmployeeDistrict.district_id).where(
                            m.EmployeeDistrict.employee_id == worker.id
                        )
                    )
                    .scalars()
                    .first()
                )
                if district is None or district in seen_districts:
                    continue
                seen_districts.add(district)
                keyring = issuer_service.keyring(session, municipality_id=worker.municipality_id)
                # Entrance and gate controllers also trust the partner issuer (home locks never do).
                partner_keyring = issuer_service.keyring(
                    session,
                    municipality_id=worker.municipality_id,
                    purpose=e.IssuerKeyPurpose.PARTNER,
                )
                homes: list[list[str]] = []
                citizens = session.execute(
                    select(m.Citizen.dwelling_id)
                    .where(m.Citizen.district_id == district)
                    .where(m.Citizen.status == e.CitizenStatus.ACTIVE)
                    .order_by(m.Citizen.id)
                    .limit(self.citizens_per_phone)
                ).scalars()
                for dwelling_id in citizens:
                    entrance_id = session.execute(
                        select(m.Dwelling.entrance_id).where(m.Dwelling.id == dwelling_id)
                    ).scalar_one()
                    devices = (
                        session.execute(
                            select(m.DoorDevice)
                            .where(
                                (m.DoorDevice.dwelling_id == dwelling_id)
                                | (m.DoorDevice.entrance_id == entrance_id)
                            )
                            .where(m.DoorDevice.status.in_(LIVE_DOOR_STATUSES))
                            .order_by(m.DoorDevice.kind.desc())  # entrance before home lock
                        )
                        .scalars()
                        .all()
                    )
                    route: list[str] = []
                    for device in devices:
                        if device.serial not in self.doors:
                            seed = hashlib.sha256(
                                f"carekey-live-door\0{self.secret}\0{device.serial}".encode()
                            ).digest()
                            door, public = commission_from_row(
                                serial=device.serial,
                                kind=device.kind.value,
                                door_key_seed=seed,
                                keyring=keyring,
                                clock=clock,
                                partner_keyring=partner_keyring,
                            )
                            self.doors[device.serial] = door
                            keys.append(DoorKeyReport(device.id, public))
                        route.append(device.serial)
                    homes.append(route)
                chosen.append((worker.employee_number, worker.id, homes))
            commission_doors(session, doors=keys, now=clock.now(), reason="live demo activity")
        return chosen

    def _enrol(self, employee_id: int) -> str:
        with Session(self.engine) as session, session.begin():
            employee = session.get(m.Employee, employee_id)
            assert employee is not None
            admin = (
                session.execute(
                    select(m.Employee)
                    .join(m.EmployeeRole, m.EmployeeRole.employee_id == m.Employee.id)
                    .where(m.EmployeeRole.role == e.Role.ADMINISTRATOR)
                    .where(m.Employee.municipality_id == employee.municipality_id)
                    .order_by(m.Employee.id)
                )
                .scalars()
                .first()
            )
            phone = (
                session.execute(select(m.Phone).where(m.Phone.employee_id == employee_id))
                .scalars()
                .first()
            )
            assert admin is not None
            assert phone is not None
            actor = Actor(
                admin.id,
                admin.municipality_id,
                frozenset({e.Role.ADMINISTRATOR}),
                f"{admin.full_name} ({admin.employee_number}) via make demo",
            )
            code, _ = create_enrolment_code(
                session, actor=actor, phone_id=phone.id, now=SystemClock().now()
            )
            return code

    def _run(self) -> None:
        if not self._wait_for_server():
            return
        try:
            walkers: list[_Walker] = []
            for number, employee_id, homes in self._prepare():
                app = KeyApp(
                    self.data_dir / f"phone-{number}",
                    server=ServerClient.for_url(self.server_url),
                    clock=SystemClock(),
                    transports=self._transport,
                    wallet_options={"argon2": Argon2Params(time_cost=1, memory_kib=8192)},
                )
                if app.state.phone_id is None:
                    app.enrol(self._enrol(employee_id))
                app.login(number, DEMO_PASSWORD, PERSONAL_CODE)
                walkers.append(_Walker(number, app, homes))
            self.echo(
                f"Live-demo: {len(walkers)} medarbejdere går ture i baggrunden / "
                f"care workers walk visits in the background"
            )
            while not self._stop.is_set() and self.visits < self.max_visits and walkers:
                walker = self.rng.choice(walkers)
                route = self.rng.choice(walker.homes) if walker.homes else []
                for door_id in route:
                    walker.app.open(door_id, code=PERSONAL_CODE)
                if route:
                    walker.app.lock_door(route[-1], code=PERSONAL_CODE)
                    self.visits += 1
                if self.visits % 3 == 0:
                    walker.app.heartbeat()
                    walker.app.sync()
                self._stop.wait(self.pause_s)
            for walker in walkers:
                walker.app.sync()
        except (AppError, httpx.HTTPError, OSError) as exc:
            self.echo(f"Live-demo stoppede / stopped: {exc}")
