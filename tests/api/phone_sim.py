"""Helpers for end-to-end tests: the real HTTP API, the real door protocol and simulated doors.

``Phone`` is a minimal key app: it enrols, logs in, keeps the bundle, and opens doors with the
real :class:`~carekey.link.driver.PhoneDriver` over an in-memory Bluetooth link.
"""

from __future__ import annotations

import base64
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from carekey.clock import FrozenClock
from carekey.devices.controller import EntranceController
from carekey.devices.firmware import DoorFirmware
from carekey.devices.homelock import HomeLock
from carekey.domain import enums as e
from carekey.keyservice import issuer as issuer_service
from carekey.link.catchup import CarriedDenylist
from carekey.link.driver import DoorEntry, PhoneDriver, VisitResult
from carekey.link.transport import BluetoothLink
from carekey.protocol.credential import BundleLeaf, DoorKind, present_bundle
from carekey.protocol.denylist import DenylistPiece
from carekey.protocol.deviceproof import proof_message
from carekey.protocol.keys import DeviceKey, DoorKey
from carekey.protocol.session import Command
from carekey.seed.service import DEMO_PASSWORD
from carekey.store import models as m

PROTO_KIND = {
    e.DoorKind.HOME_LOCK: DoorKind.HOME,
    e.DoorKind.ENTRANCE_CONTROLLER: DoorKind.ENTRANCE,
    e.DoorKind.GATE_CONTROLLER: DoorKind.GATE,
}


def unb64(text: str) -> bytes:
    return base64.b64decode(text)


@dataclass
class Phone:
    """A key app on one enrolled phone."""

    client: TestClient
    phone_id: int
    device_key: DeviceKey
    bundle: dict[str, Any] = field(default_factory=dict)
    driver: PhoneDriver = field(init=False)
    receipts: list[bytes] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.driver = PhoneDriver(
            device_key=self.device_key,
            time_tokens=lambda _door, _nonce: self._time_token(),
            denylist=self._denylist,
            freshness=self._freshness,
            carried=self._carried,
        )

    def _time_token(self) -> bytes | None:
        token = self.bundle.get("time_token")
        return unb64(token) if token else None

    def _freshness(self) -> bytes | None:
        freshness = self.bundle.get("freshness") or {}
        return unb64(freshness["proof"]) if freshness.get("proof") else None

    def _carried(self) -> CarriedDenylist | None:
        denylist = self.bundle.get("denylist") or {}
        if not denylist.get("pieces"):
            return None
        return CarriedDenylist(
            int(denylist["version"]),
            tuple(DenylistPiece(lo, hi, unb64(data), 0) for lo, hi, data in denylist["pieces"]),
        )

    def _denylist(self, door_version: int) -> bytes | None:
        denylist = self.bundle.get("denylist") or {}
        if denylist.get("snapshot") and denylist["version"] > door_version:
            return unb64(denylist["snapshot"])
        return None

    def proof(self, purpose: str) -> dict[str, str]:
        response = self.client.post("/api/v1/app/challenge", json={"phone_id": self.phone_id})
        assert response.status_code == 200, response.text
        challenge = response.json()["challenge"]
        signature = self.device_key.sign(proof_message(challenge, self.phone_id, purpose))
        return {"challenge": challenge, "signature": base64.b64encode(signature).decode()}

    def login(self, employee_number: str, password: str = DEMO_PASSWORD) -> Any:
        response = self.client.post(
            "/api/v1/app/login",
            json={
                "municipality": "0101",
                "employee_number": employee_number,
                "password": password,
                "phone_id": self.phone_id,
                **self.proof("login"),
            },
        )
        if response.status_code == 200:
            self.bundle = response.json()
        return response

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.bundle['session_token']}"}

    def heartbeat(self, *, send_version: bool = False) -> dict[str, Any]:
        """A heartbeat; with ``send_version`` the phone says which denylist version it carries
        (the answer's denylist is then null when that is the newest)."""
        carried = (self.bundle.get("denylist") or {}).get("version")
        body_in = {"denylist_version": carried} if send_version and carried is not None else None
        response = self.client.post("/api/v1/app/heartbeat", headers=self.auth, json=body_in)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        if body["status"] == "WIPE":
            self.bundle = {}
        else:
            if body["denylist"] is not None:
                self.bundle["denylist"] = body["denylist"]
            self.bundle["time_token"] = body["time_token"]
            self.bundle["freshness"] = body["freshness"]
            self.bundle["policy"] = body["policy"]
        return body

    def refresh(self) -> Any:
        response = self.client.post(
            "/api/v1/app/bundle", json=self.proof("bundle"), headers=self.auth
        )
        if response.status_code == 200:
            token = self.bundle["session_token"]
            self.bundle = response.json()
            self.bundle["session_token"] = token
        return response

    def door_ids(self) -> set[str]:
        return {d["door_id"] for d in self.bundle.get("doors", [])}

    def credential_for(self, door_id: bytes) -> bytes:
        """What the phone presents at ``door_id``: a plain credential naming the door, or the
        shift bundle with the door's Merkle proof."""
        for c in self.bundle["credentials"]:
            if c["type"] == "single" and door_id.decode() in c["doors"]:
                return unb64(c["credential"])
            if c["type"] == "bundle" and door_id.decode() in {x[0] for x in c["leaves"]}:
                leaves = [BundleLeaf.from_bits(x[0].encode(), x[1]) for x in c["leaves"]]
                return present_bundle(unb64(c["credential"]), leaves, door_id)
        raise KeyError(door_id)

    def visit(self, door: DoorFirmware, command: Command = Command.UNLOCK) -> VisitResult:
        entry = DoorEntry(door.door_id, door.door_key.public, self.credential_for(door.door_id))
        link = BluetoothLink(door).connect()
        try:
            result = self.driver.run(link, entry, command)
        finally:
            link.close()
        if result.response.receipt is not None:
            self.receipts.append(result.response.receipt)
        return result


@dataclass
class Scene:
    """The seeded municipality over HTTP, with simulated doors for real door rows."""

    client: TestClient
    engine: Engine
    clock: FrozenClock
    admin_headers: dict[str, str]
    doors: dict[bytes, DoorFirmware] = field(default_factory=dict)

    def enrol(self, phone_id: int) -> Phone:
        response = self.client.post(
            f"/api/v1/admin/phones/{phone_id}/enrolment-code", headers=self.admin_headers
        )
        assert response.status_code == 200, response.text
        key = DeviceKey.generate()
        response = self.client.post(
            "/api/v1/app/enrol",
            json={
                "code": response.json()["code"],
                "public_key": base64.b64encode(key.public.compressed).decode(),
            },
        )
        assert response.status_code == 200, response.text
        return Phone(self.client, phone_id, key)

    def door(self, device_id: int) -> DoorFirmware:
        """A simulated door for a door row: a fresh door key, registered on the row, and the
        municipality's issuer keyring, as commissioning would leave it."""
        with Session(self.engine) as session, session.begin():
            row = session.get(m.DoorDevice, device_id)
            assert row is not None
            key = DoorKey.generate()
            session.execute(
                update(m.DoorDevice)
                .where(m.DoorDevice.id == device_id)
                .values(public_key=key.public.key.raw)
            )
            keyring = issuer_service.keyring(session, municipality_id=row.municipality_id)
            door_id, kind = row.serial.encode(), row.kind
        door: DoorFirmware
        if kind is e.DoorKind.HOME_LOCK:
            door = HomeLock(door_id=door_id, door_key=key, keyring=keyring, clock=self.clock)
        else:
            door = EntranceController(
                door_id=door_id,
                door_key=key,
                keyring=keyring,
                clock=self.clock,
                kind=PROTO_KIND[kind],
            )
        door.clock.set(self.clock.now())
        door.flash.last_token_time = self.clock.now()
        self.doors[door_id] = door
        return door

    def home_lock_of(self, citizen_id: int) -> int:
        with Session(self.engine) as session:
            return session.execute(
                select(m.DoorDevice.id)
                .join(m.Citizen, m.Citizen.dwelling_id == m.DoorDevice.dwelling_id)
                .where(m.Citizen.id == citizen_id)
            ).scalar_one()


def advance(clock: FrozenClock, **delta: float) -> dt.datetime:
    return clock.advance(dt.timedelta(**delta))
