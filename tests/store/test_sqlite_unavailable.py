"""SQLite busy or full is a retryable refusal (``UnavailableError``, 503), never a 500, and a
full disk gets its WAL checkpointed and truncated so the space comes back (issue 14)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from carekey.domain.errors import UnavailableError
from carekey.store import db as store_db
from carekey.store.db import (
    create_db_engine,
    recover_sqlite_space,
    session_factory,
    sqlite_unavailable,
    unavailable_as_domain_error,
)


def _driver_error(code: int) -> OperationalError:
    orig = sqlite3.OperationalError("simulated")
    orig.sqlite_errorcode = code  # type: ignore[attr-defined]
    return OperationalError("INSERT ...", {}, orig)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (sqlite3.SQLITE_FULL, "database.full"),
        (sqlite3.SQLITE_BUSY, "database.busy"),
        (sqlite3.SQLITE_LOCKED, "database.busy"),
        (sqlite3.SQLITE_BUSY | (2 << 8), "database.busy"),  # an extended code (BUSY_SNAPSHOT)
        (sqlite3.SQLITE_CONSTRAINT, None),
    ],
)
def test_which_sqlite_errors_are_retryable(code: int, expected: str | None) -> None:
    refusal = sqlite_unavailable(_driver_error(code))
    assert (refusal.code if refusal else None) == expected
    if refusal is not None:
        assert refusal.retry_after_s > 0
        assert refusal.message_da
        assert refusal.message_en


def test_a_non_sqlite_error_is_not_taken_for_one() -> None:
    assert sqlite_unavailable(RuntimeError("no orig")) is None


def test_a_full_disk_becomes_unavailable_and_the_wal_is_truncated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'full.db'}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (x BLOB)"))
        connection.execute(text("INSERT INTO t VALUES (zeroblob(200000))"))
    wal = tmp_path / "full.db-wal"
    assert wal.exists()
    assert wal.stat().st_size > 0
    checkpoints: list[object] = []
    real = store_db.recover_sqlite_space
    monkeypatch.setattr(store_db, "recover_sqlite_space", lambda e: checkpoints.append(real(e)))
    factory = session_factory(engine)
    with pytest.raises(UnavailableError) as refused, unavailable_as_domain_error(factory):
        raise _driver_error(sqlite3.SQLITE_FULL)
    assert refused.value.code == "database.full"
    assert checkpoints == [None]
    assert wal.stat().st_size == 0  # checkpointed into the database and truncated
    with pytest.raises(OperationalError), unavailable_as_domain_error(factory):
        raise _driver_error(sqlite3.SQLITE_CONSTRAINT)  # not about the database: as it was
    engine.dispose()


def test_recovery_never_hides_the_refusal(tmp_path: Path) -> None:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'gone' / 'x.db'}")
    engine.dispose()
    (tmp_path / "gone").rmdir()  # the folder is gone: the checkpoint itself fails
    recover_sqlite_space(engine)  # logs, does not raise
