"""Issue 6, acceptance 1: the administration UI as a person uses it, in Chromium.

Sign in with TOTP; block a lost phone and see the key service refuse it; remove a citizen and
see their door leave the next key bundle; filter the audit log and download the CSV; switch
the language. Selectors are the page's roles, labels and Danish texts, as a person reads them.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pyotp
import pytest
from sqlalchemy import Engine, select, update

from carekey.domain import enums as e
from carekey.protocol.events import EventChain, EventKind
from carekey.protocol.keys import DoorKey
from carekey.sim.screenshots import ApiPhone, sign_in_browser
from carekey.store import models as m
from tests.browser.conftest import Server, under_ci, utcnow

try:
    from playwright.sync_api import Page, expect
except ImportError:  # pragma: no cover - machines without the dev dependencies
    if under_ci():
        raise
    pytest.skip("the playwright package is not installed", allow_module_level=True)

ROOT = Path(__file__).resolve().parents[2]

# Under pytest-xdist (``--dist loadgroup``, as ``make test`` runs) every test of this module goes
# to one worker: one seeded server and one Chromium for them all, not one per worker.
pytestmark = pytest.mark.xdist_group("browser")


@dataclass(frozen=True)
class Worker:
    """A care worker of the seed with their phone (the seed gives employee n phone n)."""

    employee_id: int
    number: str
    name: str
    phone_id: int
    phone_label: str
    district_id: int


@dataclass(frozen=True)
class Home:
    """A citizen's home and its lock."""

    citizen_id: int
    given_name: str
    family_name: str
    door_id: int
    serial: str


def _workers(engine: Engine) -> list[Worker]:
    """Care workers with one district each, in a stable order."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(
                m.Employee.id,
                m.Employee.employee_number,
                m.Employee.full_name,
                m.Phone.id,
                m.Phone.label,
                m.EmployeeDistrict.district_id,
            )
            .join(m.EmployeeRole, m.EmployeeRole.employee_id == m.Employee.id)
            .join(m.EmployeeDistrict, m.EmployeeDistrict.employee_id == m.Employee.id)
            .join(m.Phone, m.Phone.employee_id == m.Employee.id)
            .where(m.EmployeeRole.role == e.Role.CARE_WORKER)
            .order_by(m.Employee.id)
        ).all()
    seen: dict[int, int] = {}
    for row in rows:
        seen[row[0]] = seen.get(row[0], 0) + 1
    return [Worker(*row) for row in rows if seen[row[0]] == 1]


def _worker(engine: Engine, index: int) -> Worker:
    """The ``index``-th care worker, each test its own, so tests do not disturb each other."""
    return _workers(engine)[index * 7]


def _homes(engine: Engine, district_id: int) -> list[Home]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(
                m.Citizen.id,
                m.Citizen.given_name,
                m.Citizen.family_name,
                m.DoorDevice.id,
                m.DoorDevice.serial,
            )
            .join(m.DoorDevice, m.DoorDevice.dwelling_id == m.Citizen.dwelling_id)
            .where(m.Citizen.district_id == district_id)
            .where(m.Citizen.status == e.CitizenStatus.ACTIVE)
            .order_by(m.Citizen.id)
        ).all()
    return [Home(*row) for row in rows]


def _logged_in(api: httpx.Client, admin_api: dict[str, str], worker: Worker) -> ApiPhone:
    phone = ApiPhone.enrol(api, admin_api, worker.phone_id)
    response = phone.login(worker.number)
    assert response.status_code == 200, response.text
    return phone


def _heartbeat_becomes(phone: ApiPhone, status: str, wait_s: float = 5.0) -> bool:
    """Whether the phone's heartbeat answers ``status`` within ``wait_s``. The page may show
    its answer a moment before the request's transaction has committed (reported), so the key
    service is asked until it agrees, briefly."""
    deadline = time.monotonic() + wait_s
    while True:
        beat = phone.heartbeat()
        assert beat.status_code == 200, beat.text
        if beat.json()["status"] == status:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)


# --- 1. sign in with TOTP ------------------------------------------------------------------------


def test_sign_in_with_password_and_totp(anonymous_page: Page, server: Server) -> None:
    page = anonymous_page
    page.goto(f"{server.base_url}/dashboard")
    expect(page).to_have_url(re.compile(r"/login\?next="))  # pages need a session
    secret = sign_in_browser(page, server.base_url, employee_number="E00002")  # 2nd admin
    page.goto(f"{server.base_url}/dashboard")
    expect(page.get_by_role("heading", name="Overblik", level=1)).to_be_visible()
    expect(page.get_by_role("button", name="Log ud")).to_be_visible()

    page.get_by_role("button", name="Log ud").click()
    expect(page).to_have_url(re.compile(r"/login"))
    # Second sign-in: no set-up any more; a wrong code is refused, the right one lets in.
    page.get_by_label("Medarbejdernummer").fill("E00002")
    page.get_by_label("Adgangskode").fill("hjemmepleje")
    page.get_by_role("button", name="Fortsæt").click()
    expect(page.get_by_label("Sekscifret kode")).to_be_visible()
    expect(page.locator("#totp-secret")).to_have_count(0)
    page.get_by_label("Sekscifret kode").fill("000000")
    page.get_by_role("button", name="Log ind", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("Koden er forkert")
    # The next time step's code: valid (one step of drift is allowed) and never used before.
    code = pyotp.TOTP(secret).at(utcnow() + dt.timedelta(seconds=30))
    page.get_by_label("Sekscifret kode").fill(code)
    page.get_by_role("button", name="Log ind", exact=True).click()
    expect(page.get_by_role("button", name="Log ud")).to_be_visible()
    expect(page).not_to_have_url(re.compile(r"/login"))


# --- 2. block a lost phone -----------------------------------------------------------------------


def test_blocking_a_lost_phone_makes_the_key_service_refuse_it(
    page: Page, server: Server, api: httpx.Client, admin_api: dict[str, str]
) -> None:
    worker = _worker(server.engine, 0)
    phone = _logged_in(api, admin_api, worker)
    assert phone.heartbeat().json()["status"] in ("OK", "REFRESH")  # working, not wiped

    page.goto(f"{server.base_url}/phones")
    page.get_by_label("Søg på mærkning").fill(worker.phone_label)
    page.get_by_role("button", name="Søg").click()
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=worker.phone_label))
    expect(row).to_have_count(1)
    row.get_by_role("button", name=f"Spær {worker.phone_label} som mistet").click()
    expect(row.get_by_role("status")).to_contain_text("Spærret nu.")

    assert _heartbeat_becomes(phone, "WIPE")
    again = phone.login(worker.number)
    assert again.status_code == 403, again.text
    # The block is in the log of administrative actions, with the one-click reason.
    with server.engine.connect() as connection:
        blocked = connection.execute(
            select(m.Phone.status).where(m.Phone.id == worker.phone_id)
        ).scalar_one()
    assert blocked is not e.PhoneStatus.ACTIVE


# --- 3. remove a citizen -------------------------------------------------------------------------


def test_removing_a_citizen_takes_their_door_out_of_the_next_bundle(
    page: Page, server: Server, api: httpx.Client, admin_api: dict[str, str]
) -> None:
    worker = _worker(server.engine, 1)
    phone = _logged_in(api, admin_api, worker)
    home = next(
        h for h in _homes(server.engine, worker.district_id) if h.serial in phone.door_ids()
    )

    page.goto(f"{server.base_url}/citizens")
    page.get_by_label("Søg på navn").fill(home.family_name)
    page.get_by_role("button", name="Søg").click()
    name = f"{home.family_name}, {home.given_name}"
    row = page.get_by_role("row").filter(has=page.locator(f'a[href="/citizens/{home.citizen_id}"]'))
    expect(row.get_by_role("link", name=name)).to_be_visible()
    row.get_by_role("link", name="Fjern adresse").click()
    expect(page.get_by_role("heading", name="Fjern adressen fra løsningen")).to_be_visible()
    page.get_by_role("button", name="Fjern adressen").click()
    expect(
        page.get_by_role("heading", name="Adressen er fjernet fra løsningen", level=1)
    ).to_be_visible()

    assert _heartbeat_becomes(phone, "REFRESH")
    response = phone.refresh()
    assert response.status_code == 200, response.text
    assert phone.door_ids()  # the rest of the district's doors are still there
    assert home.serial not in phone.door_ids()


# --- 4. filter the audit log and download the CSV ------------------------------------------------


def _visit(server: Server, phone: ApiPhone, worker: Worker, home: Home) -> list[dt.datetime]:
    """The worker opens and locks the citizen's door; the phone uploads the door's events.
    The door gets a key the test holds, as commissioning would give it."""
    key = DoorKey.generate()
    with server.engine.begin() as connection:
        connection.execute(
            update(m.DoorDevice)
            .where(m.DoorDevice.id == home.door_id)
            .values(public_key=key.public.key.raw)
        )
    opened = utcnow().replace(microsecond=0) - dt.timedelta(minutes=20)
    chain = EventChain(home.serial.encode())
    raws: list[bytes] = []
    for kind, when in (
        (EventKind.UNLOCKED, opened),
        (EventKind.LOCKED, opened + dt.timedelta(minutes=14)),
    ):
        signed, chain = chain.append(key, kind=kind, time=when, subject=f"e{worker.employee_id}")
        raws.append(signed.raw)
    response = phone.upload({home.serial: raws})
    assert response.status_code == 200, response.text
    assert response.json()["stored"] == 2
    return [opened, opened + dt.timedelta(minutes=14)]


def test_filter_the_audit_log_and_download_the_csv(
    page: Page, server: Server, api: httpx.Client, admin_api: dict[str, str]
) -> None:
    worker = _worker(server.engine, 2)
    other = _worker(server.engine, 3)
    phone = _logged_in(api, admin_api, worker)
    other_phone = _logged_in(api, admin_api, other)
    home = _homes(server.engine, worker.district_id)[0]
    other_home = next(
        h for h in _homes(server.engine, other.district_id) if h.citizen_id != home.citizen_id
    )
    _visit(server, phone, worker, home)
    _visit(server, other_phone, other, other_home)

    page.goto(f"{server.base_url}/audit")
    expect(page.get_by_role("heading", name="Revisionslog")).to_be_visible()
    page.get_by_label("Medarbejder (navn eller nummer)").fill(worker.number)
    page.get_by_role("button", name="Vis").click()
    table = page.get_by_role("table")
    expect(table.get_by_role("row").filter(has_text=home.serial)).to_have_count(2)
    expect(table).not_to_contain_text(other.number)
    shown = table.locator("tbody").get_by_role("row").count()

    with page.expect_download() as info:
        page.get_by_role("link", name="Hent CSV").click()
    download = info.value
    assert download.suggested_filename.endswith(".csv")
    data = download.path().read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM, so Danish Excel reads æøå
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    header, body = rows[0], rows[1:]
    assert header[0] == "Tidspunkt (dansk tid)"
    assert "Medarbejdernummer" in header
    number_at = header.index("Medarbejdernummer")
    door_at = header.index("Dør (serienummer)")
    # The same rows as the filtered page: only this worker's (the door visit and the login).
    assert len(body) == shown, body
    assert {r[number_at] for r in body} == {worker.number}
    at_door = [r for r in body if r[door_at] == home.serial]
    assert sorted(r[header.index("Handling")] for r in at_door) == ["Låst", "Låst op"]
    assert other_home.serial not in data.decode("utf-8-sig")


# --- 5. switch the language ----------------------------------------------------------------------


def test_switch_language_to_english_and_back(page: Page, server: Server) -> None:
    page.goto(f"{server.base_url}/phones")
    expect(page.get_by_role("heading", name="Telefoner", level=1)).to_be_visible()
    page.get_by_role("link", name="English").click()
    expect(page).to_have_url(re.compile(r"/phones$"))
    expect(page.get_by_role("heading", name="Phones", level=1)).to_be_visible()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.goto(f"{server.base_url}/audit")
    expect(page.get_by_role("heading", name="Audit log")).to_be_visible()
    expect(page.get_by_role("link", name="Download CSV")).to_be_visible()
    page.get_by_role("link", name="Dansk").click()
    expect(page.get_by_role("heading", name="Revisionslog")).to_be_visible()


@pytest.mark.parametrize("path", ["/dashboard", "/employees", "/citizens", "/doors", "/audit"])
def test_main_pages_render_for_the_administrator(page: Page, server: Server, path: str) -> None:
    response = page.goto(f"{server.base_url}{path}")
    assert response is not None
    assert response.status == 200
    expect(page.get_by_role("heading", level=1)).to_be_visible()


# --- the skip policy -----------------------------------------------------------------------------


def _without_chromium(ci: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CI": ci, "CAREKEY_TEST_CHROMIUM": "/nonexistent/chromium"}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-rs",
            "-p",
            "no:cacheprovider",
            "tests/browser/test_admin_ui.py::test_switch_language_to_english_and_back",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_without_chromium_the_browser_tests_skip_and_say_why() -> None:
    result = _without_chromium("")
    assert result.returncode == 0, result.stdout
    assert "1 skipped" in result.stdout
    assert "Chromium is not installed" in result.stdout


def test_without_chromium_under_ci_the_run_fails() -> None:
    result = _without_chromium("true")
    assert result.returncode != 0, result.stdout
    assert "CI=true requires the browser tests to run" in result.stdout
