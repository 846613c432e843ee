"""The FastAPI application. Engines are built in the lifespan, never at import time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine

import carekey
from carekey.audit import actions_api as admin_actions
from carekey.audit import api as audit
from carekey.auth.throttle import SignInThrottle
from carekey.citizens import api as citizens
from carekey.clock import Clock, SystemClock
from carekey.config import Settings, get_settings
from carekey.districts import api as districts
from carekey.doors import api as doors
from carekey.emergency_keys import api as emergency_keys
from carekey.http.deps import DB_SESSIONS_PER_PROCESS
from carekey.http.errors import install_error_handlers
from carekey.ingest import api as events
from carekey.keyservice import api as keyapp
from carekey.phones import api as phones
from carekey.revocation import api as revocation
from carekey.server.admin_app import create_admin_ui
from carekey.server.headers import SecurityHeaders
from carekey.signin import api as auth
from carekey.staff import api as staff
from carekey.store.cache import CACHE_KEY, TimedCache
from carekey.store.db import create_db_engine, ping, session_factory
from carekey.store.migrate import current_revision, head_revision


def create_app(
    settings: Settings | None = None, *, engine: Engine | None = None, clock: Clock | None = None
) -> FastAPI:
    """Build the application for ``settings``; tests may hand in an engine and a clock."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own_engine = engine is None
        app.state.engine = engine or create_db_engine(settings.resolved_database_url)
        app.state.sessions = session_factory(app.state.engine, info={CACHE_KEY: TimedCache()})
        app.state.settings = settings
        app.state.clock = clock or SystemClock()
        app.state.head_revision = head_revision(app.state.engine)
        # The hot key-app endpoints' own bound on concurrent database sessions (see keyapp).
        app.state.db_limiter = anyio.CapacityLimiter(DB_SESSIONS_PER_PROCESS)
        try:
            yield
        finally:
            if own_engine:
                app.state.engine.dispose()

    app = FastAPI(
        title="CareKey",
        version=carekey.__version__,
        summary="Nøglefri hjemmepleje / keyless home care",
        lifespan=lifespan,
    )

    app.state.sign_in_throttle = SignInThrottle()
    install_error_handlers(app)
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
    ):
        app.include_router(router)

    @app.get("/healthz", tags=["drift / operations"])
    def healthz(request: Request) -> JSONResponse:
        """Liveness and readiness: the database answers and its schema is current."""
        eng: Engine = request.app.state.engine
        body: dict[str, Any] = {"status": "ok", "version": carekey.__version__}
        try:
            ping(eng)
            body["database"] = eng.dialect.name
            schema_ok = current_revision(eng) == request.app.state.head_revision
            body["schema"] = "current" if schema_ok else "needs upgrade"
        except Exception as exc:  # health must answer, whatever the database does
            return JSONResponse(
                {"status": "error", "database": "unreachable", "detail": type(exc).__name__},
                status_code=503,
            )
        if not schema_ok:
            body["status"] = "degraded"
            return JSONResponse(body, status_code=503)
        return JSONResponse(body)

    # The administration UI last: it answers every path the API does not.
    app.mount("/", create_admin_ui(app.state))
    app.add_middleware(SecurityHeaders)
    return app
