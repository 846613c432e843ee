"""``carekey app open/lock`` with sealed keys: the code is asked once and opens the door in the
same step; ``status`` shows the proof of freshness and its warning."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from carekey.app import cli
from carekey.app.service import KeyApp
from tests.app.conftest import CODE, DOORS, World

ENV: dict[str, str | None] = {"COLUMNS": "200", "CAREKEY_LANG": None}


@pytest.fixture
def runner(world: World, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    world.logged_in()
    made: list[KeyApp] = []

    def make_keyapp(options: cli.AppOptions) -> KeyApp:
        made.append(world.start())
        return made[-1]

    monkeypatch.setattr(cli, "make_keyapp", make_keyapp)
    return CliRunner(env=ENV)


def test_open_asks_for_the_code_once_and_opens(runner: CliRunner, world: World) -> None:
    result = runner.invoke(cli.app, ["open", DOORS[0]], input=f"{CODE}\n")
    assert result.exit_code == 0, result.output
    assert result.output.count("Personlig kode") == 1
    assert "Døren er åben." in result.output
    assert world.connects[DOORS[0]] == 1
    result = runner.invoke(cli.app, ["lock", DOORS[0], "--code", CODE])
    assert result.exit_code == 0, result.output
    assert "Døren er låst." in result.output


def test_a_wrong_code_at_the_door_opens_nothing(runner: CliRunner, world: World) -> None:
    result = runner.invoke(cli.app, ["open", DOORS[0], "--code", "0000"])
    assert result.exit_code == 1
    assert "Forkert personlig kode" in result.output
    assert world.connects[DOORS[0]] == 0


def test_status_shows_the_proof_and_warns(runner: CliRunner, world: World) -> None:
    result = runner.invoke(cli.app, ["status", "--offline"])
    assert result.exit_code == 0, result.output
    assert "Friskhedsbevis" in result.output
    assert "gyldigt til 08:40" in result.output
    world.advance(minutes=50)
    result = runner.invoke(cli.app, ["--lang", "en", "status", "--offline"])
    assert "Find coverage before 08:40 or doors will not open" in result.output
