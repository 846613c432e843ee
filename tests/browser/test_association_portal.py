"""Issue 15: the housing association's portal as its user uses it, in Chromium.

A housing association's user signs in for the first time (password, then setting up TOTP),
lands on the association's overview, makes an agreement with a company of the register with one
weekly window, and blocks the company; the page says so, and every agreement of the association
with that company is blocked in the database. Selectors are the page's labels and Danish texts.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from carekey.domain import enums as e
from carekey.domain.partner_policy import DEFAULT_BASIS
from carekey.sim.screenshots import sign_in_browser
from carekey.store import models as m
from tests.browser.conftest import Server, under_ci

try:
    from playwright.sync_api import Page, expect
except ImportError:  # pragma: no cover - machines without the dev dependencies
    if under_ci():
        raise
    pytest.skip("the playwright package is not installed", allow_module_level=True)

pytestmark = pytest.mark.xdist_group("browser")

USER = "B002"  # association 2's user: the admin tests never touch the associations


def test_an_association_user_makes_an_agreement_and_blocks_the_company(
    anonymous_page: Page, server: Server
) -> None:
    page = anonymous_page
    with server.engine.connect() as connection:
        association_id, association = connection.execute(
            select(m.HousingAssociation.id, m.HousingAssociation.name)
            .join(m.Employee, m.Employee.housing_association_id == m.HousingAssociation.id)
            .where(m.Employee.employee_number == USER)
        ).one()
        company_id, company, category = connection.execute(
            select(m.PartnerCompany.id, m.PartnerCompany.name, m.PartnerCompany.category)
            .where(m.PartnerCompany.status == e.PartnerStatus.ACTIVE)
            .order_by(m.PartnerCompany.id)
        ).first()
        property_id = (
            connection.execute(
                select(m.Property.id)
                .join(m.Entrance, m.Entrance.property_id == m.Property.id)
                .join(m.DoorDevice, m.DoorDevice.entrance_id == m.Entrance.id)
                .where(m.Property.housing_association_id == association_id)
                .order_by(m.Property.id)
            )
            .scalars()
            .first()
        )
    assert property_id is not None

    sign_in_browser(page, server.base_url, employee_number=USER)  # first sign-in: TOTP set-up
    expect(page).to_have_url(re.compile(r"/association$"))
    expect(page.get_by_role("heading", name=association, level=1)).to_be_visible()
    expect(page.get_by_role("heading", name="Hjemmeplejen i jeres ejendomme")).to_be_visible()

    page.get_by_role("link", name="Aftaler", exact=True).click()
    page.get_by_role("link", name="Ny aftale").click()
    page.get_by_label("Firma", exact=True).select_option(str(company_id))
    page.get_by_label("Grundlag", exact=True).select_option(DEFAULT_BASIS[category].value)
    page.locator(f'input[name="property_ids"][value="{property_id}"]').check()
    page.get_by_label("onsdag, vindue 1").check()
    page.get_by_label("Fra, vindue 1").fill("09:00")
    page.get_by_label("Til, vindue 1").fill("11:30")
    page.get_by_role("button", name="Lav aftalen").click()
    expect(page.get_by_role("status").first).to_contain_text("Aftalen er lavet.")
    expect(page.get_by_text("onsdag 09:00–11:30")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_contain_text(company)

    page.get_by_role("link", name="Spær firmaet").click()
    expect(page.get_by_role("heading", name="Spær firmaet", level=1)).to_be_visible()
    page.get_by_label("Begrundelse (skrives i loggen)").fill("Nøgle brugt uden for aftalen")
    page.get_by_role("button", name="Spær firmaet nu").click()
    expect(page.get_by_role("status").first).to_contain_text("Firmaet er spærret.")
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=company, exact=True))
    expect(row.first).to_contain_text("Spærret af jer")
    expect(row.first.get_by_role("button", name="Ophæv spærring")).to_be_visible()

    with server.engine.connect() as connection:
        states = connection.execute(
            select(m.Agreement.blocked, m.Agreement.blocked_reason)
            .where(m.Agreement.housing_association_id == association_id)
            .where(m.Agreement.partner_company_id == company_id)
        ).all()
    assert len(states) >= 1
    assert all(blocked for blocked, _reason in states)
    assert {reason for _blocked, reason in states} == {"Nøgle brugt uden for aftalen"}
