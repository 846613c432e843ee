"""All SQL of seeding: is the database empty, the bulk inserts, and what PostgreSQL needs after
rows with explicit ids."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, func, insert, select, text

from carekey.store import models as m

_CHUNK = 1000  # rows per INSERT executemany


def municipality_count(connection: Connection) -> int:
    """How many municipalities the database holds."""
    return int(connection.execute(select(func.count()).select_from(m.Municipality)).scalar_one())


def insert_all(connection: Connection, model: type[m.Base], rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` (column names as keys) into ``model``'s table, a thousand per statement."""
    for chunk in _chunks(rows, _CHUNK):
        connection.execute(insert(model), chunk)


def _chunks(rows: Sequence[dict[str, Any]], size: int) -> Iterator[Sequence[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def advance_sequences(connection: Connection) -> None:
    """Seeding writes explicit ids; move PostgreSQL's sequences past them."""
    for table in m.Base.metadata.sorted_tables:
        column = table.c.get("id")
        if (
            column is not None
            and column.primary_key
            and column.autoincrement
            and column.type.python_type is int
        ):
            connection.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "  # noqa: S608 - table names come from our own metadata
                    f"COALESCE((SELECT MAX(id) FROM {table.name}), 0) + 1, false)"
                )
            )


def analyze(connection: Connection) -> None:
    """Fresh statistics, so the query planner knows the tables are no longer empty."""
    connection.exec_driver_sql("ANALYZE")
