"""Engines and sessions. Built by whoever owns the process (the app lifespan, the CLI, a test),
never at import time."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from carekey.config import normalize_database_url
from carekey.store import deadline
from carekey.store.deadline import DatabaseTimeouts

POSTGRES_POOL_SIZE = 16
POSTGRES_POOL_OVERFLOW = 8


def create_db_engine(
    url: str,
    *,
    echo: bool = False,
    timeouts: DatabaseTimeouts | None = None,
    **kwargs: Any,
) -> Engine:
    """An engine for a ``postgresql://`` or ``sqlite:///`` URL, set up the way CareKey needs it.

    SQLite gets foreign keys enforced, WAL journaling and a busy timeout, and its parent folder
    is created, so a new user needs nothing installed.

    PostgreSQL with ``timeouts`` (the server passes them; the CLI and migrations do not, so a
    long import is not cut short): connect, statement, lock and pool-checkout timeouts, and
    connections whose every wait ends with the request's budget (``carekey.store.deadline``),
    so a stalled database answers 503 fast and the pool recovers by itself once it is back.
    """
    url = normalize_database_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, echo=echo, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    # Enough pooled connections for a server process's concurrent requests
    # (``api.deps.DB_SESSIONS_PER_PROCESS``) and the health and web pages beside them: with the
    # default 5, every request past the fifth opened and closed a PostgreSQL connection (a
    # backend fork each) in the morning rush.
    kwargs.setdefault("pool_size", POSTGRES_POOL_SIZE)
    kwargs.setdefault("max_overflow", POSTGRES_POOL_OVERFLOW)
    if timeouts is None:
        return create_engine(url, echo=echo, **kwargs)
    kwargs.setdefault("pool_timeout", timeouts.pool_s)
    kwargs["connect_args"] = {**timeouts.connect_args(), **kwargs.get("connect_args", {})}
    engine = create_engine(url, echo=echo, **kwargs)
    event.listen(engine, "do_connect", _deadline_connect)
    return engine


def _deadline_connect(
    _dialect: object, _record: object, cargs: tuple[Any, ...], cparams: dict[str, Any]
) -> Any:
    return deadline.connect(*cargs, **cparams)


def _sqlite_pragmas(dbapi_connection: Any, _record: object) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def session_factory(engine: Engine, *, info: dict[str, Any] | None = None) -> sessionmaker[Session]:
    """The session maker for an engine; objects stay usable after commit. ``info`` is handed to
    every session (the application puts its cache there)."""
    return sessionmaker(engine, expire_on_commit=False, info=info or {})


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction: commit if the block finishes, roll back if it raises. Services never
    commit on their own; this is the one place that does."""
    with factory() as session, session.begin():
        yield session


def ping(engine: Engine) -> None:
    """Raise unless the database answers a trivial query (for ``/healthz``)."""
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))


def write_probe(engine: Engine) -> None:
    """Raise unless the database takes a tiny real write, committed (for ``/readyz``): the one
    row of ``alembic_version`` set to itself, so a full disk or a read-only database shows."""
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = version_num"))
