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
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
