"""The overview pages through the browser's eyes: dashboard, doors, audit log with its exports,
the printable home report, and who may see what."""

from __future__ import annotations

import datetime as dt
import io
import secrets
from dataclasses import dataclass

import openpyxl  # type: ignore[import-untyped]
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from carekey.clock import FrozenClock
from carekey.domain import enums as e
from carekey.domain.exposure import door_tolerance
from carekey.store import models as m
from tests.web.conftest import Tenants, web_sign_in

MINUTE = dt.timedelta(minutes=1)


@dataclass
class Home:
    """A district-1 citizen's home lock and one in another district."""

    citizen: int
    citizen_name: str
    lock: int
    lock_serial: str
    far_lock: int
    far_lock_serial: str
    worker_name: str
    worker_number: str


def _number(engine: Engine, employee_id: int) -> str:
    with Session(engine) as db:
        employee = db.get(m.Employee, employee_id)
        assert employee is not None
        return employee.employee_number


def _home(engine: Engine, tenants: Tenants) -> Home:
    with Session(engine) as db:
        citizen, lock = db.execute(
            select(m.Citizen, m.DoorDevice)
            .join(m.DoorDevice, m.DoorDevice.dwelling_id == m.Citizen.dwelling_id)
            .where(m.Citizen.district_id == 1, m.Citizen.municipality_id == 1)
            .order_by(m.Citizen.id)
        ).first()  # type: ignore[misc]
        far = (
            db.execute(
                select(m.DoorDevice)
                .join(m.Citizen, m.DoorDevice.dwelling_id == m.Citizen.dwelling_id)
                .where(m.Citizen.district_id != 1, m.Citizen.municipality_id == 1)
                .order_by(m.Citizen.id)
            )
            .scalars()
            .first()
        )
        worker = db.get(m.Employee, tenants.worker)
        assert far is not None
        assert worker is not None
        return Home(
            citizen.id,
            f"{citizen.given_name} {citizen.family_name}",
            lock.id,
            lock.serial,
            far.id,
            far.serial,
            worker.full_name,
            worker.employee_number,
        )


def _events(
    engine: Engine,
    door_id: int,
    rows: list[tuple[e.AuditAction, dt.datetime, int | None, int | None]],
) -> None:
    with Session(engine) as db, db.begin():
        door = db.get(m.DoorDevice, door_id)
        assert door is not None
        for action, at, employee_id, citizen_id in rows:
            door.last_event_seq += 1
            db.add(
                m.AuditEvent(
                    municipality_id=door.municipality_id,
                    source=e.AuditSource.DOOR,
                    action=action,
                    door_device_id=door.id,
                    employee_id=employee_id,
                    citizen_id=citizen_id,
                    occurred_at=at,
                    received_at=at,
                    door_seq=door.last_event_seq,
                )
            )


def _panel(html: str, heading_id: str) -> str:
    """The dashboard panel whose heading has ``heading_id``."""
    start = html.index(f'id="{heading_id}"')
    return html[start : html.index("</section>", start)]


def _signed_in(client: TestClient, clock: FrozenClock, engine: Engine, employee: int) -> None:
    with Session(engine) as db:
        municipality = db.execute(
            select(m.Municipality.code)
            .join(m.Employee, m.Employee.municipality_id == m.Municipality.id)
            .where(m.Employee.id == employee)
        ).scalar_one()
    web_sign_in(client, clock, _number(engine, employee), municipality)


def test_dashboard_shows_an_unlocked_door_and_a_blocked_phones_doors_until_they_learn(
    client: TestClient, clock: FrozenClock, tenants: Tenants, engine: Engine
) -> None:
    home = _home(engine, tenants)
    now = clock.now()
    _events(
        engine,
        home.lock,
        [(e.AuditAction.UNLOCKED, now - 40 * MINUTE, tenants.worker, home.citizen)],
    )
    until = now + dt.timedelta(hours=3)
    with Session(engine) as db, db.begin():
        db.add(m.DenylistVersion(municipality_id=1, version=7, created_at=now - MINUTE))
        db.add(
            m.IssuedCredential(
                credential_id=secrets.token_bytes(16),
                municipality_id=1,
                issuer_kid=bytes(16),
                subject_type=e.SubjectType.EMPLOYEE,
                employee_id=tenants.worker,
                kind=e.CredentialKind.HOME,
                serial=1,
                denylist_version=0,
                door_device_ids=[home.far_lock],
                not_before=now - dt.timedelta(hours=5),
                expires_at=until,
                revoked_at=now - MINUTE,
            )
        )
        far_lock = db.get(m.DoorDevice, home.far_lock)
        assert far_lock is not None
        # The latest a key works there: its expiry plus the door's clock tolerance.
        until += door_tolerance(far_lock.last_seen_at, until)
    _signed_in(client, clock, engine, tenants.admin)

    page = client.get("/dashboard")
    assert page.status_code == 200
    assert "Kun dine distrikter" not in page.text  # an administrator's cover the municipality
    assert "Hoveddøre efterladt ulåst" in page.text
    assert home.lock_serial in page.text
    assert home.worker_name in page.text
    assert "Døre der endnu ikke kender en spærring" in page.text
    exposed = _panel(page.text, "exposed-h")
    assert home.worker_name in exposed  # one line for the revocation, not one per door
    assert "16.11. " not in page.text
    assert until.astimezone(dt.timezone(dt.timedelta(hours=1))).strftime("%H:%M") in exposed
    assert 'href="/doors?exposed=1"' in exposed
    assert 'rel="stylesheet" href="/static/overview.css"' in page.text
    assert "style=" not in page.text
    assert "<script>" not in page.text

    with Session(engine) as db, db.begin():
        door = db.get(m.DoorDevice, home.far_lock)
        assert door is not None
        door.denylist_version_seen = 7
    learnt = _panel(client.get("/dashboard").text, "exposed-h")
    assert home.worker_name not in learnt
    assert "Alle døre kender de spærringer" in learnt

    english = client.get("/lang/en?next=/dashboard")
    assert "Front doors left unlocked" in english.text


def test_doors_filters_and_detail(
    client: TestClient, clock: FrozenClock, tenants: Tenants, engine: Engine
) -> None:
    home = _home(engine, tenants)
    with Session(engine) as db, db.begin():
        for door in db.execute(select(m.DoorDevice).where(m.DoorDevice.municipality_id == 1)):
            door[0].battery_pct = 90 if door[0].battery_pct is not None else None
            door[0].clock_offset_ms = 0
        lock = db.get(m.DoorDevice, home.lock)
        far = db.get(m.DoorDevice, home.far_lock)
        assert lock is not None
        assert far is not None
        lock.battery_pct = 7
        far.clock_offset_ms = -9_000
    _events(engine, home.lock, [(e.AuditAction.REFUSED, clock.now() - MINUTE, None, None)])
    _signed_in(client, clock, engine, tenants.admin)

    low = client.get("/doors?low_battery=1")
    assert low.status_code == 200
    assert home.lock_serial in low.text
    assert home.far_lock_serial not in low.text
    drifting = client.get("/doors?drifting=1")
    assert home.far_lock_serial in drifting.text
    assert home.lock_serial not in drifting.text
    gates = client.get("/doors?kind=gate_controller")
    assert "GC-" in gates.text
    assert "HL-" not in gates.text
    assert client.get("/doors?kind=nonsense&offset=x").status_code == 200

    detail = client.get(f"/doors/{home.lock}")
    assert detail.status_code == 200
    assert "7\u00a0%" in detail.text
    assert "Afvist" in detail.text
    assert client.get("/doors/99999").status_code == 404


def test_audit_filters_and_exports(
    client: TestClient, clock: FrozenClock, tenants: Tenants, engine: Engine
) -> None:
    home = _home(engine, tenants)
    now = clock.now()
    _events(
        engine,
        home.lock,
        [
            (e.AuditAction.UNLOCKED, now - 50 * MINUTE, tenants.worker, home.citizen),
            (e.AuditAction.LOCKED, now - 30 * MINUTE, tenants.worker, home.citizen),
        ],
    )
    _events(engine, home.far_lock, [(e.AuditAction.REFUSED, now - 20 * MINUTE, None, None)])
    _signed_in(client, clock, engine, tenants.auditor)

    page = client.get("/audit")
    assert page.status_code == 200
    assert home.worker_name in page.text
    assert home.far_lock_serial in page.text
    by_employee = client.get(f"/audit?employee={home.worker_number}")
    assert home.far_lock_serial not in by_employee.text
    assert "Låst op" in by_employee.text
    assert "Låst" in by_employee.text
    refused = client.get("/audit?action=refused")
    assert home.far_lock_serial in refused.text
    assert home.worker_name not in refused.text
    by_door = client.get(f"/audit?door={home.lock_serial}")
    assert home.far_lock_serial not in by_door.text
    assert home.lock_serial in by_door.text
    unknown = client.get("/audit?employee=NOBODY")
    assert "Ingen hændelser passer til filteret." in unknown.text
    assert "Søg på en del af navnet" in unknown.text
    day = now.date().isoformat()
    assert home.worker_name in client.get(f"/audit?from={day}&to={day}").text
    assert "Ingen hændelser" in client.get("/audit?from=2020-01-01&to=2020-01-02").text

    csv = client.get(f"/audit.csv?employee={home.worker_number}")
    assert csv.status_code == 200
    assert csv.content.startswith("\ufeff".encode())
    lines = csv.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("Tidspunkt (dansk tid);Tidspunkt (UTC);Handling")
    assert len(lines) == 3
    assert ";Låst op;" in lines[2]
    assert ";Låst;" in lines[1]

    xlsx = client.get(f"/audit.xlsx?employee={home.worker_number}")
    assert xlsx.status_code == 200
    assert xlsx.headers["content-type"].startswith("application/vnd.openxmlformats")
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("Tidspunkt (dansk tid)", "Tidspunkt (UTC)", "Handling")
    assert [r[2] for r in rows[1:]] == ["Låst", "Låst op"]
    assert rows[1][4] == home.worker_name
    assert isinstance(rows[1][0], dt.datetime)

    # The auditor reads the log, the overview, the doors and the home report; changes nothing.
    assert client.get("/dashboard").status_code == 200
    assert client.get("/doors").status_code == 200
    assert client.get(f"/citizens/{home.citizen}/report").status_code == 200
    assert 'href="/dashboard"' in page.text


def test_excel_export_refuses_more_rows_than_its_limit(
    client: TestClient,
    clock: FrozenClock,
    tenants: Tenants,
    engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from carekey.audit import export

    home = _home(engine, tenants)
    now = clock.now()
    _events(
        engine,
        home.lock,
        [(e.AuditAction.UNLOCKED, now - i * MINUTE, None, None) for i in range(1, 4)],
    )
    _signed_in(client, clock, engine, tenants.admin)
    monkeypatch.setattr(export, "XLSX_MAX_ROWS", 2)
    refused = client.get("/audit.xlsx")
    assert refused.status_code == 422
    assert "Indsnævr filteret" in refused.text


def test_citizen_report_shows_visits_in_and_out(
    client: TestClient, clock: FrozenClock, tenants: Tenants, engine: Engine
) -> None:
    home = _home(engine, tenants)
    visit = dt.datetime(2026, 11, 24, 8, 5, tzinfo=dt.UTC)  # Tuesday 09:05 Danish time
    _events(
        engine,
        home.lock,
        [
            (e.AuditAction.UNLOCKED, visit, tenants.worker, home.citizen),
            (e.AuditAction.LOCKED, visit + 22 * MINUTE, tenants.worker, home.citizen),
            (e.AuditAction.MANUAL_TURN, visit + 3 * 60 * MINUTE, None, home.citizen),
        ],
    )
    _signed_in(client, clock, engine, tenants.admin)
    report = client.get(f"/citizens/{home.citizen}/report")
    assert report.status_code == 200
    text = report.text
    assert "Hvem har været i hjemmet" in text
    assert "Københavns Kommune" in text
    assert home.citizen_name in text
    assert "23.11.2026 – 29.11.2026" in text  # this week by default
    assert "09:05" in text
    assert "09:27" in text
    assert home.worker_name in text
    assert "22 min." in text
    assert "Borgerens egen nøgle" in text
    assert "Udskrevet" in text
    earlier = client.get(f"/citizens/{home.citizen}/report?from=2026-11-01&to=2026-11-07")
    assert "09:05" not in earlier.text
    assert client.get("/citizens/999999/report").status_code == 404


def test_district_lead_and_other_municipality_see_only_their_own(
    client: TestClient, clock: FrozenClock, tenants: Tenants, engine: Engine
) -> None:
    home = _home(engine, tenants)
    now = clock.now()
    _events(engine, home.lock, [(e.AuditAction.UNLOCKED, now - 5 * MINUTE, None, None)])
    _events(engine, home.far_lock, [(e.AuditAction.UNLOCKED, now - 5 * MINUTE, None, None)])
    _signed_in(client, clock, engine, tenants.lead)
    doors = client.get("/doors?kind=home_lock")
    assert home.lock_serial in doors.text
    assert home.far_lock_serial not in doors.text
    assert client.get(f"/doors/{home.far_lock}").status_code == 403
    audit = client.get("/audit").text
    assert home.lock_serial in audit
    assert home.far_lock_serial not in audit
    dashboard = client.get("/dashboard")
    assert dashboard.status_code == 200
    assert "Kun dine distrikter" in dashboard.text  # the figures cover the lead's districts

    client.cookies.clear()
    _signed_in(client, clock, engine, tenants.other_admin)
    assert client.get(f"/doors/{home.lock}").status_code == 404
    assert client.get(f"/citizens/{home.citizen}/report").status_code == 404
    other = client.get("/audit")
    assert home.lock_serial not in other.text
    assert "Ingen hændelser" in other.text
    assert home.lock_serial not in client.get("/doors").text


def _revoked(
    db: Session,
    employee_id: int,
    doors: list[int],
    *,
    revoked_at: dt.datetime,
    expires_at: dt.datetime,
    phone_id: int | None = None,
) -> None:
    db.add(
        m.IssuedCredential(
            credential_id=secrets.token_bytes(16),
            municipality_id=1,
            issuer_kid=bytes(16),
            subject_type=e.SubjectType.EMPLOYEE,
            employee_id=employee_id,
            phone_id=phone_id,
            kind=e.CredentialKind.HOME,
            serial=secrets.randbelow(2**31),
            denylist_version=0,
            door_device_ids=doors,
            not_before=expires_at - dt.timedelta(hours=8),
            expires_at=expires_at,
            revoked_at=revoked_at,
        )
    )


def test_dashboard_groups_the_exposed_doors_by_revocation(
    client: TestClient, clock: FrozenClock, tenants: Tenants, engine: Engine
) -> None:
    home = _home(engine, tenants)
    now = clock.now()
    lost_at, early, late = (
        now - 20 * MINUTE,
        now + dt.timedelta(hours=2),
        now + dt.timedelta(hours=6),
    )
    with Session(engine) as db, db.begin():
        doors = list(
            db.execute(
                select(m.DoorDevice.id)
                .where(m.DoorDevice.municipality_id == 1)
                .where(m.DoorDevice.kind == e.DoorKind.HOME_LOCK)
                .order_by(m.DoorDevice.id)
                .limit(5)
            ).scalars()
        )
        phone = db.get(m.Phone, tenants.worker_phone)
        assert phone is not None
        phone.status = e.PhoneStatus.LOST
        db.add(m.DenylistVersion(municipality_id=1, version=5, created_at=lost_at))
        # The lost phone: two bundles revoked in the same click, five doors between them.
        _revoked(
            db, tenants.worker, doors[:3], revoked_at=lost_at, expires_at=early, phone_id=phone.id
        )
        _revoked(
            db, tenants.worker, doors[2:5], revoked_at=lost_at, expires_at=late, phone_id=phone.id
        )
        # One of the five has already learnt of it.
        learnt = db.get(m.DoorDevice, doors[0])
        assert learnt is not None
        learnt.denylist_version_seen = 5
        label = phone.label
        # The latest a key works: its expiry plus the door's clock tolerance.
        late = max(
            late + door_tolerance(d.last_seen_at, late)
            for d in (db.get(m.DoorDevice, i) for i in doors[2:5])
            if d is not None
        )
    _signed_in(client, clock, engine, tenants.admin)

    exposed = _panel(client.get("/dashboard").text, "exposed-h")
    assert exposed.count('class="revocation"') == 1  # one line for the one revocation
    assert home.worker_name in exposed
    assert "Telefon spærret" in exposed
    assert label in exposed
    assert '<a href="/doors?exposed=1">4</a>' in exposed  # doors not yet reached
    cet = dt.timezone(dt.timedelta(hours=1))
    assert lost_at.astimezone(cet).strftime("%d.%m. %H:%M") in exposed  # when it was blocked
    assert late.astimezone(cet).strftime("%d.%m. %H:%M") in exposed  # the latest a key works
    assert early.astimezone(cet).strftime("%d.%m. %H:%M") not in exposed
    assert "Se alle døre (4)" in exposed
    listed = client.get("/doors?exposed=1").text
    assert "4 af 4" in listed or "1–4 af 4" in listed


def test_numbers_follow_the_language(
    client: TestClient, clock: FrozenClock, tenants: Tenants, engine: Engine
) -> None:
    home = _home(engine, tenants)
    with Session(engine) as db, db.begin():
        for door in db.execute(select(m.DoorDevice).where(m.DoorDevice.municipality_id == 1)):
            door[0].clock_offset_ms = 0
        far = db.get(m.DoorDevice, home.far_lock)
        assert far is not None
        far.clock_offset_ms = 3_140
        far.battery_pct = 6
    _signed_in(client, clock, engine, tenants.admin)

    danish = client.get("/dashboard").text
    drift = _panel(danish, "drift-h")
    assert "mere end 2,0\u00a0s" in drift
    assert "+3,1\u00a0s" in drift
    assert "6\u00a0%" in _panel(danish, "battery-h")
    assert "+3,1\u00a0s" in client.get(f"/doors/{home.far_lock}").text

    english = client.get("/lang/en?next=/dashboard").text
    drift = _panel(english, "drift-h")
    assert "more than 2.0\u00a0s" in drift
    assert "+3.1\u00a0s" in drift
    assert "2,0" not in drift
    assert "6%" in _panel(english, "battery-h")


def test_number_helpers_format_by_language() -> None:
    from carekey.adminui import formatting, i18n

    assert formatting.number(1234567) == "1.234.567"
    assert formatting.number(2.0, 1) == "2,0"
    assert formatting.seconds(-2460, sign=True) == "-2,5\u00a0s"
    assert formatting.percent(15) == "15\u00a0%"
    token = i18n.use_language("en")
    try:
        assert formatting.number(1234567) == "1,234,567"
        assert formatting.number(2.0, 1) == "2.0"
        assert formatting.seconds(2460, sign=True) == "+2.5\u00a0s"
        assert formatting.percent(15) == "15%"
    finally:
        i18n.reset_language(token)


def test_the_door_page_shows_the_events_the_door_dropped(
    client: TestClient, clock: FrozenClock, tenants: Tenants, engine: Engine
) -> None:
    home = _home(engine, tenants)
    _signed_in(client, clock, engine, tenants.admin)
    quiet = client.get(f"/doors/{home.lock}")
    assert quiet.status_code == 200
    assert "Hændelser tabt i døren" not in quiet.text  # nothing dropped: no row
    with Session(engine) as db, db.begin():
        lock = db.get(m.DoorDevice, home.lock)
        assert lock is not None
        lock.events_dropped = 1234

    page = client.get(f"/doors/{home.lock}")
    assert "Hændelser tabt i døren" in page.text
    assert 'data-events-dropped="1234"' in page.text
    assert "1.234" in page.text
    english = client.get(f"/lang/en?next=/doors/{home.lock}")
    assert "Events dropped by the door" in english.text
