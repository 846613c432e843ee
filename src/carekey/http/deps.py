"""Request-scoped dependencies: one transaction per request, the clock, and who is asking."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from carekey.access import Actor
from carekey.auth.service import actor_from_token
from carekey.domain.errors import UnauthorizedError


def get_db(request: Request) -> Iterator[Session]:
    """One unit of work per request: committed when the endpoint returns, rolled back if it
    raises, so a refused request never leaves anything half-written."""
    with request.app.state.sessions() as session, session.begin():
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
