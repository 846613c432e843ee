"""The installer's key-app routes over HTTP with a real app session and device proof: the orders,
the key to the order's door, the commissioning and the decommissioning reports. A care worker's
session gets nothing. (Office credentials on these routes: the route x role matrix.)"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from carekey.clock import FrozenClock
from carekey.config import Settings
from carekey.domain import enums as e
from carekey.keyservice.app_session import issue_session_token
from carekey.protocol.deviceproof import proof_message
from carekey.protocol.session import Command
from carekey.server.app import create_app
from carekey.store import models as m
from tests.installer.conftest import NOW, SECRET, Site, order

APP = "/api/v1/app/installer"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.fixture
def client(engine: Engine, site: Site) -> Iterator[TestClient]:
    settings = Settings(secret_key=SECRET)  # type: ignore[arg-type]
    with TestClient(create_app(settings, engine=engine, clock=FrozenClock(NOW))) as test_client:
        yield test_client


def _session(site: Site, employee_id: int) -> tuple[dict[str, str], int]:
    person = site.db.get(m.Employee, employee_id)
    assert person is not None
    phone = m.Phone(
        municipality_id=site.world.municipality.id,
        employee_id=employee_id,
        label=f"TLF-{employee_id}",
        public_key=site.phone.device_key.public.compressed
        if employee_id == site.installer.employee_id
        else None,
        status=e.PhoneStatus.ACTIVE,
    )
    site.db.add(phone)
    site.db.commit()
    token = issue_session_token(person, phone, NOW + dt.timedelta(hours=9), SECRET)
    return {"Authorization": f"Bearer {token}"}, phone.id


def _proof(client: TestClient, site: Site, phone_id: int) -> dict[str, str]:
    challenge = client.post("/api/v1/app/challenge", json={"phone_id": phone_id}).json()
    text = challenge["challenge"]
    signature = site.phone.device_key.sign(proof_message(text, phone_id, "installer"))
    return {"challenge": text, "signature": b64(signature)}


def _ok(response: Any) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


def test_an_installer_works_an_order_through_the_key_app(client: TestClient, site: Site) -> None:
    auth, phone_id = _session(site, site.installer.employee_id)
    orders = _ok(client.get(f"{APP}/orders", headers=auth))["orders"]
    assert [o["id"] for o in orders] == [site.install.id]
    body = {"order_id": site.install.id, "door_serial": site.stock.serial}
    key = _ok(
        client.post(f"{APP}/credential", json=body | _proof(client, site, phone_id), headers=auth)
    )
    assert key["doors"] == [site.stock.serial]
    assert key["rights"] == ["admin", "installer"]
    bad = client.post(
        f"{APP}/credential",
        json=body | {"challenge": "x", "signature": b64(bytes(64))},
        headers=auth,
    )
    assert bad.status_code == 401
    report = {
        "order_id": site.install.id,
        "door_serial": site.stock.serial,
        "public_key": b64(site.door_key),
        "firmware_version": "2.0.1",
        "test_receipts": [b64(site.receipt(Command.UNLOCK)), b64(site.receipt(Command.LOCK))],
    }
    done = _ok(client.post(f"{APP}/commissioned", json=report, headers=auth))
    assert done["status"] == "active"
    again = client.post(f"{APP}/commissioned", json=report, headers=auth)
    assert again.status_code == 409
    site.db.rollback()  # end the read of the attributes above: the server wrote since
    work = site.db.get(m.WorkOrder, site.install.id)
    assert work is not None
    work.status = e.WorkOrderStatus.DONE
    restore = order(
        site.db,
        site.world,
        assigned=site.installer,
        kind=e.WorkOrderKind.RESTORE,
        dwelling_id=site.dwelling.id,
    )
    site.db.commit()
    receipt = site.receipt(Command.DECOMMISSION)
    down = {"order_id": restore.id, "receipt": b64(receipt), "disposition": "scrapped"}
    gone = _ok(client.post(f"{APP}/decommissioned", json=down, headers=auth))
    assert gone["status"] == "scrapped"


def test_a_care_workers_session_gets_nothing(client: TestClient, site: Site) -> None:
    auth, _ = _session(site, site.care.employee_id)
    assert client.get(f"{APP}/orders", headers=auth).status_code == 403
    report = {
        "order_id": site.install.id,
        "door_serial": site.stock.serial,
        "public_key": b64(site.door_key),
        "test_receipts": [b64(site.receipt(Command.UNLOCK))],
    }
    assert client.post(f"{APP}/commissioned", json=report, headers=auth).status_code == 403


def test_another_installer_does_not_see_the_order(client: TestClient, site: Site) -> None:
    auth, _ = _session(site, site.other_installer.employee_id)
    assert _ok(client.get(f"{APP}/orders", headers=auth))["orders"] == []
    down = {"order_id": site.install.id, "receipt": b64(bytes(40)), "disposition": "stock"}
    assert client.post(f"{APP}/decommissioned", json=down, headers=auth).status_code == 404
