"""Settings: the database URL forms a user types, and unsafe defaults outside development."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from carekey.config import Environment, Settings, normalize_database_url


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (
            "postgresql://postgres@127.0.0.1:5432/x",
            "postgresql+psycopg://postgres@127.0.0.1:5432/x",
        ),
        ("postgres://u:p@h/x", "postgresql+psycopg://u:p@h/x"),
        ("postgresql+psycopg://h/x", "postgresql+psycopg://h/x"),
        ("sqlite:///data/carekey.db", "sqlite:///data/carekey.db"),
        ("sqlite:////abs/carekey.db", "sqlite:////abs/carekey.db"),
    ],
)
def test_usual_url_forms_are_accepted(given: str, expected: str) -> None:
    assert normalize_database_url(given) == expected


@pytest.mark.parametrize(
    "bad", ["mysql://h/x", "carekey.db", "postgresql+asyncpg://h/x", "sqlite+foo:///x"]
)
def test_unsupported_urls_get_a_clear_error(bad: str) -> None:
    with pytest.raises(ValueError, match=r"understøttes ikke|Ugyldig"):
        normalize_database_url(bad)


def test_default_database_is_sqlite_under_the_data_dir(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert settings.resolved_database_url == f"sqlite:///{tmp_path}/carekey.db"


def test_production_refuses_the_development_secret() -> None:
    with pytest.raises(ValidationError, match="CAREKEY_SECRET_KEY"):
        Settings(environment=Environment.PRODUCTION)
    with pytest.raises(ValidationError, match="32"):
        Settings(environment=Environment.PRODUCTION, secret_key=SecretStr("short"))
    Settings(environment=Environment.PRODUCTION, secret_key=SecretStr("x" * 40))


def test_settings_read_the_carekey_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAREKEY_DATABASE_URL", "postgresql://db/x")
    monkeypatch.setenv("CAREKEY_PORT", "9000")
    settings = Settings()
    assert settings.resolved_database_url == "postgresql+psycopg://db/x"
    assert settings.port == 9000
