"""Issue 15, acceptance 1, as the four parties meet it: the municipality registers a company
and its administrator (API); the housing association's user makes an agreement with one weekly
window in the portal (Chromium); the company's administrator creates a worker and a phone with
a one-time enrolment code in the partner API; the worker's phone enrols and logs in and gets
exactly the agreement's doors; simulated controllers of those doors (with the doors' own clocks)
open inside the window and refuse outside it; a home lock refuses the same credential (it does
not trust the partner issuer); the association blocks the company in the portal, and the
worker's next heartbeat and key bundle say so."""

from __future__ import annotations

import base64
import datetime as dt
import re
import secrets
import time
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from carekey.clock import COPENHAGEN, FrozenClock
from carekey.devices.controller import EntranceController
from carekey.devices.homelock import HomeLock
from carekey.domain import enums as e
from carekey.domain.partner_policy import DEFAULT_BASIS, valid_cvr_near
from carekey.keyservice import issuer as issuer_service
from carekey.protocol.keys import DeviceKey, DoorKey
from carekey.protocol.session import Command
from carekey.sim.screenshots import admin_headers, sign_in_browser
from carekey.store import models as m
from tests.api.phone_sim import PROTO_KIND, Phone
from tests.browser.conftest import VIEWPORT, Server, under_ci

try:
    from playwright.sync_api import Browser, Page, expect
except ImportError:  # pragma: no cover - machines without the dev dependencies
    if under_ci():
        raise
    pytest.skip("the playwright package is not installed", allow_module_level=True)

pytestmark = pytest.mark.xdist_group("browser")

USER = "B003"  # association 3's user: no other browser test signs in as it
CATEGORY = e.PartnerCategory.NEWSPAPER  # a basis that needs no errand
PASSWORD = "Avisbud-adgang-2026!"
WEEKDAYS = ("mandag", "tirsdag", "onsdag", "torsdag", "fredag", "lørdag", "søndag")


def _slot(now: dt.datetime) -> tuple[dt.datetime, dt.datetime, dt.datetime]:
    """A window of (at most) an hour on today's weekday around ``now``, not across local
    midnight, and a time an hour after it: (start, end, outside). The doors open at ``now``:
    the phone's proof of a recent check-in is the server's, in real time."""
    local = now.astimezone(COPENHAGEN).replace(second=0, microsecond=0)
    midnight = local.replace(hour=0, minute=0)
    start = max(midnight, local - dt.timedelta(minutes=30 + local.minute % 5))
    end = min(midnight.replace(hour=23, minute=59), start + dt.timedelta(hours=1))
    return start, end, end + dt.timedelta(hours=1)


def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, f"{response.request.url}: {response.text}"
    return response.json()


def _portal_page(browser: Browser) -> Page:
    context = browser.new_context(viewport=VIEWPORT, locale="da-DK")  # type: ignore[arg-type]
    context.set_default_timeout(15_000)
    return context.new_page()


def _controller(server: Server, serial: str, clock: FrozenClock) -> EntranceController:
    """The simulated controller of a door row, as commissioning leaves it: a door key on the
    row, the municipality's home-care and partner issuer keys."""
    with Session(server.engine) as db, db.begin():
        row = db.execute(select(m.DoorDevice).where(m.DoorDevice.serial == serial)).scalar_one()
        key = DoorKey.generate()
        db.execute(
            update(m.DoorDevice)
            .where(m.DoorDevice.id == row.id)
            .values(public_key=key.public.key.raw)
        )
        door = EntranceController(
            door_id=serial.encode(),
            door_key=key,
            keyring=issuer_service.keyring(db, municipality_id=1),
            partner_keyring=issuer_service.keyring(
                db, municipality_id=1, purpose=e.IssuerKeyPurpose.PARTNER
            ),
            clock=clock,
            kind=PROTO_KIND[row.kind],
        )
    door.clock.set(clock.now())
    door.flash.last_token_time = clock.now() - dt.timedelta(minutes=1)
    return door


def _home_lock(server: Server, property_id: int, clock: FrozenClock) -> HomeLock:
    """A home lock in the property (the home-care issuer key only, as every home lock)."""
    with Session(server.engine) as db:
        serial = (
            db.execute(
                select(m.DoorDevice.serial)
                .join(m.Dwelling, m.Dwelling.id == m.DoorDevice.dwelling_id)
                .join(m.Entrance, m.Entrance.id == m.Dwelling.entrance_id)
                .where(m.Entrance.property_id == property_id)
                .order_by(m.DoorDevice.id)
            )
            .scalars()
            .first()
        )
        assert serial is not None, "the property has a home lock"
        keyring = issuer_service.keyring(db, municipality_id=1)
    lock = HomeLock(
        door_id=serial.encode(), door_key=DoorKey.generate(), keyring=keyring, clock=clock
    )
    lock.clock.set(clock.now())
    lock.flash.last_token_time = clock.now() - dt.timedelta(minutes=1)
    return lock


def _register_company(api: httpx.Client, admin: dict[str, str], tag: str) -> tuple[int, str]:
    name = f"Morgenavisen Ude {tag} A/S"
    company = _ok(
        api.post(
            "/api/v1/organisations/companies",
            json={
                "name": name,
                "organisation_kind": "company",
                "cvr": valid_cvr_near(31_000_000 + int(tag, 16) % 1_000_000),
                "category": CATEGORY.value,
                "contact_email": f"drift-{tag}@morgenavisen.example",
                "reason": "Aftale om morgenaviser i opgangene",
            },
            headers=admin,
        ),
        201,
    )
    return int(company["id"]), name


def _property_of(server: Server) -> tuple[int, int, str]:
    """The association of ``USER``, and one of its properties with an entrance controller and a
    home lock behind it: (association id, property id, association name)."""
    with Session(server.engine) as db:
        association_id, association = db.execute(
            select(m.HousingAssociation.id, m.HousingAssociation.name)
            .join(m.Employee, m.Employee.housing_association_id == m.HousingAssociation.id)
            .where(m.Employee.employee_number == USER)
        ).one()
        homes = (
            select(m.Entrance.property_id)
            .join(m.Dwelling, m.Dwelling.entrance_id == m.Entrance.id)
            .join(m.DoorDevice, m.DoorDevice.dwelling_id == m.Dwelling.id)
        )
        property_id = (
            db.execute(
                select(m.Property.id)
                .join(m.Entrance, m.Entrance.property_id == m.Property.id)
                .join(m.DoorDevice, m.DoorDevice.entrance_id == m.Entrance.id)
                .where(m.Property.housing_association_id == association_id)
                .where(m.Property.id.in_(homes))
                .order_by(m.Property.id)
            )
            .scalars()
            .first()
        )
    assert property_id is not None
    return association_id, property_id, association


def _agreement_doors(server: Server, association_id: int, company_id: int) -> set[str]:
    with Session(server.engine) as db:
        return set(
            db.execute(
                select(m.DoorDevice.serial)
                .join(m.AgreementDoor, m.AgreementDoor.door_device_id == m.DoorDevice.id)
                .join(m.Agreement, m.Agreement.id == m.AgreementDoor.agreement_id)
                .where(m.Agreement.housing_association_id == association_id)
                .where(m.Agreement.partner_company_id == company_id)
            ).scalars()
        )


def _make_agreement(
    page: Page,
    server: Server,
    company_id: int,
    property_id: int,
    window: tuple[dt.datetime, dt.datetime],
) -> None:
    start, end = window
    label = WEEKDAYS[start.weekday()]
    sign_in_browser(page, server.base_url, employee_number=USER)  # first sign-in: TOTP set-up
    expect(page).to_have_url(re.compile(r"/association$"))
    page.get_by_role("link", name="Aftaler", exact=True).click()
    page.get_by_role("link", name="Ny aftale").click()
    page.get_by_label("Firma", exact=True).select_option(str(company_id))
    page.get_by_label("Grundlag", exact=True).select_option(DEFAULT_BASIS[CATEGORY].value)
    page.locator(f'input[name="property_ids"][value="{property_id}"]').check()
    page.get_by_label(f"{label}, vindue 1").check()
    page.get_by_label("Fra, vindue 1").fill(start.strftime("%H:%M"))
    page.get_by_label("Til, vindue 1").fill(end.strftime("%H:%M"))
    page.get_by_role("button", name="Lav aftalen").click()
    expect(page.get_by_role("status").first).to_contain_text("Aftalen er lavet.")
    expect(page.get_by_text(f"{label} {start:%H:%M}–{end:%H:%M}")).to_be_visible()


def _partner_worker_phone(
    api: httpx.Client, partner: dict[str, str], tag: str
) -> tuple[str, int, str]:
    """The company's administrator creates a worker with a password and a phone, and issues
    the phone's one-time enrolment code: (worker number, phone id, code)."""
    number = f"AV{tag}-01"
    worker = _ok(
        api.post(
            "/api/v1/partner/workers",
            json={
                "employee_number": number,
                "full_name": "Asta Avisbud",
                "password": PASSWORD,
                "reason": "Nyt avisbud",
            },
            headers=partner,
        ),
        201,
    )
    phone = _ok(
        api.post(
            "/api/v1/partner/phones",
            json={
                "label": f"Avis-tlf {tag}",
                "employee_id": worker["id"],
                "reason": "Telefon til avisbuddet",
            },
            headers=partner,
        ),
        201,
    )
    code = _ok(api.post(f"/api/v1/partner/phones/{phone['id']}/enrolment-code", headers=partner))
    return number, int(phone["id"]), str(code["code"])


def _enrol(api: httpx.Client, phone_id: int, code: str) -> Phone:
    key = DeviceKey.generate()
    _ok(
        api.post(
            "/api/v1/app/enrol",
            json={"code": code, "public_key": base64.b64encode(key.public.compressed).decode()},
        )
    )
    return Phone(api, phone_id, key)  # type: ignore[arg-type] # an httpx.Client like TestClient


def test_an_agreement_in_the_portal_gives_a_partner_worker_those_doors_in_its_window_only(
    browser: Browser, server: Server, api: httpx.Client, admin_api: dict[str, str]
) -> None:
    tag = secrets.token_hex(2).upper()
    now = dt.datetime.now(dt.UTC)
    if now.astimezone(COPENHAGEN).time() > dt.time(23, 56):  # the window would end at once
        time.sleep(300)
        now = dt.datetime.now(dt.UTC)
    start, end, outside = _slot(now)
    association_id, property_id, association = _property_of(server)

    # The municipality registers the company and its administrator.
    company_id, company = _register_company(api, admin_api, tag)
    admin_number = f"AV{tag}-ADM"
    _ok(
        api.post(
            f"/api/v1/organisations/companies/{company_id}/admins",
            json={
                "employee_number": admin_number,
                "full_name": "Anders Avisadmin",
                "password": PASSWORD,
                "reason": "Firmaets administrator",
            },
            headers=admin_api,
        ),
        201,
    )

    # The housing association makes the agreement in its portal.
    assoc_page = _portal_page(browser)
    _make_agreement(assoc_page, server, company_id, property_id, (start, end))
    expected = _agreement_doors(server, association_id, company_id)
    assert expected, "the agreement names the property's entrance and gate controllers"

    # The company's administrator signs in (TOTP set-up) and sets up a worker and a phone.
    partner_page = _portal_page(browser)
    secret = sign_in_browser(
        partner_page, server.base_url, employee_number=admin_number, password=PASSWORD
    )
    expect(partner_page).to_have_url(re.compile(r"/partner$"))
    expect(partner_page.get_by_role("heading", name=company, level=1)).to_be_visible()
    partner = admin_headers(
        api, totp_secret=secret, employee_number=admin_number, password=PASSWORD
    )
    number, phone_id, code = _partner_worker_phone(api, partner, tag)

    # The doors, commissioned before the worker's morning: each with its own clock.
    clock = FrozenClock(dt.datetime.now(dt.UTC))
    doors = {serial: _controller(server, serial, clock) for serial in sorted(expected)}
    home = _home_lock(server, property_id, clock)

    phone = _enrol(api, phone_id, code)
    _ok(phone.login(number, PASSWORD))
    assert phone.door_ids() == expected  # exactly the agreement's doors
    assert {d["kind"] for d in phone.bundle["doors"]} <= {"entrance_controller", "gate_controller"}
    assert phone.bundle["partner"]["blocked_by"] == []

    serial = sorted(expected)[0]
    clock.set(dt.datetime.now(dt.UTC))
    opened = phone.visit(doors[serial], Command.UNLOCK)
    assert opened.ok, opened.response.result
    # The same credential at a home lock in the building: it does not trust the partner issuer.
    credential = next(c for c in phone.bundle["credentials"] if serial in c.get("doors", []))
    phone.bundle["credentials"].append({**credential, "doors": [home.door_id.decode()]})
    at_home = phone.visit(home, Command.UNLOCK)
    assert not at_home.ok
    assert at_home.response.result == "unknown_issuer_key"
    assert home.state.value == "locked"
    phone.bundle["credentials"].pop()
    # An hour after the window the stairwell refuses the same key.
    clock.set(outside)
    late = phone.visit(doors[serial], Command.UNLOCK)
    assert not late.ok
    assert late.response.result == "outside_window"

    # The association blocks the company in its portal.
    assoc_page.get_by_role("link", name="Spær firmaet").click()
    assoc_page.get_by_label("Begrundelse (skrives i loggen)").fill("Avisbud uden for aftalen")
    assoc_page.get_by_role("button", name="Spær firmaet nu").click()
    expect(assoc_page.get_by_role("status").first).to_contain_text("Firmaet er spærret.")

    beat = phone.heartbeat()
    assert beat["status"] == "REFRESH"
    assert [b["association"] for b in beat["partner"]["blocked_by"]] == [association]
    _ok(phone.refresh())
    assert phone.door_ids() == set()
    assert [b["association"] for b in phone.bundle["partner"]["blocked_by"]] == [association]
    assert company in {
        row["name"] for row in _ok(api.get("/api/v1/organisations/companies", headers=admin_api))
    }
    for page in (assoc_page, partner_page):
        page.context.close()
