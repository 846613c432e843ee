"""Issue 19, acceptance 2: the right of access in the administration, in Chromium.

The administrator opens a citizen, asks for the access report for a period on behalf of a
relative with power of attorney, sees who opened the home lock (name and role), finds the print
stylesheet and the page as it prints, downloads the JSON, and finds the report in the log of
administrative actions; then an employee's own data, and "Mine data"."""

from __future__ import annotations

import json

import httpx
import pytest

from carekey.clock import COPENHAGEN
from tests.browser.conftest import Server, under_ci, utcnow
from tests.browser.test_admin_ui import _homes, _logged_in, _visit, _workers

try:
    from playwright.sync_api import Page, expect
except ImportError:  # pragma: no cover - machines without the dev dependencies
    if under_ci():
        raise
    pytest.skip("the playwright package is not installed", allow_module_level=True)

pytestmark = pytest.mark.xdist_group("browser")


def test_the_citizens_access_report_printed_and_downloaded(
    page: Page, server: Server, api: httpx.Client, admin_api: dict[str, str]
) -> None:
    worker = _workers(server.engine)[-1]  # the last one: no other test uses them
    home = _homes(server.engine, worker.district_id)[-1]
    phone = _logged_in(api, admin_api, worker)
    opened, _locked = _visit(server, phone, worker, home)
    today = utcnow().date()

    page.goto(f"{server.base_url}/citizens/{home.citizen_id}")
    page.get_by_role("link", name="Indsigtsrapport").click()
    expect(page.get_by_role("heading", name=f"Indsigtsrapport · {home.given_name}")).to_be_visible()
    page.get_by_label("Pårørende med fuldmagt").check()
    page.get_by_label("Navn på den, der har anmodet").fill("Karen Datter")
    page.get_by_label("Journalnummer eller henvisning").fill("J.nr. 27.12-2026-7")
    page.get_by_label("Fra dato").fill((today.replace(day=1)).isoformat())
    page.get_by_label("Til og med dato").fill(today.isoformat())
    page.get_by_role("button", name="Lav rapporten").click()

    expect(
        page.get_by_role("heading", name="Indsigtsrapport: hvem har været i hjemmet")
    ).to_be_visible()
    report = page.locator("article.access-report")
    expect(report).to_contain_text("Karen Datter (Pårørende med fuldmagt)")
    expect(report).to_contain_text("J.nr. 27.12-2026-7")
    events = page.locator("table.events tbody tr")
    opening = events.filter(has_text="Låst op").filter(has_text=worker.name)
    expect(opening).to_have_count(1)
    expect(opening).to_contain_text("Plejemedarbejder")
    expect(opening).to_contain_text(opened.astimezone(COPENHAGEN).strftime("%H:%M"))
    expect(events.filter(has_text="Låst").filter(has_text=worker.name)).to_have_count(2)
    expect(page.locator("table.people")).to_contain_text("1 åbning")

    # Printable: a print stylesheet is linked, and on paper the menus and buttons are gone.
    sheet = page.locator('link[rel="stylesheet"][media="print"]')
    expect(sheet).to_have_count(1)
    assert api.get(str(sheet.get_attribute("href"))).status_code == 200
    page.emulate_media(media="print")
    expect(page.locator("nav.mainnav")).to_be_hidden()
    expect(page.get_by_role("link", name="Hent som JSON")).to_be_hidden()
    expect(opening).to_be_visible()
    page.emulate_media(media="screen")

    with page.expect_download() as info:
        page.get_by_role("link", name="Hent som JSON").click()
    download = info.value
    assert download.suggested_filename == f"indsigt-borger-{home.citizen_id}.json"
    body = json.loads(download.path().read_text("utf-8"))
    assert body["citizen"]["id"] == home.citizen_id
    assert body["request"]["basis"] == "attorney"
    assert body["request"]["requested_by"] == "Karen Datter"
    mine = [
        x for x in body["door_events"] if x["employee"] and x["employee"]["name"] == worker.name
    ]
    assert sorted(x["action"] for x in mine) == ["locked", "unlocked"]

    # Each report made (the page and the download) is in the log of administrative actions,
    # and on the citizen's page.
    logged = api.get(
        "/api/v1/admin/actions",
        params={"action": "privacy.citizen_report", "target_id": str(home.citizen_id)},
        headers=admin_api,
    ).json()["items"]
    assert len(logged) == 2
    assert logged[0]["details"]["requested_by"] == "Karen Datter"
    page.goto(f"{server.base_url}/citizens/{home.citizen_id}")
    expect(page.get_by_text("Indsigtsrapport for borger udarbejdet").first).to_be_visible()


def test_an_employees_data_and_my_own(
    page: Page, server: Server, admin_api: dict[str, str], api: httpx.Client
) -> None:
    worker = _workers(server.engine)[-2]
    page.goto(f"{server.base_url}/employees/{worker.employee_id}")
    page.get_by_role("link", name="Medarbejderens data").click()
    expect(page.get_by_role("heading", name=f"Medarbejderens data: {worker.name}")).to_be_visible()
    expect(page.locator("article.access-report")).to_contain_text(worker.number)
    expect(page.locator("article.access-report")).to_contain_text(worker.phone_label)
    with page.expect_download() as info:
        page.get_by_role("link", name="Hent som JSON").click()
    body = json.loads(info.value.path().read_text("utf-8"))
    assert body["employee"]["employee_number"] == worker.number
    assert body["phones"][0]["label"] == worker.phone_label
    logged = api.get(
        "/api/v1/admin/actions",
        params={"action": "privacy.employee_report", "target_id": str(worker.employee_id)},
        headers=admin_api,
    ).json()["items"]
    assert len(logged) == 2

    page.goto(f"{server.base_url}/account/password")
    page.get_by_role("link", name="Mine data").click()
    expect(page.get_by_role("heading", name="Mine data: ")).to_be_visible()
    expect(page.locator('link[rel="stylesheet"][media="print"]')).to_have_count(1)
