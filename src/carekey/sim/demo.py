"""The live demo: a few real simulated doors for one care worker, served on local sockets, so a
new user can log in with the key app and open a door within minutes of ``make demo``.

``prepare_demo`` picks a care worker of the seeded municipality, commissions simulated doors for
the first citizens of their district (front door, stairwell door and gate), records each door's
public key with :mod:`carekey.doors.commissioning` (phones receive it in their bundles), saves
the doors' state files and a door directory (serial → local port) for the app, and creates a
fresh one-time enrolment code for the worker's phone. Running it again keeps the doors and
their logs.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from carekey.access import Actor
from carekey.clock import Clock, SystemClock
from carekey.devices.doorserver import DoorServer
from carekey.devices.statefile import load_door, save_door
from carekey.domain import enums as e
from carekey.doors.commissioning import DoorKeyReport, commission_doors
from carekey.keyservice import issuer as issuer_service
from carekey.keyservice.bundle import LIVE_DOOR_STATUSES
from carekey.keyservice.enrolment import create_enrolment_code
from carekey.seed.service import DEMO_PASSWORD
from carekey.sim.doors import commission_from_row
from carekey.store import models as m

# Below the ephemeral range (32768–60999 on Linux), so outgoing connections never hold them;
# ``carekey serve --demo --door-port N`` or CAREKEY_DEMO_DOOR_PORT moves them.
FIRST_PORT = 18301


@dataclass(frozen=True)
class DemoDoor:
    serial: str
    kind: str
    citizen: str
    address: str
    port: int


@dataclass(frozen=True)
class DemoInfo:
    """Everything the demo prints."""

    municipality: str
    worker_number: str
    worker_name: str
    admin_number: str
    password: str
    enrolment_code: str
    doors: list[DemoDoor]
    doors_dir: str
    directory: str


def _worker(session: Session) -> m.Employee:
    worker = (
        session.execute(
            select(m.Employee)
            .join(m.EmployeeRole, m.EmployeeRole.employee_id == m.Employee.id)
            .join(m.EmployeeDistrict, m.EmployeeDistrict.employee_id == m.Employee.id)
            .where(m.EmployeeRole.role == e.Role.CARE_WORKER)
            .where(m.Employee.status == e.EmployeeStatus.ACTIVE)
            .order_by(m.Employee.id)
        )
        .scalars()
        .first()
    )
    if worker is None:
        raise RuntimeError("no care worker in the database: run `carekey seed` first")
    return worker


def _admin(session: Session, municipality_id: int) -> m.Employee:
    admin = (
        session.execute(
            select(m.Employee)
            .join(m.EmployeeRole, m.EmployeeRole.employee_id == m.Employee.id)
            .where(m.EmployeeRole.role == e.Role.ADMINISTRATOR)
            .where(m.Employee.municipality_id == municipality_id)
            .order_by(m.Employee.id)
        )
        .scalars()
        .first()
    )
    if admin is None:
        raise RuntimeError("no administrator in the database: run `carekey seed` first")
    return admin


def _demo_doors(
    session: Session, worker: m.Employee, citizens: int
) -> list[tuple[m.DoorDevice, str, str]]:
    district_ids = select(m.EmployeeDistrict.district_id).where(
        m.EmployeeDistrict.employee_id == worker.id
    )
    rows = session.execute(
        select(m.Citizen, m.Dwelling, m.Entrance, m.Property)
        .join(m.Dwelling, m.Dwelling.id == m.Citizen.dwelling_id)
        .join(m.Entrance, m.Entrance.id == m.Dwelling.entrance_id)
        .join(m.Property, m.Property.id == m.Entrance.property_id)
        .where(m.Citizen.district_id.in_(district_ids))
        .where(m.Citizen.status == e.CitizenStatus.ACTIVE)
        .order_by(m.Citizen.id)
        .limit(citizens)
    ).all()
    doors: list[tuple[m.DoorDevice, str, str]] = []
    seen: set[int] = set()
    for citizen, dwelling, entrance, prop in rows:
        name = f"{citizen.given_name} {citizen.family_name}"
        address = f"{entrance.label}, {dwelling.floor}. {dwelling.side}."
        gate_ids = select(m.Gate.id).where(m.Gate.property_id == prop.id)
        devices = session.execute(
            select(m.DoorDevice)
            .where(
                (m.DoorDevice.dwelling_id == dwelling.id)
                | (m.DoorDevice.entrance_id == entrance.id)
                | (m.DoorDevice.gate_id.in_(gate_ids))
            )
            .where(m.DoorDevice.status.in_(LIVE_DOOR_STATUSES))
            .order_by(m.DoorDevice.id)
        ).scalars()
        for device in devices:
            if device.id not in seen:
                seen.add(device.id)
                doors.append((device, name, address))
    return doors


def prepare_demo(
    engine: Engine,
    *,
    secret: str,
    demo_dir: Path,
    citizens: int = 3,
    first_port: int = FIRST_PORT,
    clock: Clock | None = None,
    echo: Callable[[str], None] = print,
) -> DemoInfo:
    """Commission the demo doors (once), refresh the enrolment code, and describe the demo."""
    clock = clock or SystemClock()
    doors_dir = demo_dir / "doors"
    doors_dir.mkdir(parents=True, exist_ok=True)
    now = clock.now()
    with Session(engine) as session, session.begin():
        worker = _worker(session)
        admin = _admin(session, worker.municipality_id)
        municipality = session.get(m.Municipality, worker.municipality_id)
        assert municipality is not None
        keyring = issuer_service.keyring(session, municipality_id=worker.municipality_id)
        # Entrance and gate controllers also trust the partner issuer (home locks never do).
        partner_keyring = issuer_service.keyring(
            session, municipality_id=worker.municipality_id, purpose=e.IssuerKeyPurpose.PARTNER
        )
        actor = Actor(
            employee_id=admin.id,
            municipality_id=admin.municipality_id,
            roles=frozenset({e.Role.ADMINISTRATOR}),
            label=f"{admin.full_name} ({admin.employee_number}) via make demo",
        )
        demo_doors: list[DemoDoor] = []
        keys: list[DoorKeyReport] = []
        for index, (device, citizen, address) in enumerate(_demo_doors(session, worker, citizens)):
            state = doors_dir / f"{device.serial}.json"
            if state.exists():
                door = load_door(state, clock)
                public = door.door_key.public.key.raw
            else:
                # Demo doors only: a reproducible key, so the database and the door agree.
                seed = hashlib.sha256(
                    f"carekey-demo-door\0{secret}\0{device.serial}".encode()
                ).digest()
                door, public = commission_from_row(
                    serial=device.serial,
                    kind=device.kind.value,
                    door_key_seed=seed,
                    keyring=keyring,
                    clock=clock,
                    partner_keyring=partner_keyring,
                )
                save_door(door, state)
            keys.append(DoorKeyReport(device.id, public))
            demo_doors.append(
                DemoDoor(device.serial, device.kind.value, citizen, address, first_port + index)
            )
        # The simulated doors' keys replace the seeded ones (again: nothing changes).
        commission_doors(session, doors=keys, now=now, actor=actor, reason="make demo")
        phone = (
            session.execute(
                select(m.Phone).where(m.Phone.employee_id == worker.id).order_by(m.Phone.id)
            )
            .scalars()
            .first()
        )
        if phone is None:
            raise RuntimeError("the demo care worker has no phone")
        code, _ = create_enrolment_code(session, actor=actor, phone_id=phone.id, now=now)
        info = DemoInfo(
            municipality=municipality.code,
            worker_number=worker.employee_number,
            worker_name=worker.full_name,
            admin_number=admin.employee_number,
            password=DEMO_PASSWORD,
            enrolment_code=code,
            doors=demo_doors,
            doors_dir=str(doors_dir),
            directory=str(demo_dir / "doors.json"),
        )
    directory = {"doors": {d.serial: {"host": "127.0.0.1", "port": d.port} for d in demo_doors}}
    (demo_dir / "doors.json").write_text(json.dumps(directory, indent=2), encoding="utf-8")
    (demo_dir / "demo.json").write_text(json.dumps(asdict(info), indent=2), encoding="utf-8")
    return info


class DemoPortTakenError(OSError):
    """A demo door's port cannot be listened on (another program has it)."""

    def __init__(self, port: int, reason: str) -> None:
        super().__init__(f"port {port}: {reason}")
        self.port = port
        self.reason = reason


def start_demo_doors(demo_dir: Path, *, clock: Clock | None = None) -> list[DoorServer]:
    """Serve every prepared demo door on its local port, each in its own thread; a port that is
    taken raises ``DemoPortTakenError`` (and no door is left running)."""
    clock = clock or SystemClock()
    directory = json.loads((demo_dir / "doors.json").read_text(encoding="utf-8"))
    servers: list[DoorServer] = []
    try:
        for serial, where in directory["doors"].items():
            state = demo_dir / "doors" / f"{serial}.json"
            door = load_door(state, clock)
            port = int(where["port"])
            try:
                server = DoorServer(door, where["host"], port, state_path=state).start()
            except OSError as exc:
                raise DemoPortTakenError(port, exc.strerror or str(exc)) from exc
            servers.append(server)
    except BaseException:
        for server in servers:
            server.stop()
        raise
    return servers


def instructions(info: DemoInfo, *, server_url: str) -> list[str]:
    """The commands to try the key app against the demo server and a simulated door."""
    home = next((d for d in info.doors if d.kind == "home_lock"), info.doors[0])
    options = ""
    if server_url != "http://127.0.0.1:8000":
        options += f" --server {server_url}"
    if info.directory != "data/demo/doors.json":
        options += f" --doors {info.directory}"
    app = f".venv/bin/carekey app{options}"
    return [
        f"Administration: {server_url}/ — kommune / municipality {info.municipality}, "
        f"administrator {info.admin_number}, adgangskode / password {info.password} "
        "(første gang: opsæt engangskode i en godkender-app / first time: set up the "
        "authenticator app)",
        f"API: {server_url}/docs",
        f"Medarbejder / care worker: {info.worker_name} ({info.worker_number}), "
        f"adgangskode / password {info.password}",
        "Prøv nøgle-appen i en anden terminal / try the key app in another terminal:",
        f"  {app} enrol {info.enrolment_code}",
        f"  {app} login {info.worker_number}      # adgangskode {info.password}, vælg en kode",
        f"  {app} doors",
        f"  {app} open {home.serial}      # {home.citizen}, {home.address}",
        f"  {app} lock {home.serial}",
        f"  {app} sync",
        f"  {app} tui      # terminal-UI / terminal UI",
    ]
