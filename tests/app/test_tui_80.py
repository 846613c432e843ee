"""The terminal UI at 80 x 24, the smallest terminal it promises to be readable on: every pane
in Danish and English, nothing cut off and nothing on top of anything else; the door list with
long addresses fits the width (no sideways scrolling), a search filters it as one types, and the
connection status follows the server's answers."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from textual.geometry import Region
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import ContentSwitcher, Static

from carekey.app.service import KeyApp
from carekey.app.tui import DoorTable, KeyAppTUI
from tests.app.conftest import CODE, World, make_world

SIZE = (80, 24)
PEOPLE = {
    "KBH-HL-000001": ("Arne Pedersen", "Store Kongensgade 25B, st. tv., 1150 København K"),
    "KBH-EC-000002": ("Arne Pedersen", "Store Kongensgade 25B, st. tv., 1150 København K"),
    "KBH-HL-000003": ("Åse Ærø-Østergård", "Åbenråvej 117, 3. th., 6200 Aabenraa"),
    "KBH-HL-000004": ("Bodil Sørensen", "Æblehaven 3, 2400 København NV"),
}
MANY = [*PEOPLE, *(f"KBH-HL-{n:06d}" for n in range(5, 31))]


def long_list_world(tmp_path: Path) -> World:
    """30 doors; long Danish addresses, one emergency key."""
    world = make_world(tmp_path, door_ids=MANY)
    world.server.people = dict(PEOPLE)
    world.server.emergency = {"Bodil Sørensen"}
    return world


def text_of(tui: KeyAppTUI, selector: str) -> str:
    return str(tui.query_one(selector, Static).render())


async def settle(pilot: Pilot[None], done: Callable[[], bool]) -> None:
    for _ in range(60):
        await pilot.pause()
        if done():
            return
    raise AssertionError(f"the UI did not get there: {text_of(pilot.app, '#message')}")  # type: ignore[arg-type]


def shown(tui: KeyAppTUI) -> list[Widget]:
    """The top-level rows and every widget of the pane on show."""
    body = tui.query_one("#body", ContentSwitcher)
    pane = body.visible_content
    assert pane is not None
    widgets = [tui.query_one(f"#{name}") for name in ("title", "status", "message", "keys")]
    return [*widgets, body, pane, *(w for w in pane.query("*") if w.display)]


def assert_readable(tui: KeyAppTUI) -> None:
    """Every widget on show lies wholly on the 80 x 24 screen and inside what clips it; the
    rows of the screen do not overlap; the door table needs no sideways scrolling."""
    screen = Region(0, 0, *SIZE)
    for widget in shown(tui):
        geometry = tui.screen.find_widget(widget)
        region = geometry.region
        assert region.width > 0, widget
        assert region.height > 0, widget
        assert screen.contains_region(region), (widget, region)
        assert geometry.clip.contains_region(region), (widget, region, geometry.clip)
    rows = [tui.query_one(f"#{name}").region for name in ("title", "status", "body", "message")]
    rows.append(tui.query_one("#keys").region)
    for upper, lower in itertools.pairwise(rows):
        assert upper.bottom <= lower.y, (upper, lower)
    table = tui.query_one("#doors", DoorTable)
    if table.display and tui.pane == "doors":
        assert table.virtual_size.width <= table.scrollable_content_region.width
        assert table.row_count > 0


def run(tui: KeyAppTUI, scenario: Callable[[Pilot[None]], Awaitable[None]]) -> None:
    async def main() -> None:
        async with tui.run_test(size=SIZE) as pilot:
            await pilot.pause()
            await scenario(pilot)
            await pilot.press("ctrl+q")

    asyncio.run(main())


def tui_for(app: KeyApp, lang: str) -> KeyAppTUI:
    app.set_language(lang)
    return KeyAppTUI(app, tick_interval=None, seal_on_blur=False, server_url="http://server")


@pytest.mark.parametrize("lang", ["da", "en"])
def test_every_pane_is_readable_at_80_by_24(tmp_path: Path, lang: str) -> None:
    world = long_list_world(tmp_path)
    world.server.must_change_password = True
    tui = tui_for(world.start(), lang)
    seen: list[str] = []

    async def scenario(pilot: Pilot[None]) -> None:
        async def at(pane: str) -> None:
            await settle(pilot, lambda: tui.pane == pane and not tui.busy)
            await pilot.pause()
            assert_readable(tui)
            seen.append(pane)

        await at("enrol")
        await pilot.press(*"ONE-TIME", "enter")
        await at("login")
        await pilot.press(*"E0001", "enter", *"password", "enter")
        await at("change-password")
        await pilot.press(*"mine", "enter", *"mine", "enter")
        await at("choose-code")
        await pilot.press(*CODE, "enter", *CODE, "enter")
        await at("doors")
        # The longest status line: the warning before the proof of freshness runs out.
        world.advance(minutes=50)
        tui.refresh_view()
        await pilot.pause()
        assert "dækning" in text_of(tui, "#status") or "coverage" in text_of(tui, "#status")
        assert_readable(tui)
        tui.keyapp.lock()
        tui.refresh_view()
        await at("unlock")

    run(tui, scenario)
    assert seen == ["enrol", "login", "change-password", "choose-code", "doors", "unlock"]


@pytest.mark.parametrize("lang", ["da", "en"])
def test_a_long_door_list_fits_the_width(tmp_path: Path, lang: str) -> None:
    world = long_list_world(tmp_path)
    tui = tui_for(world.logged_in(), lang)

    async def scenario(pilot: Pilot[None]) -> None:
        assert tui.pane == "doors"
        assert_readable(tui)
        table = tui.query_one("#doors", DoorTable)
        assert table.row_count == len(MANY)
        # The long address wraps onto a second line instead of running off the screen.
        assert table.get_row_at(0)[1] == PEOPLE["KBH-HL-000001"][1]

        def first_height() -> int:
            return next(iter(table.rows.values())).height

        assert first_height() >= 2
        # Wider: one line per door (but the emergency key's mark, on a line of its own).
        await pilot.resize_terminal(160, 40)
        await settle(pilot, lambda: first_height() == 1)
        assert sorted(row.height for row in table.rows.values())[-2:] == [1, 2]
        await pilot.resize_terminal(*SIZE)
        await settle(pilot, lambda: table.virtual_size.width <= table.size.width)

    run(tui, scenario)


def test_search_filters_the_door_list_as_one_types(tmp_path: Path) -> None:
    world = long_list_world(tmp_path)
    tui = tui_for(world.logged_in(), "da")

    def doors() -> list[str]:
        table = tui.query_one("#doors", DoorTable)
        return [str(table.get_row_at(i)[3]) for i in range(table.row_count)]

    async def scenario(pilot: Pilot[None]) -> None:
        assert len(doors()) == len(MANY)
        await pilot.press("slash")  # from the list to the search field
        assert tui.focused is tui.query_one("#search")
        await pilot.press(*"KONGENS")  # case does not matter
        assert doors() == ["KBH-HL-000001", "KBH-EC-000002"]
        await pilot.press(*" 25b")  # every word must be found
        assert doors() == ["KBH-HL-000001", "KBH-EC-000002"]
        tui.query_one("#search").value = ""  # type: ignore[attr-defined]
        await pilot.press(*"ærø")  # Danish letters, in lower case for "Ærø"
        await pilot.pause()
        assert doors() == ["KBH-HL-000003"]
        tui.query_one("#search").value = ""  # type: ignore[attr-defined]
        await pilot.press(*"aabenr")  # aa for å, half typed
        await pilot.pause()
        assert doors() == ["KBH-HL-000003"]
        tui.query_one("#search").value = ""  # type: ignore[attr-defined]
        await pilot.press(*"akut")  # the emergency key's mark
        await pilot.pause()
        assert doors() == ["KBH-HL-000004"]
        tui.query_one("#search").value = ""  # type: ignore[attr-defined]
        await pilot.press(*"hl-000004")  # a door id in lower case
        await pilot.pause()
        assert doors() == ["KBH-HL-000004"]
        await pilot.press(*"x")
        await pilot.pause()
        assert doors() == []
        assert "Ingen døre passer" in text_of(tui, "#message")
        await pilot.press("backspace")
        await pilot.pause()
        assert doors() == ["KBH-HL-000004"]
        assert text_of(tui, "#message") == ""
        # Enter: to the list, where o opens the door found.
        await pilot.press("enter")
        assert isinstance(tui.focused, DoorTable)
        await pilot.press("o")
        await settle(pilot, lambda: text_of(tui, "#message") == "Døren er åben.")
        assert world.connects["KBH-HL-000004"] == 1

    run(tui, scenario)


def test_the_connection_status_follows_the_servers_answers(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    app = world.start()
    app.enrol("ONE-TIME", server_url="http://server")
    tui = tui_for(world.start(), "da")  # a new run: the enrolment's answer is remembered

    async def scenario(pilot: Pilot[None]) -> None:
        assert "Online" in text_of(tui, "#status")
        world.advance(minutes=3)  # nothing asked for a while: no longer known
        tui.refresh_view()
        await pilot.pause()
        assert "Forbindelse ukendt (svar kl. 07:45)" in text_of(tui, "#status")
        await pilot.press(*"E0001", "enter", *"password", "enter")
        await settle(pilot, lambda: tui.pane == "choose-code")
        assert "Online" in text_of(tui, "#status")
        await pilot.press(*CODE, "enter", *CODE, "enter")
        await settle(pilot, lambda: tui.pane == "doors")

        world.server.online = False  # into the stairwell
        world.advance(seconds=61)
        tui.tick()  # the heartbeat goes unanswered
        await pilot.pause()
        assert "Offline" in text_of(tui, "#status")
        world.server.online = True
        world.advance(seconds=61)
        tui.tick()
        await pilot.pause()
        assert "Online" in text_of(tui, "#status")
        await pilot.press("g")
        await pilot.pause()
        # The check-in before a door gets no answer: the door opens offline, and it shows.
        world.server.online = False
        world.advance(seconds=61)
        await pilot.press("o")
        await settle(pilot, lambda: text_of(tui, "#message") == "The door is open.")
        assert "Offline" in text_of(tui, "#status")
        world.server.online = True
        await pilot.press("s")  # the upload is answered
        await settle(pilot, lambda: "Sent: " in text_of(tui, "#message"))
        assert "Online" in text_of(tui, "#status")
        assert world.server.uploads

    run(tui, scenario)


def test_a_wrong_password_stays_on_the_login_and_asks_no_code(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    world.start().enrol("ONE-TIME", server_url="http://server")
    tui = tui_for(world.start(), "da")

    async def scenario(pilot: Pilot[None]) -> None:
        assert tui.pane == "login"
        await pilot.press(*"E0001", "enter", *"wrong", "enter")
        await settle(pilot, lambda: "Forkert" in text_of(tui, "#message"))
        assert tui.pane == "login"
        assert tui.keyapp.pending_login is None
        # Right password, then two codes that differ: asked again, nothing stored.
        await pilot.click("#password")
        await pilot.press(*"password", "enter")
        await settle(pilot, lambda: tui.pane == "choose-code")
        await pilot.press(*CODE, "enter", *"1357", "enter")
        await pilot.pause()
        assert "ikke ens" in text_of(tui, "#message")
        assert tui.pane == "choose-code"
        assert not tui.keyapp.status().keys_present
        assert tui.focused is tui.query_one("#code")  # both again, from the first
        await pilot.press(*CODE, "enter", *CODE, "enter")
        await settle(pilot, lambda: tui.pane == "doors")
        assert len(world.server.login_bodies) == 2

    run(tui, scenario)


def test_escape_goes_back_from_the_code_to_the_password(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    world.start().enrol("ONE-TIME", server_url="http://server")
    tui = tui_for(world.start(), "en")

    async def scenario(pilot: Pilot[None]) -> None:
        await pilot.press(*"E0001", "enter", *"password", "enter")
        await settle(pilot, lambda: tui.pane == "choose-code")
        assert "Esc Back" in text_of(tui, "#keys")
        await pilot.press("escape")
        await settle(pilot, lambda: tui.pane == "login")
        assert tui.keyapp.pending_login is None
        assert not tui.keyapp.status().keys_present

    run(tui, scenario)


def test_a_new_password_the_server_refuses_stays_on_its_pane(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    world.start().enrol("ONE-TIME", server_url="http://server")
    world.server.must_change_password = True
    tui = tui_for(world.start(), "da")

    async def scenario(pilot: Pilot[None]) -> None:
        await pilot.press(*"E0001", "enter", *"password", "enter")
        await settle(pilot, lambda: tui.pane == "change-password")
        assert "Vælg en ny adgangskode" in text_of(tui, "#message")
        await pilot.press(*"abc", "enter", *"abd", "enter")  # two that differ: not sent
        await pilot.pause()
        assert "to gange" in text_of(tui, "#message")
        assert len(world.server.login_bodies) == 1
        await pilot.press(*"abc", "enter", *"abc", "enter")
        await settle(pilot, lambda: "for kort" in text_of(tui, "#message"))
        assert tui.pane == "change-password"
        await pilot.click("#new-password")
        await pilot.press(*"mine", "enter", *"mine", "enter")
        await settle(pilot, lambda: tui.pane == "choose-code")
        assert world.server.password == "mine"

    run(tui, scenario)
