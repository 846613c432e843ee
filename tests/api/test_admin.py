"""The administration API: employees, phones, districts, citizens, doors, emergency keys and the
log of administrative actions, as an administrator, a district lead and an auditor see them."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from carekey.domain import enums as e
from carekey.keyservice.bundle_doors import current_doors
from carekey.store import models as m
from tests.api.conftest import START, Tenants, sign_in, totp_code_for

API = "/api/v1/admin"


def _count(engine: Engine, model: type[m.Base]) -> int:
    with Session(engine) as session:
        return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def test_administrator_creates_an_employee_who_signs_in_and_is_found_by_search(
    client: TestClient, tenants: Tenants, engine: Engine
) -> None:
    admin = sign_in(client, tenants.admin, engine)
    created = client.post(
        f"{API}/employees",
        headers=admin,
        json={
            "employee_number": "L0042",
            "full_name": "Birgitte Bøgh",
            "email": "bb@kk.example",
            "roles": ["district_lead"],
            "district_ids": [2, 1],
            "password": "en-god-adgangskode",
            "reason": "ny leder i Indre By",
        },
    )
    assert created.status_code == 201, created.text
    employee = created.json()
    assert employee["roles"] == ["district_lead"]
    assert [d["code"] for d in employee["districts"]] == ["D01", "D02"]
    assert employee["password_set"] is True
    assert "password_hash" not in created.text

    # The new lead has no second factor yet: the password alone gets no token.
    code = "000000"
    signed_in = client.post(
        "/api/v1/auth/token",
        json={
            "municipality": "0101",
            "employee_number": "L0042",
            "password": "en-god-adgangskode",
            "totp_code": code,
        },
    )
    assert signed_in.status_code == 401
    code = totp_code_for(client, employee["id"], engine)
    signed_in = client.post(
        "/api/v1/auth/token",
        json={
            "municipality": "0101",
            "employee_number": "L0042",
            "password": "en-god-adgangskode",
            "totp_code": code,
        },
    )
    assert signed_in.status_code == 200, signed_in.text

    found = client.get(f"{API}/employees", headers=admin, params={"q": "bøgh"}).json()
    assert found["total"] == 1
    assert found["items"][0]["id"] == employee["id"]
    assert client.get(f"{API}/employees", headers=admin, params={"q": "l004"}).json()["total"] == 1

    log = client.get(f"{API}/actions", headers=admin, params={"action": "employee.created"}).json()
    assert log["total"] == 1
    entry = log["items"][0]
    assert entry["target_id"] == str(employee["id"])
    assert entry["reason"] == "ny leder i Indre By"
    assert entry["actor_employee_id"] == tenants.admin
    assert entry["details"]["district_ids"] == [1, 2]


def test_duplicates_are_a_clear_409_and_nothing_is_written(
    client: TestClient, tenants: Tenants, engine: Engine
) -> None:
    admin = sign_in(client, tenants.admin, engine)
    employees, phones, actions = (_count(engine, t) for t in (m.Employee, m.Phone, m.AdminAction))

    response = client.post(
        f"{API}/employees",
        headers=admin,
        json={"employee_number": "E00002", "full_name": "Dublet", "roles": ["care_worker"]},
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "employee.number_taken"
    assert "medarbejdernummer" in response.json()["error"]["message"]

    response = client.post(f"{API}/phones", headers=admin, json={"label": "KK-TLF-00001"})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "phone.label_taken"
    response = client.patch(f"{API}/phones/3", headers=admin, json={"label": "KK-TLF-00004"})
    assert response.status_code == 409
    response = client.post(f"{API}/districts", headers=admin, json={"code": "D01", "name": "X"})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "district.code_taken"

    # A request that fails half-way (valid district, then one that does not exist) writes nothing.
    response = client.post(
        f"{API}/employees",
        headers=admin,
        json={
            "employee_number": "N1",
            "full_name": "Halv",
            "roles": ["care_worker"],
            "district_ids": [1, 999],
        },
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "district.not_found"
    assert (employees, phones, actions) == tuple(
        _count(engine, t) for t in (m.Employee, m.Phone, m.AdminAction)
    )
    assert client.get(f"{API}/phones/3", headers=admin).json()["label"] == "KK-TLF-00003"


def test_changing_employees_and_phones(
    client: TestClient, tenants: Tenants, engine: Engine
) -> None:
    admin = sign_in(client, tenants.admin, engine)
    worker = tenants.worker
    response = client.patch(
        f"{API}/employees/{worker}",
        headers=admin,
        json={"roles": ["care_worker", "installer"], "district_ids": [3], "email": None},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["roles"] == ["care_worker", "installer"]
    assert [d["id"] for d in body["districts"]] == [3]
    assert body["email"] is None
    assert body["full_name"]  # untouched

    # Fields left out stay; an explicit null for a required field is refused, not ignored.
    assert client.patch(f"{API}/employees/{worker}", headers=admin, json={}).status_code == 200
    refused = client.patch(f"{API}/employees/{worker}", headers=admin, json={"full_name": None})
    assert refused.status_code == 422
    assert (
        client.patch(f"{API}/employees/{worker}", headers=admin, json={"x": 1}).status_code == 422
    )

    own = client.patch(
        f"{API}/employees/{tenants.admin}", headers=admin, json={"roles": ["auditor"]}
    )
    assert own.status_code == 409
    assert own.json()["error"]["code"] == "employee.own_admin_role"

    phone = client.post(
        f"{API}/phones",
        headers=admin,
        json={"label": "KK-TLF-NY", "model": "iPhone 16", "employee_id": worker},
    )
    assert phone.status_code == 201
    assert phone.json()["employee"]["id"] == worker
    assert phone.json()["enrolled"] is False
    moved = client.patch(
        f"{API}/phones/{phone.json()['id']}", headers=admin, json={"employee_id": None}
    )
    assert moved.json()["employee"] is None
    detail = client.get(f"{API}/employees/{worker}", headers=admin).json()
    assert "KK-TLF-NY" not in [p["label"] for p in detail["phones"]]
    changes = client.get(f"{API}/actions", headers=admin, params={"target_type": "phone"}).json()
    assert [a["action"] for a in changes["items"]] == ["phone.changed", "phone.created"]
    assert changes["items"][0]["details"] == {"employee_id": {"from": worker, "to": None}}


def test_moving_a_citizen_moves_their_doors_to_the_other_districts_employees(
    client: TestClient, tenants: Tenants, engine: Engine
) -> None:
    admin = sign_in(client, tenants.admin, engine)
    with Session(engine) as session:
        citizen = (
            session.execute(
                select(m.Citizen).where(m.Citizen.district_id == 1).order_by(m.Citizen.id)
            )
            .scalars()
            .first()
        )
        assert citizen is not None
        home_lock = session.execute(
            select(m.DoorDevice.id).where(m.DoorDevice.dwelling_id == citizen.dwelling_id)
        ).scalar_one()
        worker = session.get(m.Employee, tenants.worker)
        assert worker is not None
        now = START
        assert home_lock in {d.device_id for d in current_doors(session, employee=worker, now=now)}

    response = client.patch(
        f"{API}/citizens/{citizen.id}",
        headers=admin,
        json={"district_id": 3, "reason": "flyttet til plejebolig på Østerbro"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["district"]["code"] == "D03"

    with Session(engine) as session:
        worker = session.get(m.Employee, tenants.worker)
        assert worker is not None
        districts = set(
            session.execute(
                select(m.EmployeeDistrict.district_id).where(
                    m.EmployeeDistrict.employee_id == worker.id
                )
            ).scalars()
        )
        doors = {d.device_id for d in current_doors(session, employee=worker, now=now)}
        assert (home_lock in doors) == (3 in districts)

    # Removal has its own action, which also withdraws the door.
    refused = client.patch(
        f"{API}/citizens/{citizen.id}", headers=admin, json={"status": "removed"}
    )
    assert refused.status_code == 422


def test_citizen_and_door_details_show_address_doors_and_state(
    client: TestClient, tenants: Tenants, engine: Engine
) -> None:
    admin = sign_in(client, tenants.admin, engine)
    citizen = client.get(f"{API}/citizens/1", headers=admin).json()
    kinds = {d["kind"] for d in citizen["doors"]}
    assert {"home_lock", "entrance_controller"} <= kinds
    assert citizen["address"]["text"].startswith(citizen["address"]["entrance_label"])
    assert citizen["address"]["postal_code"] in citizen["address"]["text"]

    home = next(d for d in citizen["doors"] if d["kind"] == "home_lock")
    door = client.get(f"{API}/doors/{home['id']}", headers=admin).json()
    assert door["placement"] == "dwelling"
    assert door["citizen_id"] == 1
    assert door["address"] == citizen["address"]
    assert door["firmware_version"] == "2.3.1"
    for field in ("battery_pct", "last_seen_at", "clock_offset_ms", "last_event_seq"):
        assert field in door
    assert door["denylist_version_current"] >= door["denylist_version_seen"]
    assert door["lock_state"] is None  # not reported by the door's log yet
    assert door["door_state"] is None
    assert door["events_dropped"] == 0
    with Session(engine) as session, session.begin():
        row = session.get(m.DoorDevice, home["id"])
        assert row is not None
        row.events_dropped = 17
    assert client.get(f"{API}/doors/{home['id']}", headers=admin).json()["events_dropped"] == 17

    weak = client.get(f"{API}/doors", headers=admin, params={"low_battery": True}).json()
    batteries = [d["battery_pct"] for d in weak["items"]]
    assert batteries
    assert batteries == sorted(batteries)
    assert all(b < 20 for b in batteries)
    gates = client.get(f"{API}/doors", headers=admin, params={"kind": "gate_controller"}).json()
    assert gates["total"] == 6
    assert all(g["placement"] == "gate" for g in gates["items"])


def test_lists_page_through_everything_once(
    client: TestClient, tenants: Tenants, engine: Engine
) -> None:
    admin = sign_in(client, tenants.admin, engine)
    seen: list[int] = []
    offset = 0
    while True:
        page = client.get(
            f"{API}/citizens", headers=admin, params={"limit": 7, "offset": offset}
        ).json()
        seen += [c["id"] for c in page["items"]]
        offset += 7
        if offset >= page["total"]:
            break
    assert sorted(seen) == list(range(1, 41))
    assert client.get(f"{API}/employees", headers=admin, params={"limit": 201}).status_code == 422
    assert client.get(f"{API}/employees", headers=admin, params={"offset": -1}).status_code == 422
    in_district = client.get(
        f"{API}/citizens", headers=admin, params={"district_id": 2, "q": "%"}
    ).json()
    assert in_district["total"] == 0  # "%" is a character to search for, not a wildcard
    # Ids no database could hold are simply not found, never a server error.
    assert client.get(f"{API}/employees/{2**40}", headers=admin).status_code == 422
    assert client.get(f"{API}/employees/999999", headers=admin).status_code == 404


def test_district_leads_read_their_own_districts_only_and_auditors_read_only(
    client: TestClient, tenants: Tenants, engine: Engine
) -> None:
    lead = sign_in(client, tenants.lead, engine)
    employees = client.get(f"{API}/employees", headers=lead, params={"limit": 200}).json()
    assert employees["total"] > 0
    assert all(1 in {d["id"] for d in x["districts"]} for x in employees["items"])
    citizens = client.get(f"{API}/citizens", headers=lead, params={"limit": 200}).json()
    assert {c["district"]["id"] for c in citizens["items"]} == {1}
    assert [d["id"] for d in client.get(f"{API}/districts", headers=lead).json()] == [1]
    phones = client.get(f"{API}/phones", headers=lead, params={"limit": 200}).json()
    assert tenants.worker_phone in {p["id"] for p in phones["items"]}

    other = next(c for c in range(1, 41) if c not in {x["id"] for x in citizens["items"]})
    assert client.get(f"{API}/citizens/{other}", headers=lead).status_code == 403
    assert client.get(f"{API}/citizens/{citizens['items'][0]['id']}", headers=lead).is_success
    refused = [
        client.post(f"{API}/districts", headers=lead, json={"code": "X", "name": "X"}),
        client.patch(f"{API}/citizens/{other}", headers=lead, json={"given_name": "X"}),
        client.patch(f"{API}/employees/{tenants.admin}", headers=lead, json={"full_name": "X"}),
        client.get(f"{API}/actions", headers=lead),
    ]
    assert [r.status_code for r in refused] == [403] * len(refused)
    # The doors a lead sees are those on the way to their districts' citizens.
    doors = client.get(f"{API}/doors", headers=lead, params={"limit": 200}).json()
    everything = client.get(f"{API}/doors", headers=sign_in(client, tenants.admin, engine))
    assert 0 < doors["total"] < everything.json()["total"]

    # Auditors read everything of their municipality and change nothing.
    auditor = sign_in(client, tenants.auditor, engine)
    for path in ("/employees", "/phones", "/districts", "/citizens", "/doors", "/actions"):
        response = client.get(API + path, headers=auditor)
        assert response.status_code == 200, path
    changes = [
        client.post(f"{API}/districts", headers=auditor, json={"code": "X", "name": "X"}),
        client.patch(f"{API}/employees/{tenants.worker}", headers=auditor, json={"full_name": "X"}),
        client.post(
            f"{API}/employees/{tenants.worker}/block", headers=auditor, json={"reason": "x"}
        ),
    ]
    assert [r.status_code for r in changes] == [403] * len(changes)


def test_emergency_keys_are_listed_while_live_and_kept_after(
    client: TestClient, tenants: Tenants, engine: Engine
) -> None:
    admin = sign_in(client, tenants.admin, engine)
    with Session(engine) as session:
        outside = (
            session.execute(
                select(m.Citizen.id)
                .where(m.Citizen.status == e.CitizenStatus.ACTIVE)
                .where(
                    m.Citizen.district_id.not_in(
                        select(m.EmployeeDistrict.district_id).where(
                            m.EmployeeDistrict.employee_id == tenants.worker
                        )
                    )
                )
            )
            .scalars()
            .first()
        )
    granted = client.post(
        f"{API}/emergency-keys",
        headers=admin,
        json={
            "employee_id": tenants.worker,
            "citizen_id": outside,
            "minutes": 120,
            "reason": "vikar",
        },
    )
    assert granted.status_code == 201, granted.text
    grant_id = granted.json()["id"]

    live = client.get(f"{API}/emergency-keys", headers=admin).json()
    assert [g["id"] for g in live["items"]] == [grant_id]
    detail = client.get(f"{API}/emergency-keys/{grant_id}", headers=admin).json()
    assert detail["active"] is True
    assert detail["employee"]["id"] == tenants.worker
    assert detail["citizen"]["id"] == outside
    assert detail["granted_by"]["id"] == tenants.admin
    assert detail["reason"] == "vikar"

    client.post(f"{API}/emergency-keys/{grant_id}/revoke", headers=admin, json={"reason": "færdig"})
    assert client.get(f"{API}/emergency-keys", headers=admin).json()["total"] == 0
    everything = client.get(f"{API}/emergency-keys", headers=admin, params={"state": "all"}).json()
    assert [(g["id"], g["active"]) for g in everything["items"]] == [(grant_id, False)]


def test_the_door_api_shows_the_lock_and_door_state_its_log_reported(
    client: TestClient, tenants: Tenants, engine: Engine
) -> None:
    with Session(engine) as db, db.begin():
        door = (
            db.execute(
                select(m.DoorDevice)
                .where(m.DoorDevice.kind == e.DoorKind.HOME_LOCK, m.DoorDevice.municipality_id == 1)
                .order_by(m.DoorDevice.id)
            )
            .scalars()
            .first()
        )
        assert door is not None
        door.lock_state = e.LockState.UNKNOWN
        door.door_state = e.DoorSensorState.AJAR
        door_id = door.id
    admin = sign_in(client, tenants.admin, engine)
    found = client.get(f"{API}/doors/{door_id}", headers=admin).json()
    assert (found["lock_state"], found["door_state"]) == ("unknown", "ajar")
    listed = client.get(f"{API}/doors", headers=admin, params={"kind": "home_lock"}).json()
    assert any(d["door_state"] == "ajar" for d in listed["items"])
