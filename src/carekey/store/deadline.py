"""A request's database budget: no request waits on PostgreSQL past its deadline.

Why a client-side deadline: a frozen PostgreSQL (stopped, swapped out, a stalled disk or
network) still has its kernel accept connections and acknowledge data, so a query on an open
connection waits forever. ``statement_timeout`` is enforced by the server, which is not
running; TCP keepalive and ``tcp_user_timeout`` never fire, since every segment is
acknowledged. Only the client can give up.

How: the server's middleware opens a :class:`Budget` for each request
(:func:`request_budget`). Every wait of a PostgreSQL connection of an engine built with
:class:`DatabaseTimeouts` (connection checks of the pool, queries, commit, rollback) is bounded
by what is left of it. When it runs out while the database has not answered, the connection is
closed (the server rolls its transaction back once it runs again, since the client is gone) and
:class:`DatabaseDeadlineError` is raised, which SQLAlchemy reports as a disconnect
(``OperationalError``; the pool then drops its other connections of that age, too). The
request answers 503 (``carekey.http.errors``), and the unit of work it ran in never commits:
the thread that waited is the one that fails, so nothing the client was told failed happens
later. The one exception is a stall that strikes while the ``COMMIT`` itself is on its way:
then the server may still commit when it runs again, and the client cannot know (an upload
is idempotent and may be sent again; an administrator sees the result in the list).

A database that answers is not cut short by a budget that queueing for a worker thread spent:
such a wait still gets ``MIN_WAIT_S``, unless the last wait of the process ran out (the
database stalls), and then only what has already arrived is read. A new connection is not
even tried on a spent budget.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Final

import psycopg
from psycopg import errors as pg_errors

# A spent budget still waits this long for a database that answers, so a request that queued
# long for a worker thread under load is not failed by a database that is merely busy; once a
# wait has run out (the database stalls), a spent budget only reads what has already arrived.
MIN_WAIT_S: Final = 0.25
_stalled = False  # the last wait of this process that ended ran out of budget


class DatabaseDeadlineError(psycopg.OperationalError):
    """The database did not answer within the request's budget; the connection was closed."""


@dataclass(frozen=True)
class DatabaseTimeouts:
    """How long a request may wait on PostgreSQL, in seconds (see ``Settings``).

    ``connect_s`` bounds opening a connection (libpq ``connect_timeout``, at least 2 s),
    ``statement_s`` and ``lock_s`` are the server's ``statement_timeout`` and ``lock_timeout``
    (a live server cancels a slow query or a lock wait cleanly), ``pool_s`` bounds the wait for
    a pooled connection, and ``request_s`` is a request's whole budget for database waits.
    """

    connect_s: float = 2.0
    statement_s: float = 2.5
    lock_s: float = 2.0
    pool_s: float = 2.0
    request_s: float = 3.0

    def connect_args(self) -> dict[str, Any]:
        """psycopg's connection parameters for these timeouts."""
        statement_ms = max(1, round(self.statement_s * 1000))
        lock_ms = max(1, round(self.lock_s * 1000))
        return {
            "connect_timeout": max(2, round(self.connect_s)),
            "options": f"-c statement_timeout={statement_ms} -c lock_timeout={lock_ms}",
        }


class Budget:
    """What is left of one request's time for database waits; shared by the threads that do
    the request's work (a context variable is copied into each of them, the object is not)."""

    def __init__(self, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds

    def remaining(self) -> float:
        """Seconds left (negative once spent)."""
        return self.deadline - time.monotonic()


_budget: contextvars.ContextVar[Budget | None] = contextvars.ContextVar(
    "carekey_db_budget", default=None
)


@contextmanager
def request_budget(seconds: float) -> Iterator[Budget]:
    """Bound the database waits of the code run inside (and of the threads it starts)."""
    budget = Budget(seconds)
    token = _budget.set(budget)
    try:
        yield budget
    finally:
        _budget.reset(token)


def current_budget() -> Budget | None:
    """The budget of the request being served, if any."""
    return _budget.get()


class DeadlineConnection(psycopg.Connection[Any]):
    """A psycopg connection whose waits end with the request's budget (see the module)."""

    def wait(self, gen: Any, interval: float = 0.1, timeout: float | None = None) -> Any:
        global _stalled
        budget = _budget.get()
        if budget is None:
            return super().wait(gen, interval=interval, timeout=timeout)
        remaining = max(budget.remaining(), 0.0 if _stalled else MIN_WAIT_S)
        limit = remaining if timeout is None else min(timeout, remaining)
        try:
            result = super().wait(gen, interval=min(interval, 0.1), timeout=limit)
        except pg_errors._WaitTimeout:
            if timeout is not None and timeout <= remaining:
                raise  # the caller's own timeout, not ours
            _stalled = True
            self.pgconn.finish()  # the protocol is mid-message: this connection is done
            raise DatabaseDeadlineError(
                "the database did not answer within the request's time budget"
            ) from None
        _stalled = False
        return result


def connect(*args: Any, **kwargs: Any) -> DeadlineConnection:
    """Open a :class:`DeadlineConnection` (SQLAlchemy's ``do_connect`` hook); not even tried
    once the request's budget is spent (libpq's ``connect_timeout`` bounds it otherwise)."""
    budget = _budget.get()
    if budget is not None and budget.remaining() <= 0:
        raise DatabaseDeadlineError("no time left in the request's budget to connect")
    return DeadlineConnection.connect(*args, **kwargs)
