"""Bulk inserts: ``COPY`` on PostgreSQL, an executemany ``INSERT`` elsewhere.

Event ingest stores thousands of audit rows per upload. Through SQLAlchemy's executemany every
row's parameters are processed in Python and PostgreSQL runs one ``INSERT`` per row; ``COPY``
streams the rows in one statement, several times cheaper on both sides. Same all-or-nothing
behaviour: a row that breaks a constraint fails the whole call with ``IntegrityError``, and the
caller's savepoint undoes it.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Enum, Table, insert
from sqlalchemy.exc import IntegrityError


def insert_rows(connection: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` (dicts with the same keys, column names of ``table``) into ``table``."""
    if not rows:
        return
    columns = list(rows[0])
    unknown = [name for name in columns if name not in table.c]
    if unknown:  # an INSERT would drop them silently, COPY would fail: refuse both
        raise ValueError(f"{table.name} has no columns {unknown}")
    if connection.dialect.name != "postgresql":
        connection.execute(insert(table), list(rows))
        return
    import psycopg

    # Enum members go in as their values (what the ORM's enum columns store), not their names.
    enums = [i for i, name in enumerate(columns) if isinstance(table.c[name].type, Enum)]
    quote = connection.dialect.identifier_preparer.quote
    statement = (
        f"COPY {quote(table.name)} ({', '.join(quote(name) for name in columns)}) FROM STDIN"
    )
    raw: Any = connection.connection.dbapi_connection
    try:
        with raw.cursor() as cursor, cursor.copy(statement) as copy:
            write = copy.write_row
            for row in rows:
                values = [row[name] for name in columns]
                for i in enums:
                    value = values[i]
                    if isinstance(value, enum.Enum):
                        values[i] = value.value
                write(values)
    except psycopg.errors.IntegrityError as exc:
        raise IntegrityError(statement, None, exc) from exc
