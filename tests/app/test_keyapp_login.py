"""Logging in: the password is checked by the server before the personal code is asked for,
the code is typed twice, and a one-time password from the office is replaced at the same login
(the server's 403 ``auth.password_change_required``, answered here by the fake server)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from carekey.app import cli
from carekey.app.client import PASSWORD_CHANGE_REQUIRED, AppError, ServerError
from carekey.app.service import KeyApp
from tests.app.conftest import CODE, World

ENV: dict[str, str | None] = {"COLUMNS": "200", "CAREKEY_LANG": None}


@pytest.fixture
def runner(world: World, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    world.start().enrol("ONE-TIME", server_url="http://server")

    def make_keyapp(options: cli.AppOptions) -> KeyApp:
        return world.start()

    monkeypatch.setattr(cli, "make_keyapp", make_keyapp)
    return CliRunner(env=ENV)


def test_a_wrong_password_fails_before_the_personal_code_is_asked(
    runner: CliRunner, world: World
) -> None:
    result = runner.invoke(cli.app, ["login", "E0001"], input="wrong\n")
    assert result.exit_code == 1
    assert "Forkert medarbejdernummer eller adgangskode" in result.output
    assert "personlig kode" not in result.output.lower()
    assert [b["password"] for b in world.server.login_bodies] == ["wrong"]
    assert not world.start().status().keys_present


def test_the_code_is_asked_after_the_password_and_typed_twice(
    runner: CliRunner, world: World
) -> None:
    # The two codes differ once: asked again; the server saw one login only.
    typed = f"password\n{CODE}\n1357\n{CODE}\n{CODE}\n"
    result = runner.invoke(cli.app, ["login", "E0001"], input=typed)
    assert result.exit_code == 0, result.output
    out = result.output
    assert out.index("Adgangskode") < out.index("Vælg en personlig kode")
    assert "De to er ikke ens" in out
    assert out.count("Gentag den personlige kode") == 2
    assert "Du er logget ind. 3 døre i dag." in out
    assert len(world.server.login_bodies) == 1
    assert "new_password" not in world.server.login_bodies[0]
    app = world.start()
    assert app.status().keys_present
    app.unlock(CODE)  # sealed under the code typed twice
    assert len(app.doors()) == 3


def test_a_code_of_the_wrong_form_is_asked_again(runner: CliRunner, world: World) -> None:
    typed = f"password\n12\n{CODE}\n{CODE}\n"
    result = runner.invoke(cli.app, ["--lang", "en", "login", "E0001"], input=typed)
    assert result.exit_code == 0, result.output
    assert "The personal code must be 4-12 digits" in result.output
    assert "You are logged in" in result.output


def test_a_bad_code_option_fails_before_anything_is_sent(runner: CliRunner, world: World) -> None:
    result = runner.invoke(cli.app, ["login", "E0001", "--password", "password", "--code", "1"])
    assert result.exit_code == 1
    assert "4-12 cifre" in result.output
    assert world.server.login_bodies == []


def test_a_one_time_password_is_replaced_at_login(runner: CliRunner, world: World) -> None:
    world.server.must_change_password = True
    # One-time password; the new one twice (a slip first); then the personal code twice.
    typed = f"password\nmy-own-1\nmy-own-2\nmy-own-1\nmy-own-1\n{CODE}\n{CODE}\n"
    result = runner.invoke(cli.app, ["login", "E0001"], input=typed)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Vælg en ny adgangskode" in out  # the server's own words
    assert out.index("Ny adgangskode") < out.index("Vælg en personlig kode")
    assert "De to er ikke ens" in out
    assert "Din nye adgangskode er gemt." in out
    bodies = world.server.login_bodies
    assert [(b["password"], b.get("new_password")) for b in bodies] == [
        ("password", None),
        ("password", "my-own-1"),
    ]
    assert all(body["challenge"] for body in bodies)  # a device proof each time
    assert world.server.password == "my-own-1"
    assert world.start().status().keys_present


def test_a_new_password_the_server_refuses_is_asked_again(runner: CliRunner, world: World) -> None:
    world.server.must_change_password = True
    typed = f"password\nabc\nabc\nmine\nmine\n{CODE}\n{CODE}\n"
    result = runner.invoke(cli.app, ["login", "E0001"], input=typed)
    assert result.exit_code == 0, result.output
    assert "Adgangskoden er for kort" in result.output
    assert [b.get("new_password") for b in world.server.login_bodies] == [None, "abc", "mine"]
    assert world.server.password == "mine"


def test_a_one_time_password_in_english(runner: CliRunner, world: World) -> None:
    world.server.must_change_password = True
    typed = f"password\nmine\nmine\n{CODE}\n{CODE}\n"
    result = runner.invoke(cli.app, ["--lang", "en", "login", "E0001"], input=typed)
    assert result.exit_code == 0, result.output
    assert "Choose a new password" in result.output
    assert "Repeat the new password" in result.output
    assert "Your new password is saved." in result.output


def test_the_two_steps_in_the_app(world: World) -> None:
    app = world.start()
    app.enrol("ONE-TIME", server_url="http://server")
    world.server.must_change_password = True
    with pytest.raises(ServerError) as info:
        app.start_login("E0001", "password")
    assert info.value.code == PASSWORD_CHANGE_REQUIRED
    assert app.pending_login is None
    pending = app.start_login("E0001", "password", new_password="mine")
    assert pending.door_count == 3
    assert app.state.session_token is None  # nothing is kept before the code
    assert not app.status().keys_present
    with pytest.raises(AppError) as bad:
        app.finish_login("12")
    assert bad.value.code == "wallet.bad_code_format"
    assert app.pending_login is pending  # a code of the wrong form loses nothing
    status = app.finish_login(CODE)
    assert status.keys_present
    assert status.unlocked
    assert app.pending_login is None
    with pytest.raises(AppError) as again:
        app.finish_login(CODE)
    assert again.value.code == "app.no_login"


def test_the_count_of_doors_agrees_with_its_noun() -> None:
    assert cli.doors_today(1) == "1 dør i dag"
    assert cli.doors_today(2) == "2 døre i dag"
    assert cli.doors_today(0) == "0 døre i dag"
    assert cli.doors_today(1, "en") == "1 door today"
    assert cli.doors_today(35, "en") == "35 doors today"
