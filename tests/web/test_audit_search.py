"""The audit log for people (issue 18): search by an employee's name and a citizen's name or
address, a bad filter value says what to fix instead of showing (or exporting) everything, and
the auditor's "who has been in this home" report is itself logged."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from carekey.clock import FrozenClock
from carekey.domain import enums as e
from carekey.store import models as m
from tests.web.conftest import Tenants
from tests.web.test_overview_pages import MINUTE, Home, _events, _home, _signed_in


def _street(engine: Engine, home: Home) -> tuple[str, str]:
    """(street, postal code) of the citizen's home."""
    with Session(engine) as db:
        row = db.execute(
            select(m.Property.street, m.Property.postal_code)
            .join(m.Entrance, m.Entrance.property_id == m.Property.id)
            .join(m.Dwelling, m.Dwelling.entrance_id == m.Entrance.id)
            .join(m.DoorDevice, m.DoorDevice.dwelling_id == m.Dwelling.id)
            .where(m.DoorDevice.id == home.lock)
        ).one()
        return str(row[0]), str(row[1])


def _two_homes(client: TestClient, clock: FrozenClock, tenants: Tenants, engine: Engine) -> Home:
    home = _home(engine, tenants)
    now = clock.now()
    _events(
        engine,
        home.lock,
        [(e.AuditAction.UNLOCKED, now - 40 * MINUTE, tenants.worker, home.citizen)],
    )
    _events(engine, home.far_lock, [(e.AuditAction.REFUSED, now - 20 * MINUTE, None, None)])
    _signed_in(client, clock, engine, tenants.auditor)
    return home


def test_search_by_employee_name_and_by_citizen_name_or_address(
    client: TestClient, clock: FrozenClock, tenants: Tenants, engine: Engine
) -> None:
    home = _two_homes(client, clock, tenants, engine)
    street, postal_code = _street(engine, home)

    # Part of the employee's name, in another case: the worker's rows, not the far door's.
    part = home.worker_name.split()[0][:4].upper()
    by_name = client.get("/audit", params={"employee": part})
    assert by_name.status_code == 200
    assert home.lock_serial in by_name.text
    assert home.far_lock_serial not in by_name.text
    # The employee number still works in the same field.
    assert home.lock_serial in client.get("/audit", params={"employee": home.worker_number}).text

    # The citizen's name, in parts and out of order.
    given, family = home.citizen_name.split(" ", 1)
    by_citizen = client.get("/audit", params={"citizen": f"{family.lower()} {given}"})
    assert home.lock_serial in by_citizen.text
    assert home.far_lock_serial not in by_citizen.text
    # The address: street and postal code.
    by_address = client.get("/audit", params={"citizen": f"{street}, {postal_code}"})
    assert home.lock_serial in by_address.text
    nobody = client.get("/audit", params={"citizen": "Ingensteds Allé 999"})
    assert nobody.status_code == 200
    assert home.lock_serial not in nobody.text
    assert "Ingen hændelser passer til filteret." in nobody.text

    # A LIKE wildcard typed by a person is a character, not "anything".
    assert home.lock_serial not in client.get("/audit", params={"employee": "%"}).text

    # The export follows the same search.
    csv = client.get("/audit.csv", params={"citizen": home.citizen_name})
    lines = csv.content.decode("utf-8-sig").splitlines()
    assert len(lines) == 2
    assert home.citizen_name in lines[1]


def test_a_filter_from_a_link_is_named_not_numbered(
    client: TestClient, clock: FrozenClock, tenants: Tenants, engine: Engine
) -> None:
    home = _two_homes(client, clock, tenants, engine)
    page = client.get("/audit", params={"employee_id": tenants.worker})
    assert page.status_code == 200
    assert f"medarbejderen {home.worker_name}" in page.text
    page = client.get("/audit", params={"citizen_id": home.citizen})
    assert f"borgeren {home.citizen_name}" in page.text


def test_a_bad_filter_value_says_what_to_fix_and_shows_nothing(
    client: TestClient, clock: FrozenClock, tenants: Tenants, engine: Engine
) -> None:
    home = _two_homes(client, clock, tenants, engine)
    cases = {
        "from=2026-13-45": "Fra-datoen »2026-13-45« er ikke en dato. Skriv den som åååå-mm-dd",
        "to=i+går": "Til-datoen »i går« er ikke en dato.",
        "action=opened": "Handlingen »opened« findes ikke i loggen. Vælg en handling på listen.",
        "employee_id=abc": "»abc« er ikke et gyldigt nummer for en medarbejder",
        "citizen_id=1.5": "»1.5« er ikke et gyldigt nummer for en borger",
        "door_id=-3": "»-3« er ikke et gyldigt nummer for en dør",
    }
    for query, message in cases.items():
        page = client.get(f"/audit?{query}")
        assert page.status_code == 422, query
        assert message in page.text, query
        # Never everything: neither door's row is shown.
        assert home.lock_serial not in page.text, query
        assert home.far_lock_serial not in page.text, query
        # Nor exported, nor is an export logged.
        for export in ("/audit.csv", "/audit.xlsx"):
            refused = client.get(f"{export}?{query}")
            assert refused.status_code == 422, (export, query)
            assert message in refused.text
    with Session(engine) as db:
        assert (
            db.execute(
                select(m.AdminAction).where(m.AdminAction.action == "audit.exported")
            ).first()
            is None
        )

    # In English too.
    client.cookies.set("carekey_lang", "en")
    english = client.get("/audit?from=tomorrow")
    assert english.status_code == 422
    assert "The from date “tomorrow” is not a date. Write it as yyyy-mm-dd" in english.text


def test_a_door_serial_no_door_has_is_said(
    client: TestClient, clock: FrozenClock, tenants: Tenants, engine: Engine
) -> None:
    _two_homes(client, clock, tenants, engine)
    page = client.get("/audit", params={"door": "NO-SUCH-DOOR"})
    assert page.status_code == 200
    assert "Ingen dør har serienummeret »NO-SUCH-DOOR«" in page.text


def test_the_auditor_opens_the_home_report_and_the_opening_is_logged(
    client: TestClient, clock: FrozenClock, tenants: Tenants, engine: Engine
) -> None:
    home = _two_homes(client, clock, tenants, engine)
    report = client.get(f"/citizens/{home.citizen}/report?from=2026-11-01&to=2026-11-30")
    assert report.status_code == 200
    assert "Hvem har været i hjemmet" in report.text
    with Session(engine) as db:
        logged = db.execute(
            select(m.AdminAction).where(m.AdminAction.action == "audit.home_report_viewed")
        ).scalar_one()
        assert logged.actor_employee_id == tenants.auditor
        assert logged.target_type == "citizen"
        assert logged.target_id == str(home.citizen)
        assert logged.details == {"from": "2026-11-01", "to": "2026-11-30"}
    # A bad date says so, shows this week, and is logged with the period actually shown.
    bad = client.get(f"/citizens/{home.citizen}/report?from=31-11-2026")
    assert bad.status_code == 200
    assert "Fra-datoen »31-11-2026« er ikke en dato; rapporten viser derfor denne uge." in bad.text
    # A citizen the reader may not see is not logged as seen.
    assert client.get("/citizens/999999/report").status_code == 404
    with Session(engine) as db:
        views = db.execute(
            select(m.AdminAction.target_id).where(
                m.AdminAction.action == "audit.home_report_viewed"
            )
        ).scalars()
        assert sorted(views) == [str(home.citizen)] * 2
    # The openings are not pushed into the citizen's history of changes.
    client.cookies.clear()
    _signed_in(client, clock, engine, tenants.admin)
    detail = client.get(f"/citizens/{home.citizen}")
    assert detail.status_code == 200
    assert "Rapporten &#39;Hvem har været i hjemmet&#39; åbnet" not in detail.text
    assert "Rapporten 'Hvem har været i hjemmet' åbnet" not in detail.text


def test_the_export_speaks_the_language_of_the_page(
    client: TestClient, clock: FrozenClock, tenants: Tenants, engine: Engine
) -> None:
    _two_homes(client, clock, tenants, engine)
    danish = client.get("/audit.csv").content.decode("utf-8-sig").splitlines()
    assert danish[0].startswith("Tidspunkt (dansk tid);")
    assert any(";Afvist;" in line for line in danish)
    client.cookies.set("carekey_lang", "en")
    english = client.get("/audit.csv")
    lines = english.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("Time (Danish time);Time (UTC);Action;Reason")
    assert any(";Refused;" in line for line in lines)
    assert not any(";refused;" in line for line in lines)


def test_an_employee_number_matches_whole_not_in_part(
    client: TestClient, clock: FrozenClock, tenants: Tenants, engine: Engine
) -> None:
    home = _two_homes(client, clock, tenants, engine)
    whole = client.get("/audit", params={"employee": home.worker_number.lower()})
    assert home.lock_serial in whole.text
    part = client.get("/audit", params={"employee": home.worker_number[:-1]})
    assert home.lock_serial not in part.text
