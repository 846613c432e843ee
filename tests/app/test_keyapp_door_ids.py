"""Door ids as people type them: any case, stray spaces; the door is still addressed by the id
the keys hold (it is signed into the credential)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from carekey.app import cli
from carekey.app.client import AppError
from carekey.app.doorkeys import door_key
from carekey.app.service import KeyApp
from tests.app.conftest import CODE, DOORS, World


def test_door_key_folds_case_and_spaces() -> None:
    assert door_key(" hl-000001 ") == door_key("HL-000001") == door_key("Hl-000001")
    assert door_key("HL-000001") != door_key("HL-000002")


@pytest.mark.parametrize("typed", ["hl-000002", "Hl-000002", "  HL-000002\t"])
def test_open_and_lock_find_the_door_in_any_case(world: World, typed: str) -> None:
    app = world.logged_in()
    outcome = app.open(typed)
    assert outcome.ok, outcome.message_en
    assert world.connects["HL-000002"] == 1  # the door, by its own id
    assert world.connects[typed] == 0
    app.lock()  # sealed: locking up the door just opened needs no code, in any case
    assert app.lock_door(typed.lower()).ok
    assert app.sealed
    assert world.connects["HL-000002"] == 2


def test_a_door_not_in_the_keys_is_still_unknown(world: World) -> None:
    app = world.logged_in()
    with pytest.raises(AppError) as info:
        app.open("hl-999999")
    assert info.value.code == "app.unknown_door"


def test_the_command_line_opens_a_door_typed_in_lower_case(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.logged_in()

    def make_keyapp(options: cli.AppOptions) -> KeyApp:
        return world.start()

    monkeypatch.setattr(cli, "make_keyapp", make_keyapp)
    runner = CliRunner(env={"COLUMNS": "200", "CAREKEY_LANG": None})
    result = runner.invoke(cli.app, ["open", DOORS[0].lower(), "--code", CODE])
    assert result.exit_code == 0, result.output
    assert "Døren er åben." in result.output
    assert world.connects[DOORS[0]] == 1
