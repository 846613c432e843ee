"""The FastAPI application. Engines are built in the lifespan, never at import time."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker
from starlette.datastructures import State
from starlette.types import ASGIApp, Receive, Scope, Send

import carekey
from carekey.accounts import api as accounts
from carekey.associations import api as associations
from carekey.audit import actions_api as admin_actions
from carekey.audit import api as audit
from carekey.auth.throttle import SignInThrottle
from carekey.citizens import api as citizens
from carekey.clock import Clock, SystemClock
from carekey.config import Environment, Settings, get_settings
from carekey.consents import api as consents
from carekey.dataaccess import api as data_access
from carekey.districts import api as districts
from carekey.doors import api as doors
from carekey.emergency_keys import api as emergency_keys
from carekey.http.deps import DB_SESSIONS_PER_PROCESS
from carekey.http.errors import UnexpectedErrors, error_body, install_error_handlers
from carekey.http.openapi import install_openapi
from carekey.ingest import api as events
from carekey.installer import api as installer
from carekey.keyservice import api as keyapp
from carekey.keyservice.municipalities import seeded_keys_in_use, seeded_keys_message
from carekey.online.bridge import online_bridge, running
from carekey.online.signals import NOTIFY_KEY, Notify
from carekey.organisations import api as organisations
from carekey.partners import api as partners
from carekey.partners import errand_api as partner_errands
from carekey.partners import log_api as partner_log
from carekey.phones import api as phones
from carekey.revocation import api as revocation
from carekey.server.admin_app import create_admin_ui
from carekey.server.headers import SecurityHeaders
from carekey.signin import api as auth
from carekey.staff import api as staff
from carekey.store.cache import CACHE_KEY, TimedCache
from carekey.store.db import create_db_engine, ping, session_factory, write_probe
from carekey.store.deadline import DatabaseTimeouts, request_budget
from carekey.store.migrate import current_revision, head_revision
from carekey.webhooks import api as webhooks
from carekey.webhooks import dispatch as webhook_dispatcher
from carekey.workorders import api as work_orders


def create_app(
    settings: Settings | None = None,
    *,
    engine: Engine | None = None,
    clock: Clock | None = None,
    online_notify: Notify | None = None,
) -> FastAPI:
    """Build the application for ``settings``; tests may hand in an engine and a clock, and the
    simulation its own receiver of committed denylist versions (``online.signals``) in place of
    the MQTT bridge."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own_engine = engine is None
        app.state.engine = engine or create_db_engine(
            settings.resolved_database_url, timeouts=database_timeouts(settings)
        )
        info: dict[str, Any] = {CACHE_KEY: TimedCache()}
        app.state.sessions = session_factory(app.state.engine, info=info)
        app.state.settings = settings
        app.state.clock = clock or SystemClock()
        app.state.head_revision = head_revision(app.state.engine)
        app.state.schema_seen_current = False
        if settings.environment is not Environment.DEVELOPMENT:
            await anyio.to_thread.run_sync(_refuse_seeded_keys, app.state.sessions, settings)
        # The hot key-app endpoints' own bound on concurrent database sessions (see keyapp).
        app.state.db_limiter = anyio.CapacityLimiter(DB_SESSIONS_PER_PROCESS)
        # Online controllers (issue 17): the MQTT bridge, when a broker is configured. Every
        # session hands its committed denylist versions to it (online.signals).
        app.state.online = None
        async with contextlib.AsyncExitStack() as background:
            if online_notify is not None:
                info[NOTIFY_KEY] = online_notify
            elif settings.mqtt_url:
                bridge = online_bridge(settings, sessions=app.state.sessions, clock=app.state.clock)
                info[NOTIFY_KEY] = bridge.notify
                app.state.online = await background.enter_async_context(running(bridge))
            # --- webhooks (issue 17): the dispatcher delivers from the outbox while we run ----
            webhooks_stop = await webhook_dispatcher.start(app.state, settings.webhooks_enabled)
            try:
                yield
            finally:
                await webhooks_stop()
                info.pop(NOTIFY_KEY, None)
        if own_engine:
            app.state.engine.dispose()

    app = FastAPI(
        title="CareKey",
        version=carekey.__version__,
        summary="Nøglefri hjemmepleje / keyless home care",
        lifespan=lifespan,
        # /docs and /redoc: the administration UI's own pages (server.apidocs), offline.
        docs_url=None,
        redoc_url=None,
    )

    app.state.sign_in_throttle = SignInThrottle()
    install_error_handlers(app)
    install_openapi(app)  # the error answers on every API operation (issue 18)
    for router in (
        auth.router,
        keyapp.router,
        events.router,
        revocation.router,
        staff.router,
        phones.router,
        districts.router,
        citizens.router,
        doors.router,
        emergency_keys.router,
        admin_actions.router,
        audit.router,
        organisations.router,
        associations.router,
        partners.router,
        partner_errands.router,
        partner_log.router,
        consents.router,
        work_orders.router,
        installer.router,
        webhooks.router,
        accounts.router,  # accounts (issue 18)
        data_access.router,  # right of access (issue 19)
    ):
        app.include_router(router)

    @app.get("/healthz", tags=["drift / operations"])
    async def healthz(request: Request) -> JSONResponse:
        """Liveness: the process answers, fast, whatever the database does (a stalled database
        must not get a live server restarted). Before the schema has been seen current once
        (here or by ``/readyz``) it is checked, and an unmigrated database answers 503
        ``needs upgrade``; an unreachable one then gives ``schema: unknown``, still 200."""
        state = request.app.state
        body: dict[str, Any] = {
            "status": "ok",
            "version": carekey.__version__,
            "database": state.engine.dialect.name,
        }
        if not state.schema_seen_current:
            try:
                await anyio.to_thread.run_sync(_check_schema, state)
            except Exception:  # liveness answers, whatever the database does
                body["schema"] = "unknown"
                return JSONResponse(body)
        body["schema"] = "current" if state.schema_seen_current else "needs upgrade"
        if not state.schema_seen_current:
            body["status"] = "degraded"
            return JSONResponse(body, status_code=503)
        return JSONResponse(body)

    @app.get("/readyz", tags=["drift / operations"])
    def readyz(request: Request) -> JSONResponse:
        """Readiness: the database can be read (and its schema is current) and written. The
        write is real and committed, a no-op update of the one-row ``alembic_version``, so a
        full disk or a read-only database shows; a rolled-back write would not. 503 with
        Retry-After and the error shape if either fails, so a load balancer sends no work."""
        state = request.app.state
        checks: dict[str, Any] = {"read": False, "write": False, "schema": "unknown"}
        try:
            _check_schema(state)
            checks["read"] = True
            checks["schema"] = "current" if state.schema_seen_current else "needs upgrade"
        except Exception as exc:  # readiness answers, whatever the database does
            checks["read_error"] = type(exc).__name__
        try:
            write_probe(state.engine)
            checks["write"] = True
        except Exception as exc:
            checks["write_error"] = type(exc).__name__
        body: dict[str, Any] = {
            "status": "ready",
            "version": carekey.__version__,
            "database": state.engine.dialect.name,
            "checks": checks,
        }
        if checks["read"] and checks["write"] and checks["schema"] == "current":
            return JSONResponse(body)
        body["status"] = "not_ready"
        body.update(
            error_body(
                "server.not_ready",
                "Serveren kan ikke betjene forespørgsler lige nu; se checks",
                "The server cannot serve requests right now; see checks",
            )
        )
        return JSONResponse(body, status_code=503, headers={"Retry-After": "5"})

    # The administration UI last: it answers every path the API does not.
    app.mount("/", create_admin_ui(app.state))
    app.add_middleware(UnexpectedErrors)
    app.add_middleware(DatabaseBudget, seconds=settings.db_request_timeout_s)
    app.add_middleware(SecurityHeaders)
    return app


def database_timeouts(settings: Settings) -> DatabaseTimeouts:
    """The PostgreSQL timeouts of the server's engine, from the ``CAREKEY_DB_*`` settings."""
    return DatabaseTimeouts(
        connect_s=settings.db_connect_timeout_s,
        statement_s=settings.db_statement_timeout_s,
        lock_s=settings.db_lock_timeout_s,
        pool_s=settings.db_pool_timeout_s,
        request_s=settings.db_request_timeout_s,
    )


class DatabaseBudget:
    """Every request gets ``seconds`` for its database waits, counted from its arrival
    (``carekey.store.deadline``): past them, it answers 503 instead of hanging."""

    def __init__(self, app: ASGIApp, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        with request_budget(self.seconds):
            await self.app(scope, receive, send)


class SeededIssuerKeyError(RuntimeError):
    """Outside development the server does not start with an issuer key made by the seed."""


def _refuse_seeded_keys(sessions: sessionmaker[Session], settings: Settings) -> None:
    """Stop the start-up if an active issuer key was made by ``carekey seed`` (its private key
    derives from a published seed). An unreachable database is left to ``/readyz``: ``carekey
    serve`` checks the same before it starts, and fails when the database does not answer."""
    try:
        with sessions() as db:
            codes = seeded_keys_in_use(db)
    except OperationalError:
        return
    if codes:
        raise SeededIssuerKeyError(seeded_keys_message(codes, settings.environment.value))


def _check_schema(state: State) -> None:
    """Read the schema's revision; remember once it is current (it stays so while we run)."""
    ping(state.engine)
    state.schema_seen_current = current_revision(state.engine) == state.head_revision
