"""Endpoints the key app calls: enrol, challenge, login, bundle, heartbeat."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import anyio.to_thread
import orjson
from fastapi import APIRouter, Body, Depends, Request
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials
from sqlalchemy.orm import Session

from carekey.http import deps
from carekey.http.deps import SessionDep
from carekey.keyservice import heartbeat as heartbeats
from carekey.keyservice import login as logins
from carekey.keyservice.app_session import issue_challenge
from carekey.keyservice.bundle import b64
from carekey.keyservice.enrolment import enrol_phone
from carekey.keyservice.schemas import (
    BundleRequest,
    ChallengeRequest,
    ChallengeResponse,
    EnrolRequest,
    EnrolResponse,
    HeartbeatRequest,
    LoginRequest,
    TimeTokenRequest,
    TimeTokenResponse,
)
from carekey.keyservice.time_tokens import door_time_token
from carekey.store.db import unit_of_work

router = APIRouter(prefix="/api/v1/app", tags=["nøgle-app / key app"])


# The shared dependencies as coroutines: FastAPI runs a plain ``def`` dependency in the thread
# pool, a hop per dependency per request; these only read the request, so they run in the loop.
async def _now(request: Request) -> dt.datetime:
    return deps.get_now(request)


async def _secret(request: Request) -> str:
    return deps.get_secret(request)


async def _token(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(deps._bearer)],
) -> str:
    return deps.get_bearer(credentials)


NowDep = Annotated[dt.datetime, Depends(_now)]
SecretDep = Annotated[str, Depends(_secret)]
BearerDep = Annotated[str, Depends(_token)]


T = TypeVar("T")


async def _in_one_hop(request: Request, work: Callable[[Session], T]) -> T:
    """Run ``work`` in one unit of work in one worker thread: the hot endpoints' whole database
    part (open, query, sign, commit) costs one thread-pool hop instead of three (a ``yield``
    dependency enters and leaves in the pool, and the endpoint runs there too). Committed
    before the answer is sent; rolled back if ``work`` raises. At most
    ``deps.DB_SESSIONS_PER_PROCESS`` run at once per process, like ``SessionDep``."""
    sessions = request.app.state.sessions

    def unit() -> T:
        with unit_of_work(sessions) as db:
            return work(db)

    limiter: anyio.CapacityLimiter = request.app.state.db_limiter
    return await anyio.to_thread.run_sync(unit, limiter=limiter)


class BundleJSON(JSONResponse):
    """JSON rendered by orjson: a 200-door bundle is built as plain data already, and the
    standard encoder would cost milliseconds per request in the morning rush."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


@router.post("/enrol", response_model=EnrolResponse)
def enrol(body: EnrolRequest, db: SessionDep, now: NowDep) -> EnrolResponse:
    """Tilmeld telefonen med engangskoden / enrol the phone with its one-time code."""
    enrolled = enrol_phone(db, code=body.code, public_key=body.public_key, now=now)
    return EnrolResponse(
        phone_id=enrolled.phone_id, municipality=enrolled.municipality_code, label=enrolled.label
    )


@router.post("/challenge", response_model=ChallengeResponse)
def challenge(body: ChallengeRequest, secret: SecretDep, now: NowDep) -> ChallengeResponse:
    """En frisk udfordring, som telefonen signerer / a fresh challenge for the phone to sign."""
    token, expires = issue_challenge(phone_id=body.phone_id, secret=secret, now=now)
    return ChallengeResponse(challenge=token, expires_at=expires)


@router.post("/login", response_class=BundleJSON)
def login(body: LoginRequest, db: SessionDep, secret: SecretDep, now: NowDep) -> Response:
    """Log ind og hent dagens nøgler / log in and fetch today's keys."""
    bundle = logins.login(db, body.attempt(), secret=secret, now=now)
    # Rendered by the bundle itself: FastAPI's encoder costs milliseconds on a 200-door bundle.
    return Response(bundle.to_json_bytes(), media_type="application/json")


@router.post("/bundle", response_class=BundleJSON)
async def bundle(
    request: Request, body: BundleRequest, token: BearerDep, secret: SecretDep, now: NowDep
) -> Response:
    """Hent nøglerne igen uden adgangskode / fetch the keys again, without the password."""

    def work(db: Session) -> bytes:
        return logins.refresh_bundle(
            db, token=token, proof=body.proof(), secret=secret, now=now
        ).to_json_bytes()

    return Response(await _in_one_hop(request, work), media_type="application/json")


@router.post("/heartbeat", response_class=BundleJSON)
async def heartbeat(
    request: Request,
    token: BearerDep,
    secret: SecretDep,
    now: NowDep,
    body: Annotated[HeartbeatRequest | None, Body()] = None,
) -> BundleJSON:
    """OK, REFRESH eller WIPE / OK, REFRESH or WIPE."""
    carried = body.denylist_version if body is not None else None

    def work(db: Session) -> dict[str, Any]:
        return heartbeats.heartbeat(
            db, token=token, secret=secret, now=now, carried_version=carried
        )

    return BundleJSON(await _in_one_hop(request, work))


@router.post("/time-token", response_model=TimeTokenResponse)
def time_token(
    body: TimeTokenRequest, db: SessionDep, token: BearerDep, secret: SecretDep, now: NowDep
) -> TimeTokenResponse:
    """Tid til en dør, der har mistet tiden / time for a door that lost its time."""
    data = door_time_token(
        db,
        token=token,
        door_id=body.door_id,
        nonce=body.nonce,
        secret=secret,
        now=now,
        correction=body.correction,
    )
    return TimeTokenResponse(time_token=b64(data))
