"""The ``carekey`` command line as a new user meets it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from carekey.cli.main import app
from carekey.config import get_settings
from carekey.store import migrate

MIGRATIONS = Path(migrate.__file__).parent / "migrations" / "versions"


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
    newest = sorted(p.name for p in MIGRATIONS.glob("0*.py"))[-1][:4]
    assert f"→ {newest}" in result.output  # migrated up to the newest migration
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


def test_policy_show_and_set_with_clear_errors(runner: CliRunner) -> None:
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    assert runner.invoke(app, ["seed", "--profile", "small", "--seed", "3"]).exit_code == 0
    shown = runner.invoke(app, ["policy", "show", "--municipality", "0101"])
    assert shown.exit_code == 0, shown.output
    assert "55 min (3300 s)" in shown.output
    assert "180 s" in shown.output
    changed = runner.invoke(
        app,
        ["policy", "set", "--municipality", "0101", "--freshness-min", "30", "--warn-min", "10"],
    )
    assert changed.exit_code == 0, changed.output
    assert "30 min (1800 s)" in changed.output
    shown = runner.invoke(app, ["policy", "show", "--municipality", "0101"])
    assert "30 min (1800 s)" in shown.output
    assert "advarsel / warning: 10 min" in shown.output

    too_long = runner.invoke(
        app, ["policy", "set", "--municipality", "0101", "--freshness-min", "121"]
    )
    assert too_long.exit_code == 2
    assert "Friskhedsbeviset skal gælde 5-120 minutter" in too_long.output
    assert "must last 5-120 minutes" in too_long.output
    too_soon = runner.invoke(
        app, ["policy", "set", "--municipality", "0101", "--seal-after-s", "5"]
    )
    assert too_soon.exit_code == 2
    assert "30-1800 sekunder" in too_soon.output
    late_warning = runner.invoke(
        app, ["policy", "set", "--municipality", "0101", "--warn-min", "30"]
    )
    assert late_warning.exit_code == 2
    assert "Advarslen skal komme før" in late_warning.output
    unknown = runner.invoke(app, ["policy", "show", "--municipality", "9999"])
    assert unknown.exit_code == 2
    assert "Kommunen findes ikke" in unknown.output
    # A refused change changes nothing.
    shown = runner.invoke(app, ["policy", "show", "--municipality", "0101"])
    assert "30 min (1800 s)" in shown.output


def test_issuer_ensure_creates_a_missing_partner_key_once(runner: CliRunner) -> None:
    """A database from before the partner issuer gets one (the migration has no secret)."""
    import sqlite3

    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    assert runner.invoke(app, ["seed", "--profile", "small"]).exit_code == 0
    database = Path(os.environ["CAREKEY_DATA_DIR"]) / "carekey.db"
    with sqlite3.connect(database) as connection:
        connection.execute("DELETE FROM issuer_key WHERE purpose = 'partner'")
    first = runner.invoke(app, ["issuer", "ensure", "--municipality", "0101", "--partner"])
    assert first.exit_code == 0, first.output
    assert "oprettet / created" in first.output
    again = runner.invoke(app, ["issuer", "ensure", "--municipality", "0101", "--partner"])
    assert "findes allerede / already there" in again.output
    with sqlite3.connect(database) as connection:
        rows = connection.execute("SELECT status, purpose FROM issuer_key ORDER BY id").fetchall()
    assert rows == [("active", "home_care"), ("active", "partner")]
    unknown = runner.invoke(app, ["issuer", "ensure", "--municipality", "9999"])
    assert unknown.exit_code == 2
    assert "Kommunen findes ikke" in unknown.output
