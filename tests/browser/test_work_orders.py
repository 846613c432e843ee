"""Issue 16: the office's work orders in Chromium. The administrator filters the list to done
orders, opens one and signs it off (the page says so and the database holds the sign-off);
then opens a citizen's timeline from the citizen's page."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from carekey.domain import enums as e
from carekey.store import models as m
from tests.browser.conftest import Server, under_ci

try:
    from playwright.sync_api import Page, expect
except ImportError:  # pragma: no cover - machines without the dev dependencies
    if under_ci():
        raise
    pytest.skip("the playwright package is not installed", allow_module_level=True)

pytestmark = pytest.mark.xdist_group("browser")


def test_the_office_filters_opens_and_signs_off_an_order(page: Page, server: Server) -> None:
    page.goto(f"{server.base_url}/work-orders")
    expect(page.get_by_role("heading", name="Arbejdsordrer", level=1)).to_be_visible()
    page.locator("select[name=status]").select_option("done")
    page.get_by_role("button", name="Vis").click()
    expect(page).to_have_url(re.compile(r"status=done"))
    first = page.locator("table tbody tr a").first
    number = int((first.text_content() or "#0").strip().lstrip("#"))
    first.click()
    expect(page).to_have_url(re.compile(rf"/work-orders/{number}$"))
    page.get_by_role("button", name="Godkend arbejdet").click()
    expect(page.get_by_text("Arbejdsordren er godkendt.")).to_be_visible()
    with server.engine.connect() as connection:
        status = connection.execute(
            select(m.WorkOrder.status).where(m.WorkOrder.id == number)
        ).scalar_one()
    assert status == e.WorkOrderStatus.SIGNED_OFF


def test_a_citizens_timeline(page: Page, server: Server) -> None:
    with server.engine.connect() as connection:
        citizen = connection.execute(select(m.Citizen.id).order_by(m.Citizen.id)).scalars().first()
    page.goto(f"{server.base_url}/citizens/{citizen}")
    page.get_by_role("link", name="Forløb").click()
    expect(page).to_have_url(re.compile(rf"/citizens/{citizen}/timeline$"))
    expect(page.get_by_text("Samtykke", exact=True)).to_be_visible()
    expect(page.get_by_text("Genetableret", exact=True)).to_be_visible()
