"""Request-scoped dependencies: one transaction per request, the clock, and who is asking."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from carekey.access import Actor
from carekey.auth.service import actor_from_token
from carekey.domain.errors import UnauthorizedError
from carekey.store.db import declare_writes, unavailable_as_domain_error

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_WRITES_ON_READ = "__carekey_writes_on_read__"

F = TypeVar("F", bound=Callable[..., Any])


def writes_on_read(endpoint: F) -> F:
    """Mark a GET endpoint that writes (an audit record of an export, say), so that its
    transaction is a writer's like a POST's (see ``get_db``)."""
    setattr(endpoint, _WRITES_ON_READ, True)
    return endpoint


def request_writes(request: Request) -> bool:
    """Whether the request's transaction will write: every method but GET, HEAD and OPTIONS,
    and the endpoints marked ``writes_on_read``."""
    if request.method not in READ_METHODS:
        return True
    return bool(getattr(request.scope.get("endpoint"), _WRITES_ON_READ, False))


def get_db(request: Request) -> Iterator[Session]:
    """One unit of work per request: committed when the endpoint returns, rolled back if it
    raises, so a refused request never leaves anything half-written. On SQLite a request that
    writes takes the write lock at its start and waits its turn behind another writer
    (``store.db.declare_writes``); a busy or full database answers 503 with Retry-After."""
    sessions = request.app.state.sessions
    with unavailable_as_domain_error(sessions), sessions() as session, session.begin():
        declare_writes(session, request_writes(request))
        yield session


def get_now(request: Request) -> dt.datetime:
    """The current time from the application's injected clock."""
    now: dt.datetime = request.app.state.clock.now()
    return now


def get_secret(request: Request) -> str:
    """The server secret that signs tokens and seals keys."""
    secret: str = request.app.state.settings.secret_key.get_secret_value()
    return secret


_bearer = HTTPBearer(auto_error=False)


def get_bearer(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    """The bearer token of the request, or 401."""
    if credentials is None or not credentials.credentials:
        raise UnauthorizedError(
            "auth.missing_token",
            "Log ind først (Authorization: Bearer …)",
            "Sign in first (Authorization: Bearer …)",
        )
    return credentials.credentials


# scope="function": commit before the response is sent, so a client's next request sees the
# change (with the default, the commit ran after the response: a fresh enrolment code could be
# refused). max_concurrency: at most this many requests of a process hold a database session;
# the rest wait without a thread, instead of waiting 30 s for a pooled connection and failing.
DB_SESSIONS_PER_PROCESS = 12
SessionDep = Annotated[
    Session, Depends(get_db, scope="function", max_concurrency=DB_SESSIONS_PER_PROCESS)
]
NowDep = Annotated[dt.datetime, Depends(get_now)]
SecretDep = Annotated[str, Depends(get_secret)]
BearerDep = Annotated[str, Depends(get_bearer)]


def get_actor(db: SessionDep, token: BearerDep, secret: SecretDep, now: NowDep) -> Actor:
    """The administrator, district lead or auditor behind the bearer token."""
    return actor_from_token(db, token, secret=secret, now=now)


ActorDep = Annotated[Actor, Depends(get_actor)]


def client_address(request: Request) -> str:
    """The client's address, for throttling."""
    return request.client.host if request.client else "unknown"
