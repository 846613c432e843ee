"""``carekey app …`` against the real seeded server: enrol, log in, see the doors, open one
over a local socket found in the door directory; user errors are plain text with exit code 1."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from carekey.app import cli
from carekey.app.client import AppError, ServerClient
from carekey.app.service import KeyApp
from carekey.app.transports import (
    DoorAddress,
    DoorDirectory,
    DoorUnreachableError,
    directory_transports,
)
from carekey.app.wallet import Argon2Params
from carekey.devices.doorserver import DoorServer
from carekey.seed.service import DEMO_PASSWORD
from tests.api.conftest import Tenants
from tests.api.phone_sim import Scene
from tests.api.test_keyapp_scenario import _employee_number, _home_locks_of

CODE = "2468"
FAST_ARGON2 = {"argon2": Argon2Params(time_cost=1, memory_kib=8192)}
# Wide enough for the door table; the developer's own settings must not leak in.
ENV: dict[str, str | None] = {
    "COLUMNS": "200",
    "CAREKEY_LANG": None,
    "CAREKEY_APP_DIR": None,
    "CAREKEY_SERVER": None,
    "CAREKEY_DOORS": None,
}


@pytest.fixture
def served_door(scene: Scene, tenants: Tenants) -> Iterator[tuple[str, DoorServer]]:
    """The worker's first front door, simulated and served on a local socket."""
    serial, device_id = next(iter(_home_locks_of(scene.engine, tenants.worker, 1).items()))
    with DoorServer(scene.door(device_id), tick_interval=0.05) as server:
        yield serial, server


@pytest.fixture
def runner(
    scene: Scene, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> tuple[CliRunner, list[str]]:
    """A CLI whose key app talks to the in-process server; doors come from the directory."""

    def make_keyapp(options: cli.AppOptions) -> KeyApp:
        return KeyApp(
            options.data_dir,
            server=ServerClient(scene.client),
            clock=scene.clock,
            transports=directory_transports(options.doors, timeout=1.0),
            wallet_options=FAST_ARGON2,
        )

    monkeypatch.setattr(cli, "make_keyapp", make_keyapp)
    args = ["--data-dir", str(tmp_path / "phone"), "--doors", str(tmp_path / "doors.json")]
    return CliRunner(), args


def test_enrol_login_doors_open_status_sync(
    scene: Scene,
    tenants: Tenants,
    engine: Engine,
    tmp_path: Path,
    runner: tuple[CliRunner, list[str]],
    served_door: tuple[str, DoorServer],
) -> None:
    cli_runner, args = runner
    serial, server = served_door
    DoorDirectory.load(tmp_path / "doors.json")  # no file yet: an empty directory
    (tmp_path / "doors.json").write_text(
        json.dumps({"doors": {serial: {"host": "127.0.0.1", "port": server.port}}})
    )

    def run(*command: str, stdin: str | None = None) -> tuple[int, str, str]:
        result = cli_runner.invoke(cli.app, [*args, *command], input=stdin, env=ENV)
        assert "Traceback" not in result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)
        return result.exit_code, result.stdout, result.stderr

    code = scene.client.post(
        f"/api/v1/admin/phones/{tenants.worker_phone}/enrolment-code", headers=scene.admin_headers
    ).json()["code"]
    exit_code, out, _ = run("enrol", code)
    assert exit_code == 0, out
    assert "Telefonen er tilmeldt" in out

    # A wrong password fails at once: no personal code is asked for.
    employee = _employee_number(engine, tenants.worker)
    exit_code, out, err = run("login", employee, stdin="not-the-password\n")
    assert exit_code == 1
    assert "ersonlig kode" not in out + err
    # The password at a hidden prompt, then the personal code (twice).
    exit_code, out, err = run("login", employee, stdin=f"{DEMO_PASSWORD}\n{CODE}\n{CODE}\n")
    assert exit_code == 0, err
    assert "Du er logget ind" in out
    assert "Nøgler gyldige til" in out

    exit_code, out, err = run("doors", "--code", CODE)
    assert exit_code == 0, err
    assert "Nøgler gyldige til" in out
    assert "Hoveddør" in out
    assert serial in out

    exit_code, out, err = run("open", serial, "--code", CODE)
    assert exit_code == 0, err
    assert "Døren er åben." in out
    assert "venter på upload" in out
    exit_code, out, err = run("lock", serial, "--code", CODE)
    assert exit_code == 0, err
    assert "Døren er låst." in out

    exit_code, out, err = run("status")
    assert exit_code == 0, err
    assert "Online" in out
    assert "hændelser venter på upload" in out
    exit_code, out, err = run("--lang", "en", "status", "--offline")
    assert exit_code == 0, err
    assert "Keys valid until" in out

    exit_code, out, err = run("sync")
    assert exit_code == 0, err
    assert "0 hændelser venter på upload" in out

    # User errors: one plain sentence, exit code 1, no traceback.
    exit_code, out, err = run("doors", "--code", "0000")
    assert exit_code == 1
    assert "Forkert personlig kode" in err
    exit_code, out, err = run("--lang", "en", "open", "KBH-NOT-A-DOOR", "--code", CODE)
    assert exit_code == 1
    assert "The door is not in your keys today" in err
    (tmp_path / "doors.json").write_text(json.dumps({"doors": {}}))
    exit_code, out, err = run("open", serial, "--code", CODE)
    assert exit_code == 1
    assert "Døren svarer ikke" in err
    assert "dørlisten" in err

    exit_code, out, err = run("logout")
    assert exit_code == 0, err
    exit_code, out, err = run("doors", "--code", CODE)
    assert exit_code == 1
    assert "log ind" in err


def test_a_phone_that_is_not_enrolled_says_so(
    scene: Scene, runner: tuple[CliRunner, list[str]]
) -> None:
    cli_runner, args = runner
    result = cli_runner.invoke(cli.app, [*args, "doors"], env=ENV)
    assert result.exit_code == 1
    assert "Telefonen er ikke tilmeldt" in result.stderr
    result = cli_runner.invoke(cli.app, [*args, "--lang", "en", "login", "E1"], env=ENV)
    assert result.exit_code == 1
    assert "The phone is not enrolled" in result.stderr
    assert "Password" not in result.output  # nothing asked on a phone that cannot log in


# --- the door directory, without a server ---------------------------------------------------------


def test_door_directory_round_trip_and_bad_files(tmp_path: Path) -> None:
    path = tmp_path / "demo" / "doors.json"
    directory = DoorDirectory.load(path)
    assert directory.doors == {}
    DoorDirectory({"KBH-HL-1": cli_address(47001)}).write(path)
    assert DoorDirectory.load(path).doors["KBH-HL-1"].port == 47001
    path.write_text("{not json")
    with pytest.raises(AppError) as info:
        DoorDirectory.load(path)
    assert info.value.code == "app.door_directory_invalid"
    path.write_text(json.dumps({"doors": {"KBH-HL-1": {"host": "127.0.0.1", "port": "x"}}}))
    with pytest.raises(AppError):
        DoorDirectory.load(path)


def test_a_door_that_does_not_answer(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    path = tmp_path / "doors.json"
    DoorDirectory({"KBH-HL-1": cli_address(port)}).write(path)
    connect = directory_transports(path, timeout=0.5)
    with pytest.raises(DoorUnreachableError) as info:
        connect("KBH-HL-1")
    assert info.value.message().startswith("Døren svarer ikke")
    assert "Move closer" in info.value.message("en")
    with pytest.raises(DoorUnreachableError) as info:
        connect("KBH-HL-2")
    assert "ikke i dørlisten" in info.value.message()


def cli_address(port: int) -> DoorAddress:
    return DoorAddress("127.0.0.1", port)
