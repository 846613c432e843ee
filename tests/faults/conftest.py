"""Fixtures of the fault-injection suite: an own PostgreSQL (``pg.OwnPostgres``), a small
benchmark municipality in it, and ``carekey serve`` on a free port against it.

``make test`` runs the short suite (a 6 s freeze); ``make faults`` the full one
(``CAREKEY_FAULTS_FULL=1``: a 20 s freeze). Without PostgreSQL binaries the suite is skipped,
except under ``CI=true``, where that fails the run."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from carekey.sim.bench_login import BENCH_SECRET, BenchData, setup_bench_data
from carekey.sim.server import running_server
from carekey.store.db import create_db_engine
from carekey.store.migrate import upgrade
from tests.faults.pg import OwnPostgres, PostgresMissingError

FULL = os.environ.get("CAREKEY_FAULTS_FULL", "") == "1"


@dataclass
class Stack:
    """The own PostgreSQL, the data in it and the server in front of it."""

    pg: OwnPostgres
    data: BenchData
    base_url: str


@pytest.fixture(scope="module")
def own_postgres() -> Iterator[OwnPostgres]:
    """A PostgreSQL of this module's own (never the shared one on port 5432), in a folder of
    its own under the system's temporary folder (pytest's is private to root, and PostgreSQL
    runs as an unprivileged user)."""
    folder = Path(tempfile.mkdtemp(prefix="carekey-own-pg-"))
    try:
        try:
            pg = OwnPostgres(folder)
        except PostgresMissingError as exc:
            if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
                pytest.fail(f"{exc} (CI=true requires PostgreSQL)", pytrace=False)
            pytest.skip(str(exc))
        pg.start()
        try:
            yield pg
        finally:
            pg.stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def stack(own_postgres: OwnPostgres, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A migrated database with three employees and their phones, and the server."""
    engine = create_db_engine(own_postgres.url)
    upgrade(engine)
    data = setup_bench_data(
        engine, employees=3, doors=4, secret=BENCH_SECRET, now=dt.datetime.now(dt.UTC)
    )
    engine.dispose()
    log_path: Path = tmp_path_factory.mktemp("server") / "server.log"
    with running_server(own_postgres.url, secret=BENCH_SECRET, log_path=log_path) as (url, _pid):
        yield Stack(own_postgres, data, url)
