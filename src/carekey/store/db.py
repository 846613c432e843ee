"""Engines and sessions. Built by whoever owns the process (the app lifespan, the CLI, a test),
never at import time."""

from __future__ import annotations

import logging
import sqlite3
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from carekey.config import normalize_database_url
from carekey.domain.errors import UnavailableError
from carekey.store import deadline
from carekey.store.deadline import DatabaseTimeouts

log = logging.getLogger(__name__)

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

    SQLite gets foreign keys enforced, WAL journaling with a bounded WAL file, a busy timeout,
    and real transactions (``_sqlite_transactions``); its parent folder is created, so a new
    user needs nothing installed.

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
        _sqlite_transactions(engine)
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


SQLITE_BUSY_TIMEOUT_MS = 5_000
"""How long an SQLite writer waits for another's write lock before it gives up (then 503)."""

SQLITE_WAL_LIMIT_BYTES = 4 * 1024 * 1024
"""What the WAL file is cut back to after a checkpoint (``journal_size_limit``): without it the
WAL keeps the size of its biggest burst, and on a full disk that space never comes back."""

SQLITE_WAL_AUTOCHECKPOINT_PAGES = 1_000
"""A checkpoint when the WAL has this many pages (SQLite's default, stated so it is kept)."""

WRITES = "carekey_writes"
"""Execution option: ``True`` for a transaction that will write, ``False`` for one that only
reads (see ``_sqlite_transactions``). PostgreSQL ignores it."""


def _sqlite_pragmas(dbapi_connection: Any, _record: object) -> None:
    # Python's sqlite3 (3.11: no ``autocommit`` attribute yet) would otherwise open a
    # transaction only before an INSERT/UPDATE/DELETE, and SQLAlchemy's SAVEPOINT then *starts*
    # one that its RELEASE commits: a request was not one transaction. With isolation_level
    # None the driver leaves transactions alone, and ``_sqlite_transactions`` emits BEGIN.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA journal_size_limit={SQLITE_WAL_LIMIT_BYTES}")
    cursor.execute(f"PRAGMA wal_autocheckpoint={SQLITE_WAL_AUTOCHECKPOINT_PAGES}")
    cursor.close()


class DeferredWriteWarning(UserWarning):
    """A transaction declared read-only (``WRITES: False``) wrote on SQLite: under load that
    write can fail at once with "database is locked" instead of waiting its turn. The tests
    turn warnings into errors, so such a path is found there."""


_WRITE_VERBS = ("INSERT", "UPDATE", "DELETE", "REPLACE")


def _sqlite_transactions(engine: Engine) -> None:
    """Real transactions on SQLite (SQLAlchemy's recipe for pysqlite): every SQLAlchemy
    transaction is one SQLite transaction, savepoints nest inside it, DDL is transactional.

    A transaction declared as writing (``WRITES: True``: every request but GET and HEAD, the
    CLI's and the simulation's writes, migrations) begins ``BEGIN IMMEDIATE``: it takes the
    write lock up front and so waits its turn (``busy_timeout``) behind another writer. A
    deferred transaction that read first and then writes cannot wait in WAL mode, SQLite
    refuses it at once ("database is locked"). Others begin a deferred ``BEGIN``: readers
    never wait for writers in WAL mode."""

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        writes = connection.get_execution_options().get(WRITES)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")

    @event.listens_for(engine, "before_cursor_execute")
    def _check_read_only(
        connection: Connection,
        _cursor: object,
        statement: str,
        _parameters: object,
        _context: object,
        _executemany: bool,
    ) -> None:
        if connection.get_execution_options().get(WRITES) is False and (
            statement.lstrip()[:7].upper().startswith(_WRITE_VERBS)
        ):
            warnings.warn(
                f"write in a read-only transaction: {statement[:60]}",
                DeferredWriteWarning,
                stacklevel=2,
            )


def session_factory(engine: Engine, *, info: dict[str, Any] | None = None) -> sessionmaker[Session]:
    """The session maker for an engine; objects stay usable after commit. ``info`` is handed to
    every session (the application puts its cache there)."""
    return sessionmaker(engine, expire_on_commit=False, info=info or {})


def writer_engine(engine: Engine) -> Engine:
    """The same engine (pool, events) whose transactions are declared as writing by default
    (``WRITES: True``): for the CLI and the simulation, which write outside requests, beside a
    running server. A session may still declare itself read-only (``declare_writes``)."""
    return engine.execution_options(**{WRITES: True})


def declare_writes(session: Session, writes: bool) -> None:
    """Say whether the session's transaction will write, before its first statement (later it
    has no effect): on SQLite a writer begins ``BEGIN IMMEDIATE``, see ``_sqlite_transactions``.
    """
    session.connection(execution_options={WRITES: writes})


@contextmanager
def unit_of_work(factory: sessionmaker[Session], *, writes: bool = True) -> Iterator[Session]:
    """One transaction: commit if the block finishes, roll back if it raises. Services never
    commit on their own; this is the one place that does (with ``http.deps.get_db``).
    ``writes``: see ``declare_writes``. A database that is busy or full raises
    ``UnavailableError`` (503, try again) instead of the driver's error."""
    with unavailable_as_domain_error(factory), factory() as session, session.begin():
        declare_writes(session, writes)
        yield session


SQLITE_RETRY_AFTER_S = 2
"""What a client is told to wait when SQLite is busy or its disk is full."""


def sqlite_unavailable(exc: BaseException) -> UnavailableError | None:
    """The retryable refusal for an SQLite error that is about the database, not the request:
    another writer held the lock past ``busy_timeout`` (SQLITE_BUSY, SQLITE_LOCKED), or the
    disk or the database is full (SQLITE_FULL). None for any other error."""
    orig = getattr(exc, "orig", None)
    code = getattr(orig, "sqlite_errorcode", None)
    if not isinstance(orig, sqlite3.Error) or code is None:
        return None
    primary = code & 0xFF  # extended codes carry the primary one in their low byte
    if primary == sqlite3.SQLITE_FULL:
        return UnavailableError(
            "database.full",
            "Serverens disk er fuld; intet er gemt. Prøv igen senere",
            "The server's disk is full; nothing was stored. Try again later",
            retry_after_s=SQLITE_RETRY_AFTER_S,
        )
    if primary in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return UnavailableError(
            "database.busy",
            "Databasen er optaget; prøv igen om lidt",
            "The database is busy; try again shortly",
            retry_after_s=SQLITE_RETRY_AFTER_S,
        )
    return None


@contextmanager
def unavailable_as_domain_error(factory: sessionmaker[Session]) -> Iterator[None]:
    """Turn an SQLite busy or full error raised in the block into ``UnavailableError``. After a
    full disk the WAL is checkpointed and truncated (``recover_sqlite_space``), so the space it
    held is free again for the next request."""
    try:
        yield
    except OperationalError as exc:
        refusal = sqlite_unavailable(exc)
        if refusal is None:
            raise
        log.warning("SQLite unavailable (%s): %s", refusal.code, exc.orig)
        if refusal.code == "database.full":
            bind = factory.kw.get("bind")
            if isinstance(bind, Engine):
                recover_sqlite_space(bind)
        raise refusal from exc


def recover_sqlite_space(engine: Engine) -> None:
    """Checkpoint the WAL into the database and truncate it to zero bytes (best effort: a
    reader still inside an old snapshot makes it partial, and the next checkpoint finishes)."""
    try:
        raw = engine.raw_connection()
        try:
            raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            raw.close()
    except Exception as exc:  # recovery must never hide the refusal itself
        log.warning("SQLite WAL checkpoint after a full disk failed: %s", exc)


def ping(engine: Engine) -> None:
    """Raise unless the database answers a trivial query (for ``/healthz``)."""
    with engine.connect() as connection:
        connection.execution_options(**{WRITES: False}).execute(text("SELECT 1"))


def write_probe(engine: Engine) -> None:
    """Raise unless the database takes a tiny real write, committed (for ``/readyz``): the one
    row of ``alembic_version`` set to itself, so a full disk or a read-only database shows."""
    with engine.connect() as connection:
        connection.execution_options(**{WRITES: True})
        with connection.begin():
            connection.execute(text("UPDATE alembic_version SET version_num = version_num"))
