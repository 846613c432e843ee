"""Errors as JSON with a stable code, a Danish message and an English one."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import (
    DataError,
    DBAPIError,
    InterfaceError,
    OperationalError,
    SQLAlchemyError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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

RETRY_AFTER_S: Final = 5  # what a 503 for a database that does not answer tells the client

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


def database_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` says the database cannot serve right now (down, stalled, restarting,
    out of connections, a statement or lock timeout, a full disk, a busy SQLite file), as
    opposed to a fault in the request or in our code: then the client should try again."""
    if isinstance(exc, OperationalError | PoolTimeoutError | InterfaceError):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


def unavailable_response(exc: BaseException, request: Request | None = None) -> JSONResponse:
    """503 with ``Retry-After`` and the error shape, code ``server.database_unavailable``."""
    where = f" in {request.method} {request.url.path}" if request is not None else ""
    log.warning("database unavailable%s: %s", where, _first_line(exc))
    return JSONResponse(
        error_body(
            "server.database_unavailable",
            "Serveren kan ikke nå sin database lige nu; prøv igen om lidt",
            "The server cannot reach its database right now; try again shortly",
            retry_after_s=RETRY_AFTER_S,
        ),
        status_code=503,
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )


def internal_error_response() -> JSONResponse:
    """500 in the error shape, code ``server.internal_error`` (the details are in the log)."""
    return JSONResponse(
        error_body(
            "server.internal_error",
            "Der skete en fejl på serveren; den er logget",
            "Something went wrong on the server; it has been logged",
        ),
        status_code=500,
    )


def _field_name(location: str) -> str:
    """``query.since`` as ``since``, ``body.name`` as ``name``: the field as the client sent it."""
    head, _, rest = location.partition(".")
    return rest if head in ("query", "body", "path", "header", "cookie") and rest else location


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"


class UnexpectedErrors:
    """The last line of defence, inside Starlette's own: an exception no handler took becomes
    an answer (``answer(scope, exc)``, by default the 500 of :func:`internal_error_response`,
    a 503 for a database that does not answer) on a connection that stays open for the
    client's next request. Starlette's ``ServerErrorMiddleware`` would answer ``text/plain``
    and re-raise, and uvicorn then drops the connection without ``Connection: close``, so the
    client's next request on it fails. An exception after the answer has begun is re-raised:
    the answer cannot be completed, and closing the connection is the only honest end."""

    def __init__(
        self, app: ASGIApp, answer: Callable[[Scope, Exception], Response] | None = None
    ) -> None:
        self.app = app
        self.answer = answer or _default_answer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception as exc:
            if started:
                raise
            if not database_unavailable(exc):
                log.exception("unexpected error in %s %s", scope.get("method"), scope["path"])
            await self.answer(scope, exc)(scope, receive, send)


def _default_answer(_scope: Scope, exc: Exception) -> Response:
    return unavailable_response(exc) if database_unavailable(exc) else internal_error_response()


def install_error_handlers(app: FastAPI) -> None:
    """Map the domain's and the protocol's errors, and the database's, to HTTP responses."""

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
        # Name the fields in the message itself: "ugyldig" alone does not say what to fix.
        fields = ", ".join(dict.fromkeys(_field_name(d["field"]) for d in details)) or "?"
        return JSONResponse(
            error_body(
                "request.invalid",
                f"Ugyldig værdi i {fields}; ret den og prøv igen (hvad der er galt, står i "
                "details)",
                f"Invalid value in {fields}; correct it and try again (details says what is wrong)",
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

    async def database_error(request: Request, exc: Exception) -> JSONResponse:
        """A database that cannot serve: 503 and Retry-After. Any other database error is a
        fault of ours: 500, logged. The unit of work has rolled back either way."""
        if database_unavailable(exc):
            return unavailable_response(exc, request)
        log.error("database error in %s %s", request.method, request.url.path, exc_info=exc)
        return internal_error_response()

    app.add_exception_handler(SQLAlchemyError, database_error)
