"""The audit log over HTTP: filters, CSV for Danish Excel, and who may read what."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from carekey.ingest import service as ingest
from carekey.keyservice.app_session import AppSession
from carekey.protocol.events import EventChain, EventKind
from carekey.protocol.keys import DoorKey
from carekey.store import models as m
from tests.api.conftest import Tenants, sign_in
from tests.api.phone_sim import Scene

URL = "/api/v1/admin/audit"
CSV_URL = "/api/v1/admin/audit.csv"
VISIT = dt.datetime(2026, 11, 26, 7, 10, tzinfo=dt.UTC)


@dataclass
class Log:
    """Door events stored through ingest: two homes here (district 1 and another), one there."""

    home: int  # door of a citizen in district 1
    home_citizen: int
    far: int  # door of a citizen in another district
    far_citizen: int
    other: int  # door in the other municipality


def _home_in(session: Session, *, district_1: bool) -> tuple[int, int]:
    """(citizen id, home lock id) of the first citizen in / outside district 1 with a lock."""
    district = m.Citizen.district_id == 1 if district_1 else m.Citizen.district_id != 1
    row = session.execute(
        select(m.Citizen.id, m.DoorDevice.id)
        .join(m.DoorDevice, m.DoorDevice.dwelling_id == m.Citizen.dwelling_id)
        .where(m.Citizen.municipality_id == 1)
        .where(district)
        .order_by(m.Citizen.id)
    ).first()
    assert row is not None
    return row[0], row[1]


def _store(
    session: Session, *, employee_id: int, phone_id: int, door_id: int, at: dt.datetime
) -> None:
    """A visit at ``door_id`` by ``employee_id`` (unlock, then lock 20 minutes later)."""
    door = session.get(m.DoorDevice, door_id)
    employee = session.get(m.Employee, employee_id)
    phone = session.get(m.Phone, phone_id)
    assert door is not None
    assert employee is not None
    assert phone is not None
    key = DoorKey.generate()
    door.public_key = key.public.key.raw
    chain = EventChain(door.serial.encode())
    raws = []
    for minutes, kind in ((0, EventKind.UNLOCKED), (20, EventKind.LOCKED)):
        signed, chain = chain.append(
            key, kind=kind, time=at + dt.timedelta(minutes=minutes), subject=f"e{employee_id}"
        )
        raws.append(signed.raw)
    signed, chain = chain.append(
        key, kind=EventKind.REFUSED, time=at + dt.timedelta(minutes=30), reason="expired"
    )
    raws.append(signed.raw)
    report = ingest.ingest_upload(
        session,
        session=AppSession(employee, phone, at + dt.timedelta(hours=8)),
        upload=ingest.Upload(doors=[ingest.DoorBatch(door.serial, raws)]),
        now=at + dt.timedelta(hours=1),
    )
    assert report.stored == 3


@pytest.fixture
def log(engine: Engine, tenants: Tenants, client: TestClient) -> Log:
    with Session(engine) as session, session.begin():
        home_citizen, home = _home_in(session, district_1=True)
        far_citizen, far = _home_in(session, district_1=False)
        _store(
            session,
            employee_id=tenants.worker,
            phone_id=tenants.worker_phone,
            door_id=home,
            at=VISIT,
        )
        _store(
            session,
            employee_id=tenants.worker,
            phone_id=tenants.worker_phone,
            door_id=far,
            at=VISIT + dt.timedelta(hours=2),
        )
        _store(
            session,
            employee_id=tenants.other_employee,
            phone_id=tenants.other_phone,
            door_id=tenants.other_door,
            at=VISIT,
        )
    return Log(home, home_citizen, far, far_citizen, tenants.other_door)


def _items(
    client: TestClient, headers: dict[str, str], **params: object
) -> list[dict[str, object]]:
    response = client.get(URL, params=params, headers=headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, object]] = response.json()["items"]
    return items


def _doors(items: list[dict[str, object]]) -> set[object]:
    return {i["door"]["id"] for i in items if isinstance(i["door"], dict)}


def test_filters_by_employee_citizen_door_time_and_action(
    client: TestClient, engine: Engine, tenants: Tenants, log: Log
) -> None:
    admin = sign_in(client, tenants.admin, engine)
    door_events = [i for i in _items(client, admin) if i["source"] == "door"]
    assert _doors(door_events) == {log.home, log.far}

    mine = _items(client, admin, employee_id=tenants.worker)
    assert {i["who"]["id"] for i in mine if i["who"]} == {tenants.worker}  # type: ignore[index]
    assert _doors(mine) == {log.home, log.far}

    home = _items(client, admin, citizen_id=log.home_citizen)
    assert _doors(home) == {log.home}
    assert {i["citizen"]["id"] for i in home} == {log.home_citizen}  # type: ignore[index]

    assert _doors(_items(client, admin, door_device_id=log.far)) == {log.far}

    morning = _items(
        client, admin, since=VISIT.isoformat(), until=(VISIT + dt.timedelta(hours=1)).isoformat()
    )
    assert _doors(morning) == {log.home}
    assert len(morning) == 3

    refused = _items(client, admin, action="refused", door_device_id=log.home)
    assert len(refused) == 1
    assert refused[0]["reason_code"] == "expired"
    assert refused[0]["what"] == "Afvist"


def test_pages_are_newest_first(
    client: TestClient, engine: Engine, tenants: Tenants, log: Log
) -> None:
    admin = sign_in(client, tenants.admin, engine)
    page = client.get(URL, params={"limit": 2, "door_device_id": log.home}, headers=admin).json()
    assert [i["action"] for i in page["items"]] == ["refused", "locked"]
    assert page["next_offset"] == 2
    rest = client.get(
        URL, params={"limit": 2, "offset": 2, "door_device_id": log.home}, headers=admin
    ).json()
    assert [i["action"] for i in rest["items"]] == ["unlocked"]
    assert rest["next_offset"] is None


def test_csv_opens_in_danish_excel(
    client: TestClient, engine: Engine, tenants: Tenants, log: Log
) -> None:
    admin = sign_in(client, tenants.admin, engine)
    response = client.get(CSV_URL, params={"door_device_id": log.home}, headers=admin)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert "attachment" in response.headers["content-disposition"]
    raw = response.content
    assert raw.startswith("\ufeff".encode())
    lines = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert lines[0][:4] == ["Tidspunkt (dansk tid)", "Tidspunkt (UTC)", "Handling", "Årsag"]
    body = lines[1:]
    assert [r[2] for r in body] == ["Afvist", "Låst", "Låst op"]
    opened = body[2]
    assert opened[0] == "2026-11-26 08:10:00"
    assert opened[1] == "2026-11-26T07:10:00Z"
    with Session(engine) as session:
        worker = session.get(m.Employee, tenants.worker)
        door = session.get(m.DoorDevice, log.home)
        assert worker is not None
        assert door is not None
    assert opened[4] == worker.full_name
    assert opened[5] == worker.employee_number
    assert opened[8] == door.serial
    assert opened[9] == "Hoveddør"


def test_another_municipality_sees_none_of_these_rows(
    client: TestClient, engine: Engine, tenants: Tenants, log: Log
) -> None:
    other = sign_in(client, tenants.other_admin, engine)
    theirs = _items(client, other)
    assert _doors(theirs) == {log.other}
    assert _items(client, other, door_device_id=log.home) == []
    assert _items(client, other, employee_id=tenants.worker) == []
    response = client.get(CSV_URL, headers=other)
    assert response.status_code == 200
    text = response.content.decode("utf-8-sig")
    with Session(engine) as session:
        serials = {
            session.get(m.DoorDevice, d).serial  # type: ignore[union-attr]
            for d in (log.home, log.far, log.other)
        }
    with Session(engine) as session:
        other_serial = session.get(m.DoorDevice, log.other).serial  # type: ignore[union-attr]
    assert [s for s in serials if s in text] == [other_serial]  # only their own door

    # And the first municipality does not see the other's door.
    admin = sign_in(client, tenants.admin, engine)
    assert _items(client, admin, door_device_id=log.other) == []


def test_who_may_read(client: TestClient, engine: Engine, tenants: Tenants, log: Log) -> None:
    auditor = sign_in(client, tenants.auditor, engine)
    assert _doors(_items(client, auditor)) >= {log.home, log.far}
    assert client.get(CSV_URL, headers=auditor).status_code == 200

    # A district lead sees the homes of their district's citizens, not the others.
    lead = sign_in(client, tenants.lead, engine)
    seen = _items(client, lead)
    assert _doors(seen) == {log.home}
    assert _items(client, lead, door_device_id=log.far) == []

    assert client.get(URL).status_code == 401
    assert client.get(CSV_URL).status_code == 401


def test_a_care_worker_cannot_read_the_audit_log(scene: Scene, tenants: Tenants, log: Log) -> None:
    phone = scene.enrol(tenants.worker)
    with Session(scene.engine) as session:
        worker = session.get(m.Employee, tenants.worker)
        assert worker is not None
        number = worker.employee_number
    assert phone.login(number).status_code == 200
    for url in (URL, CSV_URL):
        response = scene.client.get(url, headers=phone.auth)
        assert response.status_code == 401
        assert "items" not in response.text


def test_search_by_employee_name_and_citizen_name_over_the_api(
    client: TestClient, engine: Engine, tenants: Tenants, log: Log
) -> None:
    admin = sign_in(client, tenants.admin, engine)
    with Session(engine) as session:
        worker = session.get(m.Employee, tenants.worker)
        citizen = session.get(m.Citizen, log.home_citizen)
        assert worker is not None
        assert citizen is not None
    by_name = _items(client, admin, employee=worker.full_name.split()[-1].lower())
    assert _doors(by_name) == {log.home, log.far}
    by_citizen = _items(client, admin, citizen=f"{citizen.family_name} {citizen.given_name}")
    assert _doors(by_citizen) == {log.home}
    # Another municipality's worker is never found, whatever the name.
    with Session(engine) as session:
        other = session.get(m.Employee, tenants.other_employee)
        assert other is not None
    assert _doors(_items(client, admin, employee=other.full_name)) == set()


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"since": "2026-13-01T00:00:00Z"}, "since"),
        ({"since": "2026-11-26T08:00:00"}, "since"),  # no time zone
        ({"action": "opened"}, "action"),
        ({"employee_id": "abc"}, "employee_id"),
        ({"citizen_id": "1.5"}, "citizen_id"),
    ],
)
def test_a_bad_filter_value_is_a_422_naming_the_field(
    client: TestClient,
    engine: Engine,
    tenants: Tenants,
    log: Log,
    params: dict[str, str],
    field: str,
) -> None:
    admin = sign_in(client, tenants.admin, engine)
    for url in (URL, CSV_URL):
        response = client.get(url, params=params, headers=admin)
        assert response.status_code == 422, (url, response.text)
        error = response.json()["error"]
        assert error["code"] == "request.invalid"
        assert f"Ugyldig værdi i {field}; ret den og prøv igen" in error["message"]
        assert f"Invalid value in {field}; correct it and try again" in error["message_en"]
        assert [d["field"] for d in error["details"]] == [f"query.{field}"]
