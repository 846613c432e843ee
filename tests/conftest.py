"""Test fixtures shared by the whole suite.

Tests that touch the database take the ``engine`` fixture and run once per backend: SQLite
always, PostgreSQL when one answers at ``CAREKEY_TEST_POSTGRES_URL`` (default
``postgresql://postgres@127.0.0.1:5432/postgres``). Without PostgreSQL those runs are skipped
with the reason, except under ``CI=true``, where a missing PostgreSQL fails the run.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from carekey.store.db import create_db_engine
from carekey.store.migrate import upgrade
from carekey.store.models import Base

# The webhook dispatcher (issue 17) is off in the apps tests build, unless a test turns it on
# (``Settings(webhooks_enabled=True)``): a background delivery would change tables mid-test.
os.environ.setdefault("CAREKEY_WEBHOOKS_ENABLED", "false")

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
BACKENDS = ("sqlite", "postgresql")
_ran_on: Counter[str] = Counter()


def _admin_pg_url() -> str:
    return os.environ.get("CAREKEY_TEST_POSTGRES_URL", DEFAULT_PG_URL)


def _under_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file; each test gets a copy, which is faster than migrating again."""
    path = tmp_path_factory.mktemp("sqlite") / "template.db"
    engine = create_db_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this test session, dropped at the end."""
    admin_url = _admin_pg_url()
    try:
        admin = create_db_engine(admin_url, isolation_level="AUTOCOMMIT", pool_pre_ping=False)
        with admin.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # any connection failure means "no PostgreSQL here"
        reason = f"PostgreSQL not reachable at {admin_url}: {type(exc).__name__}"
        if _under_ci():
            pytest.fail(f"{reason} (CI=true requires PostgreSQL)", pytrace=False)
        pytest.skip(reason)
    name = f"carekey_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(admin.url).set(database=name).render_as_string(hide_password=False)
    engine = create_db_engine(url)
    upgrade(engine)
    engine.dispose()
    try:
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The name of the database backend this run of the test uses."""
    return str(request.param)


@pytest.fixture
def database_url(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> Iterator[str]:
    """A migrated, empty database for one test, on the backend of this run."""
    if backend == "sqlite":
        path = tmp_path / "carekey.db"
        shutil.copyfile(sqlite_template, path)
        yield f"sqlite:///{path}"
        return
    url: str = request.getfixturevalue("postgres_database")
    try:
        yield url
    finally:
        _truncate_all(url)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """An engine on a migrated, empty database of this run's backend."""
    eng = create_db_engine(database_url)
    try:
        yield eng
    finally:
        eng.dispose()


def _truncate_all(url: str) -> None:
    eng = create_db_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with eng.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    eng.dispose()


BACKEND_PROPERTY = "carekey_backend"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and "backend" in callspec.params:
            # The backend travels with the test's reports: under pytest-xdist the workers
            # collect and run the tests, and only their reports reach the controller, which
            # counts them (and prints the summary) from their ``user_properties``.
            item.user_properties.append((BACKEND_PROPERTY, str(callspec.params["backend"])))
            if callspec.params["backend"] == "postgresql":
                item.add_marker(pytest.mark.postgresql)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call" and report.passed:
        backend = dict(report.user_properties).get(BACKEND_PROPERTY)
        if backend is not None:
            _ran_on[str(backend)] += 1


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    terminalreporter.write_sep("-", "database backends")
    for name in BACKENDS:
        terminalreporter.write_line(f"tests passed on {name}: {_ran_on[name]}")
