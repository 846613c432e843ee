"""Issue 16, acceptance 1 and 2, as the parties meet them over HTTP and at the door.

A new citizen in a new building of a housing association; the office records the consent, asks
the association for permission, and the association answers in its own API; the office orders
a home lock and an entrance module and gives them to an installer; the installer's key app
(enrolled phone, personal code) commissions both doors over the door protocol (real Ed25519,
simulated firmware over the Bluetooth link); the care worker's next bundle holds the two doors
and they open; the citizen moves (the address is removed), which makes a restore order; the
installer decommissions the home lock, after which the door refuses every earlier key (the care
worker's, the installer's own); the installer reports the order done with its checklist,
material and labour; the office signs it off; the month's cost report shows it as paid.

Before that, the two refusals of acceptance 2: no home-lock order (and no key) without consent,
no module order without the association's permission.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from carekey.app.client import ServerClient
from carekey.app.installer import InstallerWork
from carekey.app.service import KeyApp
from carekey.app.wallet import Argon2Params
from carekey.auth.passwords import hash_password
from carekey.clock import COPENHAGEN
from carekey.devices.controller import EntranceController
from carekey.devices.firmware import DoorFirmware
from carekey.devices.homelock import HomeLock
from carekey.domain import enums as e
from carekey.keyservice import issuer as issuer_service
from carekey.link.driver import DoorEntry
from carekey.link.transport import BluetoothLink, Transport
from carekey.protocol.credential import DoorKind
from carekey.protocol.keys import DoorKey
from carekey.protocol.session import Command
from carekey.seed.service import DEMO_PASSWORD
from carekey.sim.testbed import Testbed
from carekey.store import models as m
from tests.api.conftest import SECRET, Tenants, sign_in
from tests.api.phone_sim import Scene, advance
from tests.store.factories import door as stock_door

CODE = "2468"
API = "/api/v1/admin"


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, f"{response.request.url}: {response.text}"
    return response.json()


def _refused(response: Any, code: str) -> None:
    assert 400 <= response.status_code < 500, response.text
    assert code in response.text, response.text


def _new_building(engine: Engine) -> tuple[int, int, int, int]:
    """A building of the seed's first housing association that CareKey has never been in:
    a property, an entrance, a dwelling; and the association's user. The physical world
    (addresses) comes from the municipality's register, not from CareKey."""
    with Session(engine) as db, db.begin():
        association = (
            db.execute(
                select(m.HousingAssociation.id)
                .where(m.HousingAssociation.municipality_id == 1)
                .order_by(m.HousingAssociation.id)
            )
            .scalars()
            .first()
        )
        assert association is not None
        user = (
            db.execute(
                select(m.Employee.id).where(m.Employee.housing_association_id == association)
            )
            .scalars()
            .first()
        )
        assert user is not None
        prop = m.Property(
            municipality_id=1,
            housing_association_id=association,
            street="Nyvej",
            house_number="16",
            postal_code="2200",
            city="København N",
        )
        db.add(prop)
        db.flush()
        entrance = m.Entrance(property_id=prop.id, label="Nyvej 16")
        db.add(entrance)
        db.flush()
        dwelling = m.Dwelling(entrance_id=entrance.id, floor="2", side="tv")
        db.add(dwelling)
        db.flush()
        return prop.id, entrance.id, dwelling.id, user


def _installer(engine: Engine) -> tuple[int, str]:
    with Session(engine) as db, db.begin():
        person = m.Employee(
            municipality_id=1,
            employee_number="M0042",
            full_name="Montør Mads",
            password_hash=hash_password(DEMO_PASSWORD),
            roles=[m.EmployeeRole(role=e.Role.INSTALLER)],
        )
        db.add(person)
        db.flush()
        return person.id, person.employee_number


def _stock(engine: Engine, kind: e.DoorKind) -> str:
    """A device delivered to the municipality's stock (serial on its label)."""
    with Session(engine) as db, db.begin():
        municipality = db.get(m.Municipality, 1)
        assert municipality is not None
        return stock_door(db, municipality, kind, status=e.DoorStatus.STOCK).serial


def _employee_number(engine: Engine, employee_id: int) -> str:
    with Session(engine) as db:
        person = db.get(m.Employee, employee_id)
        assert person is not None
        return person.employee_number


class Doors:
    """The doors of the building as firmware, reached over the Bluetooth link."""

    def __init__(self) -> None:
        self.by_id: dict[str, DoorFirmware] = {}

    def transport(self, door_id: str) -> Transport:
        return BluetoothLink(self.by_id[door_id]).connect()


def _factory_door(scene: Scene, serial: str, kind: e.DoorKind) -> DoorFirmware:
    """A door as it leaves the factory: its own door key (printed on the pairing label), the
    municipality's issuer keys, no time."""
    with Session(scene.engine) as db:
        keyring = issuer_service.keyring(db, municipality_id=1)
    key = DoorKey.generate()
    if kind is e.DoorKind.HOME_LOCK:
        return HomeLock(door_id=serial.encode(), door_key=key, keyring=keyring, clock=scene.clock)
    return EntranceController(
        door_id=serial.encode(),
        door_key=key,
        keyring=keyring,
        clock=scene.clock,
        kind=DoorKind.ENTRANCE,
    )


def _key_app(scene: Scene, path: Path, doors: Doors, phone_id: int, number: str) -> KeyApp:
    code = _ok(
        scene.client.post(f"{API}/phones/{phone_id}/enrolment-code", headers=scene.admin_headers)
    )
    app = KeyApp(
        path,
        server=ServerClient(scene.client),
        clock=scene.clock,
        transports=doors.transport,
        wallet_options={"argon2": Argon2Params(time_cost=1, memory_kib=8192)},
    )
    app.enrol(code["code"])
    app.login(number, DEMO_PASSWORD, CODE)
    return app


def test_a_citizen_from_consent_to_the_restored_lock_and_the_months_costs(
    scene: Scene, tenants: Tenants, engine: Engine, client: TestClient, tmp_path: Path
) -> None:
    admin = scene.admin_headers
    property_id, entrance_id, dwelling_id, association_user = _new_building(engine)
    installer_id, installer_number = _installer(engine)

    # A new citizen in the care worker's district, in the new building.
    citizen = _ok(
        client.post(
            f"{API}/citizens",
            json={
                "given_name": "Inger",
                "family_name": "Nyborg",
                "district_id": 1,
                "dwelling_id": dwelling_id,
                "status": "active",
                "reason": "Visiteret til hjemmepleje",
            },
            headers=admin,
        ),
        201,
    )
    cid = citizen["id"]

    # Acceptance 2: without consent no home-lock order; without permission no module order.
    _refused(
        client.post(
            f"{API}/work-orders", json={"kind": "install", "citizen_id": cid}, headers=admin
        ),
        "no_consent",
    )
    _refused(
        client.post(
            f"{API}/work-orders",
            json={"kind": "install", "entrance_id": entrance_id},
            headers=admin,
        ),
        "no_permission",
    )

    # Consent: informed by the administrator a week ago, signed on paper, scanned.
    now = scene.clock.now()
    _ok(
        client.post(
            f"{API}/citizens/{cid}/consents",
            json={
                "method": "paper_scanned",
                "given_by": "citizen",
                "informed_by_employee_id": tenants.admin,
                "informed_at": (now - dt.timedelta(days=7)).isoformat(),
                "given_at": (now - dt.timedelta(days=1)).isoformat(),
                "document_ref": "SAG-2026-4711",
            },
            headers=admin,
        ),
        201,
    )

    # Permission: the municipality asks, the association answers in its own API.
    request = _ok(
        client.post(
            f"{API}/permission-requests",
            json={
                "property_id": property_id,
                "covers_entrances": True,
                "due_at": (now + dt.timedelta(days=14)).isoformat(),
                "note": "Modul i dørtelefonen til hjemmeplejen",
            },
            headers=admin,
        ),
        201,
    )
    association = sign_in(client, association_user, engine)
    answered = _ok(
        client.post(
            f"/api/v1/association/permission-requests/{request['id']}/answer",
            json={"decision": "grant"},
            headers=association,
        )
    )
    assert answered["status"] == "granted"

    # The install orders, for the installer, today.
    orders = {}
    for what, body in (
        ("home", {"kind": "install", "citizen_id": cid}),
        ("entrance", {"kind": "install", "entrance_id": entrance_id}),
    ):
        made = _ok(client.post(f"{API}/work-orders", json=body, headers=admin), 201)
        _ok(
            client.post(
                f"{API}/work-orders/{made['id']}/assign",
                json={"installer_id": installer_id},
                headers=admin,
            )
        )
        _ok(
            client.post(
                f"{API}/work-orders/{made['id']}/schedule",
                json={"scheduled_for": (scene.clock.now() + dt.timedelta(minutes=30)).isoformat()},
                headers=admin,
            )
        )
        orders[what] = made["id"]

    # The installer's phone: registered, enrolled, logged in with the personal code.
    installer_phone = _ok(
        client.post(
            f"{API}/phones",
            json={"employee_id": installer_id, "label": "MONTØR-TLF-1"},
            headers=admin,
        ),
        201,
    )
    doors = Doors()
    installer_app = _key_app(
        scene, tmp_path / "installer", doors, installer_phone["id"], installer_number
    )
    work = InstallerWork(installer_app)
    assert sorted(o["id"] for o in work.orders()) == sorted(orders.values())

    # At the door: the home lock and the entrance module, commissioned over the door protocol.
    advance(scene.clock, minutes=30)
    fitted: dict[str, DoorFirmware] = {}
    for what, kind in (
        ("home", e.DoorKind.HOME_LOCK),
        ("entrance", e.DoorKind.ENTRANCE_CONTROLLER),
    ):
        serial = _stock(engine, kind)
        firmware = _factory_door(scene, serial, kind)
        doors.by_id[serial] = firmware
        done = work.commission(
            orders[what], door_serial=serial, door_public_key=firmware.door_key.public.key.raw
        )
        assert done["status"] == "active", done
        fitted[what] = firmware
    home, entrance = fitted["home"], fitted["entrance"]
    assert home.time_known  # the installer set the time
    assert entrance.time_known

    installer_office = sign_in(client, installer_id, engine)
    for what in ("home", "entrance"):
        checklist = {
            "device_fitted": True,
            "original_kept": what == "home",
            "wiring_connected": what == "entrance",
            "tested": True,
        }
        _ok(
            client.post(
                f"{API}/work-orders/{orders[what]}/complete",
                json={
                    "checklist": checklist,
                    "photo_ref": f"FOTO-{what}",
                    "material_ore": 270_000,
                    "labour_ore": 180_000,
                },
                headers=installer_office,
            )
        )

    # The care worker's next bundle has both doors, and they open.
    worker_doors = Doors()
    worker_phone = _key_app(
        scene,
        tmp_path / "worker",
        worker_doors,
        tenants.worker_phone,
        _employee_number(engine, tenants.worker),
    )
    held = {d.door_id for d in worker_phone.doors()}
    assert {home.door_id.decode(), entrance.door_id.decode()} <= held
    worker_doors.by_id.update({home.door_id.decode(): home, entrance.door_id.decode(): entrance})
    advance(scene.clock, minutes=5)
    assert worker_phone.open(entrance.door_id.decode(), CODE).ok
    assert worker_phone.open(home.door_id.decode(), CODE).ok
    assert worker_phone.lock_door(home.door_id.decode(), CODE).ok
    worker_phone.sync()

    # The citizen moves: the address is removed, and a restore order is made by itself.
    _ok(client.post(f"{API}/citizens/{cid}/remove", json={"reason": "Fraflyttet"}, headers=admin))
    listed = _ok(client.get(f"{API}/work-orders", params={"kind": "restore"}, headers=admin))
    restore = next(o for o in listed["items"] if o["citizen_id"] == cid)
    assert restore["trigger"] == "citizen_removed"
    _ok(
        client.post(
            f"{API}/work-orders/{restore['id']}/assign",
            json={"installer_id": installer_id},
            headers=admin,
        )
    )

    # The installer takes the lock down: the door forgets every key.
    gone = work.decommission(restore["id"], disposition="stock")
    assert gone["status"] == "stock", gone
    assert home.flash.keyring.active == ()  # it trusts no issuer any more
    # Every earlier key is refused at the door: the care worker's (still on the phone) ...
    refused = worker_phone.open(home.door_id.decode(), CODE)
    assert not refused.ok
    assert home.state.value == "locked"
    # ... and one signed now by the same issuer key that signed every earlier one.
    with Session(engine) as db:
        signer = issuer_service.active_issuer_key(db, municipality_id=1, secret=SECRET)
    bed = Testbed(start=scene.clock.now())
    bed.issuer_key = signer
    probe = bed.phone("e1")
    raw = bed.credential(probe, home.door_id, admin=True)
    link = BluetoothLink(home).connect()
    try:
        tried = probe.driver.run(
            link, DoorEntry(home.door_id, home.door_key.public, raw), Command.UNLOCK
        )
    finally:
        link.close()
    assert not tried.ok
    assert tried.response.result == "unknown_issuer_key", tried.response
    assert home.state.value == "locked"

    # Done with its checklist and cost, signed off by the office, paid this month.
    with_checklist = _ok(
        client.post(
            f"{API}/work-orders/{restore['id']}/complete",
            json={
                "checklist": {
                    "cylinder_restored": True,
                    "screw_holes": True,
                    "device_removed": True,
                },
                "photo_ref": "FOTO-2026-12-01-NYVEJ16-2TV",
                "material_ore": 15_000,
                "labour_ore": 90_000,
                "notes": "Original cylinder og vrider sat i; huller spartlet og malet",
            },
            headers=installer_office,
        )
    )
    assert with_checklist["status"] == "done"
    signed = _ok(client.post(f"{API}/work-orders/{restore['id']}/sign-off", headers=admin))
    assert signed["status"] == "signed_off"
    month = scene.clock.now().astimezone(COPENHAGEN).strftime("%Y-%m")
    report = _ok(
        client.get(f"{API}/costs", params={"group": "month", "month": month}, headers=admin)
    )
    line = next(x for x in report["lines"] if x["key"] == month)
    assert line["paid_ore"] >= 105_000
    by_citizen = _ok(
        client.get(f"{API}/costs", params={"group": "citizen", "month": month}, headers=admin)
    )
    mine = next(x for x in by_citizen["lines"] if x["key"] == str(cid))
    assert mine["paid_ore"] == 105_000  # the restore, signed off
    assert mine["pending_ore"] == 450_000  # the home lock's install, done, not yet signed off
