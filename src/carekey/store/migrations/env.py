"""Alembic environment: always given an engine by ``carekey.store.migrate``."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from carekey.store.db import WRITES
from carekey.store.models import Base

config = context.config
engine = config.attributes.get("engine")
if not isinstance(engine, Engine):  # pragma: no cover - only when someone runs bare `alembic`
    raise RuntimeError("Run migrations with `carekey db upgrade`, which knows the database URL")

with engine.connect() as connection:
    sqlite = connection.dialect.name == "sqlite"
    raw = connection.connection.driver_connection if sqlite else None
    if raw is not None:
        # SQLite changes a table by copying it (batch mode): with foreign keys enforced, the
        # DROP of a table that other rows reference fails. They are switched off for the
        # migration (only possible outside a transaction) and checked as a whole before the
        # commit instead, as SQLite's documentation prescribes for schema changes.
        raw.execute("PRAGMA foreign_keys=OFF")
    # One transaction (on SQLite too, see store.db._sqlite_transactions: its DDL is
    # transactional, so a migration that fails leaves the schema as it was), holding the write
    # lock from its start.
    connection.execution_options(**{WRITES: True})
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    try:
        with context.begin_transaction():
            context.run_migrations()
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"the migration leaves broken foreign keys: {broken[:5]}")
        connection.commit()
    finally:
        if raw is not None:
            raw.execute("PRAGMA foreign_keys=ON")
