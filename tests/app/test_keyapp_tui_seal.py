"""The terminal UI with sealing: keys sealed after idle go back to the code; a door tapped on a
list shown before the seal asks for the code once and opens in the same step; losing focus
seals."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from textual.events import AppBlur
from textual.pilot import Pilot
from textual.widgets import Static

from carekey.app.tui import DoorTable, KeyAppTUI
from tests.app.conftest import CODE, World


def text_of(tui: KeyAppTUI, selector: str) -> str:
    return str(tui.query_one(selector, Static).render())


async def settle(pilot: Pilot[None], done: Callable[[], bool]) -> None:
    for _ in range(50):
        await pilot.pause()
        if done():
            return
    raise AssertionError(
        f"the UI did not get there: {pilot.app.query_one('#message', Static).render()}"
    )


def test_a_door_tapped_after_the_seal_asks_for_the_code_once(world: World) -> None:
    keyapp = world.logged_in()
    tui = KeyAppTUI(keyapp, tick_interval=None, seal_on_blur=False)

    async def scenario() -> None:
        async with tui.run_test(size=(140, 40)) as pilot:
            assert tui.pane == "doors"
            tui.query_one("#doors", DoorTable).move_cursor(row=0)
            target = tui.selected_door()
            world.advance(seconds=keyapp.policy.seal_after_s + 1)  # sealed, list still shown
            await pilot.press("o")
            await settle(pilot, lambda: tui.pane == "unlock")
            assert "personlige kode" in text_of(tui, "#message")
            assert world.connects[str(target)] == 0
            assert tui.pending_visit is not None
            await pilot.click("#unlock-code")
            await pilot.press(*CODE, "enter")
            await settle(pilot, lambda: not tui.busy and "Døren" in text_of(tui, "#message"))
            assert text_of(tui, "#message") == "Døren er åben.", text_of(tui, "#message")
            assert tui.pane == "doors"
            assert keyapp.code_prompts == 1
            assert world.connects[str(target)] == 1

            world.server.online = False
            world.advance(seconds=keyapp.policy.seal_after_s)
            tui.tick()
            await settle(pilot, lambda: tui.pane == "unlock")
            assert "låst igen" in text_of(tui, "#message")
            await pilot.press("ctrl+q")

    asyncio.run(scenario())


def test_losing_focus_seals_the_keys(world: World) -> None:
    keyapp = world.logged_in()
    tui = KeyAppTUI(keyapp, tick_interval=None)

    async def scenario() -> None:
        async with tui.run_test(size=(140, 40)) as pilot:
            assert tui.pane == "doors"
            tui.post_message(AppBlur())
            await settle(pilot, lambda: tui.pane == "unlock")
            assert keyapp.sealed
            await pilot.press("ctrl+q")

    asyncio.run(scenario())
