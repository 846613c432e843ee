"""Sign-in for the administration API."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter
from pydantic import BaseModel, Field

from carekey.api.deps import NowDep, SecretDep, SessionDep
from carekey.services.auth import issue_admin_token

router = APIRouter(prefix="/api/v1/auth", tags=["log ind / sign in"])


class TokenRequest(BaseModel):
    municipality: str = Field(min_length=1, max_length=8, examples=["0101"])
    employee_number: str = Field(min_length=1, max_length=32)
    password: str = Field(min_length=1, max_length=256)


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_at: dt.datetime


@router.post("/token", response_model=TokenResponse)
def token(body: TokenRequest, db: SessionDep, secret: SecretDep, now: NowDep) -> TokenResponse:
    """Log ind i administrationen / sign in to the administration."""
    access, expires = issue_admin_token(
        db,
        municipality_code=body.municipality,
        employee_number=body.employee_number,
        password=body.password,
        secret=secret,
        now=now,
    )
    return TokenResponse(access_token=access, expires_at=expires)
