"""The demo's ports (issue 18): the server's and every simulated door's port are configurable,
and a taken one is said in Danish and English, with a non-zero exit code, before anything says
"kører på"; ``make demo`` honours CAREKEY_HOST and CAREKEY_PORT. Also: outside development the
server does not start with an issuer key made by the seed, and the seed does not run."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from carekey.cli.main import app
from carekey.config import Settings, get_settings
from carekey.seed.service import demo_base_time
from carekey.server.app import SeededIssuerKeyError, create_app
from carekey.store import models as m
from carekey.store.db import create_db_engine

ROOT = Path(__file__).resolve().parents[2]
SECRET = "a-production-secret-of-at-least-32-characters"


def _flat(output: str) -> str:
    return " ".join(output.split())


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[CliRunner]:
    monkeypatch.setenv("CAREKEY_DATA_DIR", str(tmp_path / "data"))
    for name in ("CAREKEY_DATABASE_URL", "CAREKEY_ENVIRONMENT", "CAREKEY_DEMO_DOOR_PORT"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


@pytest.fixture(scope="module")
def seeded_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite database with the small profile (made once; each test copies it)."""
    folder = tmp_path_factory.mktemp("seeded")
    url = f"sqlite:///{folder / 'carekey.db'}"
    saved = {k: os.environ.pop(k) for k in ("CAREKEY_ENVIRONMENT",) if k in os.environ}
    get_settings.cache_clear()
    try:
        cli = CliRunner()
        assert cli.invoke(app, ["db", "upgrade", "--database-url", url]).exit_code == 0
        result = cli.invoke(app, ["seed", "--profile", "small", "--database-url", url])
        assert result.exit_code == 0, result.output
    finally:
        os.environ.update(saved)
        get_settings.cache_clear()
    return folder / "carekey.db"


@pytest.fixture
def seeded_url(seeded_db: Path, tmp_path: Path) -> str:
    path = tmp_path / "carekey.db"
    shutil.copyfile(seeded_db, path)
    return f"sqlite:///{path}"


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port some other program listens on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


def test_a_taken_server_port_is_said_first_and_nothing_runs(
    runner: CliRunner, seeded_url: str, taken_port: int, tmp_path: Path
) -> None:
    demo = tmp_path / "demo"
    for extra in ([], ["--demo", str(demo)]):
        args = ["serve", "--port", str(taken_port), "--database-url", seeded_url, *extra]
        result = runner.invoke(app, args)
        assert result.exit_code == 2, result.output
        text = _flat(result.output)
        assert f"kan ikke lytte på 127.0.0.1:{taken_port}, porten er optaget" in text
        assert f"cannot listen on 127.0.0.1:{taken_port}, the port is taken" in text
        assert "CAREKEY_PORT" in text
        assert "kører på" not in text
        assert "Demo:" not in text
    assert not (demo / "doors.json").exists()  # checked before the demo was prepared


def test_the_port_from_the_environment_is_the_one_checked(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, seeded_url: str, taken_port: int
) -> None:
    monkeypatch.setenv("CAREKEY_PORT", str(taken_port))
    get_settings.cache_clear()
    result = runner.invoke(app, ["serve", "--database-url", seeded_url])
    assert result.exit_code == 2
    assert f"kan ikke lytte på 127.0.0.1:{taken_port}" in _flat(result.output)
    assert "kører på" not in result.output


def test_a_taken_door_port_is_said_first_and_no_door_is_left_running(
    runner: CliRunner, seeded_url: str, taken_port: int, tmp_path: Path
) -> None:
    free = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    free.bind(("127.0.0.1", 0))
    server_port = int(free.getsockname()[1])
    free.close()
    demo = tmp_path / "demo"
    # The doors' first port is one below the taken one: the first door starts, the second
    # finds its port taken; the first is stopped again.
    args = ["serve", "--port", str(server_port), "--database-url", seeded_url]
    args += ["--demo", str(demo), "--door-port", str(taken_port - 1), "--no-live"]
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    text = _flat(result.output)
    assert f"demo-dørens port {taken_port} er optaget" in text
    assert f"the demo door's port {taken_port} is taken" in text
    assert "--door-port" in text
    assert "CAREKEY_DEMO_DOOR_PORT" in text
    assert "kører på" not in text
    directory = json.loads((demo / "doors.json").read_text())
    ports = sorted(where["port"] for where in directory["doors"].values())
    assert ports[:2] == [taken_port - 1, taken_port]  # from the option, consecutive
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", taken_port - 1))  # the first door let go of its port


def test_the_door_port_comes_from_the_environment(
    runner: CliRunner,
    monkeypatch: pytest.MonkeyPatch,
    seeded_url: str,
    taken_port: int,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("CAREKEY_DEMO_DOOR_PORT", str(taken_port))
    get_settings.cache_clear()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as free:
        free.bind(("127.0.0.1", 0))
        server_port = int(free.getsockname()[1])
    args = ["serve", "--port", str(server_port), "--database-url", seeded_url, "--no-live"]
    result = runner.invoke(app, [*args, "--demo", str(tmp_path / "demo")])
    assert result.exit_code == 2, result.output
    assert f"demo-dørens port {taken_port} er optaget" in _flat(result.output)
    assert "kører på" not in result.output


def test_make_demo_honours_carekey_host_and_port() -> None:
    make = shutil.which("make")
    if make is None:
        pytest.skip("no make here")
    env = {**os.environ, "CAREKEY_PORT": "8123", "CAREKEY_HOST": "127.0.0.2"}
    env.pop("PORT", None)
    env.pop("HOST", None)

    def dry_run(*extra: str) -> str:
        done = subprocess.run(  # noqa: S603 - make, fixed arguments
            [make, "-n", "-W", ".venv/.main-stamp", "demo", *extra],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout

    assert "serve --host 127.0.0.2 --port 8123 --demo" in dry_run()
    assert "--port 9000 --demo" in dry_run("PORT=9000")  # the make variable still wins
    env.pop("CAREKEY_PORT")
    env.pop("CAREKEY_HOST")
    assert "serve --host 127.0.0.1 --port 8000 --demo" in dry_run()


# --- issuer keys made by the seed, outside development ------------------------------------------


def test_outside_development_serve_refuses_seeded_issuer_keys(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, seeded_url: str, tmp_path: Path
) -> None:
    monkeypatch.setenv("CAREKEY_SECRET_KEY", SECRET)
    for environment in ("production", "test"):
        monkeypatch.setenv("CAREKEY_ENVIRONMENT", environment)
        get_settings.cache_clear()
        result = runner.invoke(app, ["serve", "--port", "1", "--database-url", seeded_url])
        assert result.exit_code == 2, result.output
        text = _flat(result.output)
        assert "Kommune 0101 har en aktiv udstedernøgle lavet af `carekey seed`" in text
        assert "Municipality 0101 has an active issuer key made by `carekey seed`" in text
        assert "carekey municipality create" in text
        assert "kører på" not in text
        demo = runner.invoke(app, ["serve", "--database-url", seeded_url, "--demo", "x"])
        assert demo.exit_code == 2
        assert "--demo kører kun i udvikling" in _flat(demo.output)
        seed = runner.invoke(app, ["seed", "--database-url", f"sqlite:///{tmp_path}/e.db"])
        assert seed.exit_code == 2
        assert "kører kun i udvikling" in _flat(seed.output)
    assert not (tmp_path / "e.db").exists()


def test_outside_development_the_app_does_not_start_with_seeded_keys(seeded_url: str) -> None:
    engine = create_db_engine(seeded_url)
    try:
        production = Settings(environment="production", secret_key=SECRET)  # type: ignore[arg-type]
        starting = TestClient(create_app(production, engine=engine))
        with pytest.raises(SeededIssuerKeyError, match="carekey municipality create"):
            starting.__enter__()
        # In development the demo's keys are fine.
        with TestClient(create_app(Settings(), engine=engine)) as http:
            assert http.get("/healthz").status_code == 200
        # Active keys not made by the seed: it starts.
        with Session(engine) as db, db.begin():
            for key in db.execute(select(m.IssuerKey)).scalars():
                key.seeded = False
        with TestClient(create_app(production, engine=engine)) as http:
            assert http.get("/healthz").status_code == 200
    finally:
        engine.dispose()


# --- the demo's dates ----------------------------------------------------------------------------


def test_the_demo_base_time_is_this_morning_in_copenhagen() -> None:
    winter = dt.datetime(2026, 1, 20, 9, 30, tzinfo=dt.UTC)  # 10:30 in Copenhagen
    assert demo_base_time(winter) == dt.datetime(2026, 1, 20, 5, 0, tzinfo=dt.UTC)
    summer = dt.datetime(2026, 7, 1, 12, 0, tzinfo=dt.UTC)
    assert demo_base_time(summer) == dt.datetime(2026, 7, 1, 4, 0, tzinfo=dt.UTC)
    night = dt.datetime(2026, 1, 20, 2, 0, tzinfo=dt.UTC)  # 03:00: still yesterday's data
    assert demo_base_time(night) == dt.datetime(2026, 1, 19, 5, 0, tzinfo=dt.UTC)
    assert demo_base_time(winter) == demo_base_time(winter + dt.timedelta(hours=8))


def test_carekey_seed_dates_the_data_this_morning_unless_told(
    runner: CliRunner, tmp_path: Path
) -> None:
    def issuer_key_created(url: str) -> dt.datetime:
        engine = create_db_engine(url)
        try:
            with Session(engine) as db:
                created = db.execute(select(m.IssuerKey.created_at)).scalars().first()
        finally:
            engine.dispose()
        assert created is not None
        return created.replace(tzinfo=dt.UTC) if created.tzinfo is None else created

    today, fixed = f"sqlite:///{tmp_path}/today.db", f"sqlite:///{tmp_path}/fixed.db"
    for url, extra in ((today, []), (fixed, ["--base-time", "2026-01-05T07:00Z"])):
        assert runner.invoke(app, ["db", "upgrade", "--database-url", url]).exit_code == 0
        result = runner.invoke(app, ["seed", "--database-url", url, *extra])
        assert result.exit_code == 0, result.output
    # The seed's keys were made 30 days before the base time.
    assert issuer_key_created(today) == demo_base_time() - dt.timedelta(days=30)
    assert issuer_key_created(fixed) == dt.datetime(2025, 12, 6, 7, 0, tzinfo=dt.UTC)
    for bad, says in (("gisten", "ugyldigt tidspunkt"), ("2026-01-05T07:00", "tidszonen")):
        result = runner.invoke(app, ["seed", "--database-url", fixed, "--base-time", bad])
        assert result.exit_code == 2
        assert says in _flat(result.output)
