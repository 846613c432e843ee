"""The key app's terminal UI, driven with Textual's pilot against the real seeded server:
log in through the login screen, see the doors, open one, watch the outbox drain."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine
from textual.pilot import Pilot
from textual.widgets import Static

from carekey.app.client import ServerClient
from carekey.app.service import KeyApp
from carekey.app.tui import DoorTable, KeyAppTUI
from carekey.app.wallet import Argon2Params
from carekey.devices.firmware import DoorFirmware
from carekey.link.transport import BluetoothLink, Transport
from carekey.seed.service import DEMO_PASSWORD
from tests.api.conftest import Tenants
from tests.api.phone_sim import Scene, advance
from tests.api.test_keyapp_scenario import _employee_number, _home_locks_of

CODE = "2468"
FAST_ARGON2 = {"argon2": Argon2Params(time_cost=1, memory_kib=8192)}


def enrolled_keyapp(scene: Scene, tenants: Tenants, tmp_path: Path) -> tuple[KeyApp, list[str]]:
    """An enrolled phone whose in-memory doors are the worker's first two home locks."""
    doors: dict[str, DoorFirmware] = {}
    for serial, device_id in _home_locks_of(scene.engine, tenants.worker, 2).items():
        doors[serial] = scene.door(device_id)  # commissioned before the morning login

    def transport(door_id: str) -> Transport:
        if door_id not in doors:  # out of Bluetooth range
            raise ConnectionRefusedError(door_id)
        return BluetoothLink(doors[door_id]).connect()

    keyapp = KeyApp(
        tmp_path / "phone",
        server=ServerClient(scene.client),
        clock=scene.clock,
        transports=transport,
        wallet_options=FAST_ARGON2,
    )
    code = scene.client.post(
        f"/api/v1/admin/phones/{tenants.worker_phone}/enrolment-code", headers=scene.admin_headers
    ).json()["code"]
    keyapp.enrol(code)
    return keyapp, list(doors)


def text_of(tui: KeyAppTUI, selector: str) -> str:
    """What a Static shows, as plain text."""
    return str(tui.query_one(selector, Static).render())


async def settle(pilot: Pilot[None], done: Callable[[], bool]) -> None:
    """Let the UI work (an action runs after the screen shows 'busy') until ``done``."""
    for _ in range(50):
        await pilot.pause()
        if done():
            return
    raise AssertionError("the UI did not get there")


async def type_into(pilot: Pilot[None], selector: str, text: str) -> None:
    await pilot.click(selector)
    await pilot.press(*text)


def test_login_see_doors_open_one_and_watch_the_outbox_drain(
    scene: Scene, tenants: Tenants, engine: Engine, tmp_path: Path
) -> None:
    keyapp, serials = enrolled_keyapp(scene, tenants, tmp_path)
    employee = _employee_number(engine, tenants.worker)
    tui = KeyAppTUI(keyapp, tick_interval=None)

    async def scenario() -> None:
        async with tui.run_test(size=(140, 40)) as pilot:
            # 06:45: no keys yet, so the login screen.
            assert tui.pane == "login"
            assert "Ingen nøgler" in text_of(tui, "#status")
            await type_into(pilot, "#employee", employee)
            await type_into(pilot, "#password", DEMO_PASSWORD)
            await pilot.press("enter")
            # The server has accepted the password: now the personal code, twice.
            await settle(pilot, lambda: tui.pane == "choose-code")
            await type_into(pilot, "#code", CODE)
            await type_into(pilot, "#code-again", CODE)
            await pilot.press("enter")
            await settle(pilot, lambda: tui.pane == "doors")
            assert "Du er logget ind" in text_of(tui, "#message")

            # Today's doors, with the keys' end time in the status line.
            until = keyapp.status().valid_until_local()
            status = text_of(tui, "#status")
            assert f"Nøgler gyldige til {until}" in status
            assert "Online" in status
            table = tui.query_one("#doors", DoorTable)
            rows = [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]
            shown = {row[3] for row in rows}
            assert set(serials) <= shown
            assert {row[2] for row in rows} <= {"Hoveddør", "Opgang", "Port"}
            assert "Hoveddør" in {row[2] for row in rows}

            # 07:10: open Fru Hansen's front door.
            target = serials[0]
            table.move_cursor(row=next(i for i, row in enumerate(rows) if row[3] == target))
            advance(scene.clock, minutes=25)
            await pilot.press("o")
            # The keys sealed while the phone was idle: the code, once, then the door opens.
            await settle(pilot, lambda: tui.pane == "unlock")
            await pilot.click("#unlock-code")
            await pilot.press(*CODE, "enter")
            await settle(pilot, lambda: not tui.busy and "Døren" in text_of(tui, "#message"))
            assert text_of(tui, "#message") == "Døren er åben."
            pending = keyapp.status().pending_uploads
            assert pending >= 1  # the door's receipt (and the login), durable before "done"
            assert f"{pending} hændelse" in text_of(tui, "#status")

            # And lock it again when leaving.
            await pilot.press("l")
            await settle(pilot, lambda: text_of(tui, "#message") == "Døren er låst.")

            # Sync: the outbox drains to 0.
            await pilot.press("s")
            await settle(pilot, lambda: "Sendt" in text_of(tui, "#message"))
            assert "0 hændelser venter på upload" in text_of(tui, "#status")
            assert keyapp.status().pending_uploads == 0

            # English on request.
            await pilot.press("g")
            await pilot.pause()
            assert "Keys valid until" in text_of(tui, "#status")
            assert "0 events waiting to upload" in text_of(tui, "#status")
            await pilot.press("q")

    asyncio.run(scenario())


def test_unlock_with_the_code_a_door_out_of_reach_and_keys_running_out(
    scene: Scene, tenants: Tenants, tmp_path: Path
) -> None:
    keyapp, serials = enrolled_keyapp(scene, tenants, tmp_path)
    keyapp.login(_employee_number(scene.engine, tenants.worker), DEMO_PASSWORD, CODE)
    keyapp.lock()  # a fresh start of the app: keys stored, not yet unlocked
    tui = KeyAppTUI(keyapp, tick_interval=None)

    async def scenario() -> None:
        async with tui.run_test(size=(140, 40)) as pilot:
            assert tui.pane == "unlock"
            await type_into(pilot, "#unlock-code", "1111")
            await pilot.press("enter")
            await settle(pilot, lambda: "Forkert personlig kode" in text_of(tui, "#message"))
            assert tui.pane == "unlock"
            await type_into(pilot, "#unlock-code", CODE)
            await pilot.press("enter")
            await settle(pilot, lambda: tui.pane == "doors")

            # A door out of reach: Enter opens the selected door; the app says what to do.
            table = tui.query_one("#doors", DoorTable)
            rows = [str(table.get_row_at(i)[3]) for i in range(table.row_count)]
            table.move_cursor(row=next(i for i, door in enumerate(rows) if door not in serials))
            await pilot.press("enter")
            await settle(pilot, lambda: "Døren svarer ikke" in text_of(tui, "#message"))
            assert text_of(tui, "#message") == "Døren svarer ikke. Gå tættere på og prøv igen."

            # The keys run out while the app is open: the timer's tick deletes them.
            advance(scene.clock, hours=9, seconds=1)
            tui.tick()
            await pilot.pause()
            assert tui.pane == "login"
            assert "Log ind igen" in text_of(tui, "#message")
            assert "Ingen nøgler" in text_of(tui, "#status")

    asyncio.run(scenario())
