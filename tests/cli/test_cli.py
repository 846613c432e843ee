"""The ``carekey`` command line as a new user meets it."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from carekey.cli.main import app
from carekey.config import get_settings


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CliRunner:
    monkeypatch.setenv("CAREKEY_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("CAREKEY_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    return CliRunner()


def test_upgrade_then_seed_then_skip(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "data" / "carekey.db").exists()
    assert "0002" in result.output  # the newest migration
    result = runner.invoke(app, ["db", "upgrade"])
    assert "allerede" in result.output
    result = runner.invoke(app, ["seed", "--profile", "small", "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert "citizen" in result.output
    result = runner.invoke(app, ["seed", "--profile", "small"])
    assert result.exit_code == 2
    assert "allerede data" in result.output
    result = runner.invoke(app, ["seed", "--profile", "small", "--if-empty"])
    assert result.exit_code == 0
    result = runner.invoke(app, ["db", "current"])
    assert "nyeste" in result.output


def test_seed_before_upgrade_says_what_to_do(runner: CliRunner) -> None:
    result = runner.invoke(app, ["seed", "--profile", "small"])
    assert result.exit_code == 2
    assert "carekey db upgrade" in result.output


def test_unknown_profile_and_bad_url_get_clear_errors(runner: CliRunner) -> None:
    result = runner.invoke(app, ["seed", "--profile", "aarhus"])
    assert result.exit_code == 2
    assert "ukendt profil" in result.output
    result = runner.invoke(app, ["db", "upgrade", "--database-url", "mysql://x/y"])
    assert result.exit_code == 2
    assert "understøttes ikke" in result.output


def test_unreachable_postgres_is_a_clear_error(runner: CliRunner) -> None:
    result = runner.invoke(
        app, ["db", "upgrade", "--database-url", "postgresql://nobody@127.0.0.1:1/none"]
    )
    assert result.exit_code == 2
    assert "svarer ikke" in result.output
