"""One prepared world per test session, one running application per test module, and a fresh
copy of the world's database for every test.

Building the world (seed, probes, everyone signed in) takes about a second; it is done once, on
SQLite: the matrix is about authorisation, not SQL dialects. Each module then runs one
application on one engine over a working copy of the file; before each test the copy is put back
(``restore``), the clock set back to the world's time and the cookie jar emptied. Keeping the
application and the engine is what makes ~800 cases fast: a new application costs ~60 ms, a
restore ~1 ms. Anything the application keeps in memory between tests is harmless here: its
caches hold issuer keys and denylist snapshots (never reached without a device proof), and its
sign-in throttle counts the handful of refused sign-ins, far below its limits.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from carekey.clock import FrozenClock
from carekey.server.app import create_app
from carekey.store.db import create_db_engine
from tests.access.world import Template, make_template, restore, settings


@pytest.fixture(scope="session")
def template(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Template:
    """The prepared world: a database file, the ids in it and everyone's credentials."""
    return make_template(sqlite_template, tmp_path_factory.mktemp("access-world"))


@dataclass
class Server:
    """A running application over a working copy of the world."""

    template: Template
    path: Path
    engine: Engine
    clock: FrozenClock
    client: TestClient

    def reset(self) -> None:
        """The world as the template has it, at the world's time, with no cookies."""
        restore(self.template, self.engine, self.path)
        self.clock.set(self.template.now)
        self.client.cookies.clear()


@pytest.fixture(scope="module")
def server(template: Template, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    path = tmp_path_factory.mktemp("access-run") / "carekey.db"
    engine = create_db_engine(f"sqlite:///{path}")
    restore(template, engine, path)
    clock = FrozenClock(template.now)
    app = create_app(settings(), engine=engine, clock=clock)
    try:
        with TestClient(app, follow_redirects=False) as client:
            yield Server(template, path, engine, clock, client)
    finally:
        engine.dispose()


@pytest.fixture
def fresh(server: Server) -> Server:
    """The module's server with the world as it was prepared."""
    server.reset()
    return server
