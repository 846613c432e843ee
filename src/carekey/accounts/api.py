"""Account endpoints (docs/accounts.md): an employee's one-time password, set-password link and
authenticator reset. Thin: each endpoint calls one use case of ``accounts.service``. What they
answer with (a password, a link) is shown once and never stored plain: keep it out of logs."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from carekey.accounts import service
from carekey.http.deps import ActorDep, NowDep, SessionDep
from carekey.http.schemas import PathId

router = APIRouter(prefix="/api/v1/admin", tags=["administration"])


class AccountRequest(BaseModel):
    reason: str | None = Field(default=None, max_length=2000)


class ResetRequest(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)


class OneTimePasswordOut(BaseModel):
    employee_id: int
    password: str = Field(description="Vises kun denne ene gang / shown this once only")
    must_change: bool = True


class PasswordLinkOut(BaseModel):
    employee_id: int
    url: str = Field(description="Vises kun denne ene gang / shown this once only")
    path: str
    expires_at: dt.datetime


class AccountOut(BaseModel):
    employee_id: int
    authenticator_set_up: bool
    password_must_change: bool


@router.post(
    "/employees/{employee_id}/one-time-password", response_model=OneTimePasswordOut, status_code=201
)
def one_time_password(
    employee_id: PathId,
    db: SessionDep,
    actor: ActorDep,
    now: NowDep,
    body: AccountRequest | None = None,
) -> OneTimePasswordOut:
    """Giv en engangsadgangskode / set a one-time password (to replace at the next sign-in)."""
    made = service.set_one_time_password(
        db, actor=actor, employee_id=employee_id, now=now, reason=body.reason if body else None
    )
    return OneTimePasswordOut(employee_id=made.employee.id, password=made.password)


@router.post(
    "/employees/{employee_id}/password-link", response_model=PasswordLinkOut, status_code=201
)
def password_link(
    request: Request,
    employee_id: PathId,
    db: SessionDep,
    actor: ActorDep,
    now: NowDep,
    body: AccountRequest | None = None,
) -> PasswordLinkOut:
    """Lav et link til at vælge adgangskode / make a single-use set-password link."""
    link = service.create_password_link(
        db, actor=actor, employee_id=employee_id, now=now, reason=body.reason if body else None
    )
    return PasswordLinkOut(
        employee_id=link.employee.id,
        url=str(request.base_url).rstrip("/") + link.path,
        path=link.path,
        expires_at=link.expires_at,
    )


@router.post("/employees/{employee_id}/totp-reset", response_model=AccountOut)
def reset_authenticator(
    employee_id: PathId, body: ResetRequest, db: SessionDep, actor: ActorDep, now: NowDep
) -> AccountOut:
    """Nulstil en mistet godkender-app / reset a lost authenticator (with a reason)."""
    employee = service.reset_authenticator(
        db, actor=actor, employee_id=employee_id, reason=body.reason, now=now
    )
    return AccountOut(
        employee_id=employee.id,
        authenticator_set_up=employee.totp_secret_sealed is not None,
        password_must_change=employee.password_must_change,
    )
