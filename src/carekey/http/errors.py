"""Errors as JSON with a stable code, a Danish message and an English one."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError

from carekey.domain.errors import (
    ConflictError,
    DomainError,
    ForbiddenError,
    InvariantError,
    NotFoundError,
    TooManyAttemptsError,
    UnauthorizedError,
    UnavailableError,
)
from carekey.protocol.errors import ProtocolError

log = logging.getLogger(__name__)

_STATUS: list[tuple[type[DomainError], int]] = [
    (NotFoundError, 404),
    (UnauthorizedError, 401),
    (ForbiddenError, 403),
    (ConflictError, 409),
    (InvariantError, 422),
    (TooManyAttemptsError, 429),
    (UnavailableError, 503),
]


def status_of(exc: DomainError) -> int:
    """The one HTTP status of a domain error, for the API and the administration UI alike."""
    return next((s for t, s in _STATUS if isinstance(exc, t)), 400)


def headers_of(exc: DomainError) -> dict[str, str] | None:
    """Headers that go with the status: how to authenticate, or when to try again."""
    if isinstance(exc, UnauthorizedError):
        return {"WWW-Authenticate": "Bearer"}
    if isinstance(exc, TooManyAttemptsError | UnavailableError):
        return {"Retry-After": str(exc.retry_after_s)}
    return None


def error_body(code: str, message_da: str, message_en: str, **extra: Any) -> dict[str, Any]:
    """The one shape of every error response."""
    return {"error": {"code": code, "message": message_da, "message_en": message_en, **extra}}


def install_error_handlers(app: FastAPI) -> None:
    """Map the domain's and the protocol's errors to HTTP responses."""

    @app.exception_handler(DomainError)
    async def domain_error(_request: Request, exc: DomainError) -> JSONResponse:
        return JSONResponse(
            error_body(exc.code, exc.message_da, exc.message_en),
            status_code=status_of(exc),
            headers=headers_of(exc),
        )

    @app.exception_handler(ProtocolError)
    async def protocol_error(_request: Request, exc: ProtocolError) -> JSONResponse:
        return JSONResponse(
            error_body(f"protocol.{exc.code}", exc.message_da, exc.message_en), status_code=400
        )

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        details = [
            {"field": ".".join(str(p) for p in err.get("loc", ())), "problem": err.get("msg")}
            for err in exc.errors()
        ]
        return JSONResponse(
            error_body(
                "request.invalid",
                "Forespørgslen er ugyldig; se detaljerne",
                "The request is invalid; see the details",
                details=jsonable_encoder(details),
            ),
            status_code=422,
        )

    async def out_of_range(request: Request, exc: Exception) -> JSONResponse:
        """A value the database cannot hold, such as an id of 2**70 in a path or a body: no such
        row can exist, and the request is refused before anything is written (the unit of work
        rolls back). Logged, in case one ever comes from our own code rather than the client."""
        log.warning("out-of-range value in %s %s: %s", request.method, request.url.path, exc)
        return JSONResponse(
            error_body(
                "request.out_of_range",
                "Et tal eller en værdi i forespørgslen er uden for det gyldige område",
                "A number or value in the request is out of range",
            ),
            status_code=422,
        )

    # SQLite's driver raises a bare OverflowError for an integer beyond 64 bits; PostgreSQL
    # answers "integer out of range" (DataError) for one beyond the column's 32 bits.
    app.add_exception_handler(OverflowError, out_of_range)
    app.add_exception_handler(DataError, out_of_range)
