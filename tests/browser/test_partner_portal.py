"""Issue 15: the partner company's portal as its administrator uses it, in Chromium.

A partner company's administrator signs in for the first time (password, then setting up
TOTP), lands on the company's overview, creates a worker, registers a phone for them, gets a
one-time enrolment code, and blocks the phone as lost; the page says so, and the database holds
the worker, the phone (lost, with the reason) and the code's hash only. Selectors are the
page's labels and Danish texts.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from carekey.domain import enums as e
from carekey.keyservice.enrolment import ENROLMENT_CODE_LIFETIME
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

ADMIN = "P03-ADM"  # company 3's administrator: no other browser test touches company 3


def test_a_partner_admin_creates_a_worker_and_a_phone_and_blocks_it(
    anonymous_page: Page, server: Server
) -> None:
    page = anonymous_page
    with server.engine.connect() as connection:
        company_id, company = connection.execute(
            select(m.PartnerCompany.id, m.PartnerCompany.name)
            .join(m.Employee, m.Employee.partner_company_id == m.PartnerCompany.id)
            .where(m.Employee.employee_number == ADMIN)
        ).one()

    sign_in_browser(page, server.base_url, employee_number=ADMIN)  # first sign-in: TOTP set-up
    expect(page).to_have_url(re.compile(r"/partner$"))
    expect(page.get_by_role("heading", name=company, level=1)).to_be_visible()
    expect(
        page.get_by_role("heading", name=re.compile("Aftaler med boligforeninger"))
    ).to_be_visible()

    page.get_by_role("link", name="Personale og telefoner").first.click()
    expect(page).to_have_url(re.compile(r"/partner/staff$"))
    person = page.get_by_role("form", name="Opret person")
    person.get_by_label("Navn", exact=True).fill("Bodil Browserbud")
    person.get_by_label("Medarbejdernummer (brugernavn)").fill("P03-WEB")
    person.locator("select[name=role]").select_option("partner_worker")
    person.get_by_label("Adgangskode (mindst 10 tegn; kan sættes senere)").fill("bodils-kode-2026")
    person.get_by_role("button", name="Opret").click()
    expect(page.get_by_role("status").first).to_contain_text("Personen er oprettet.")
    expect(page.get_by_role("cell", name="Bodil Browserbud")).to_be_visible()

    phone = page.get_by_role("form", name="Registrér telefon")
    phone.get_by_label("Mærkning", exact=True).fill("P03-TLF-WEB")
    phone.get_by_label("Model", exact=True).fill("Samsung Galaxy XCover")
    phone.locator("select[name=employee]").select_option(label="Bodil Browserbud (P03-WEB)")
    phone.get_by_role("button", name="Registrér").click()
    expect(page.get_by_role("status").first).to_contain_text("Telefonen er registreret.")
    phones = page.locator("table.phones")

    row = phones.get_by_role("row").filter(has_text="P03-TLF-WEB")
    row.get_by_role("button", name="Engangskode").click()
    expect(page.get_by_role("heading", name="Engangskode til P03-TLF-WEB")).to_be_visible()
    code = page.get_by_test_id("enrolment-code").inner_text()
    assert re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}", code), code

    row = phones.get_by_role("row").filter(has_text="P03-TLF-WEB")
    row.get_by_label("Begrundelse for spærring af P03-TLF-WEB").fill("Tabt på ruten")
    row.get_by_role("button", name="Spær (mistet)").click()
    expect(page.get_by_role("status").first).to_contain_text("Telefonen er spærret")
    row = phones.get_by_role("row").filter(has_text="P03-TLF-WEB")
    expect(row).to_contain_text("Mistet")
    expect(row.get_by_role("button", name="Ophæv spærring")).to_be_visible()
    expect(page.get_by_test_id("enrolment-code")).to_have_count(0)  # shown once only

    with server.engine.connect() as connection:
        worker = connection.execute(
            select(m.Employee.id, m.Employee.partner_company_id).where(
                m.Employee.employee_number == "P03-WEB"
            )
        ).one()
        stored = connection.execute(
            select(m.Phone.id, m.Phone.status, m.Phone.blocked_reason, m.Phone.employee_id).where(
                m.Phone.label == "P03-TLF-WEB"
            )
        ).one()
        codes = connection.execute(
            select(
                m.EnrolmentCode.code_hash, m.EnrolmentCode.created_at, m.EnrolmentCode.expires_at
            ).where(m.EnrolmentCode.phone_id == stored.id)
        ).all()
    assert worker.partner_company_id == company_id
    assert stored.status == e.PhoneStatus.LOST
    assert stored.blocked_reason == "Tabt på ruten"
    assert stored.employee_id == worker.id
    assert len(codes) == 1
    assert code not in codes[0].code_hash
    assert codes[0].expires_at - codes[0].created_at == ENROLMENT_CODE_LIFETIME
