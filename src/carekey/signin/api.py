"""Sign-in for the administration API: password and the TOTP second factor, as on the web.

The API is for office staff working through scripts and tools; it signs in exactly as the
administration UI does (same password check, same one-time TOTP code, same throttling) and the
token names a server-side session, so ``/logout`` ends it.
"""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from carekey.auth.service import issue_admin_token, sign_out_token
from carekey.http.deps import BearerDep, NowDep, SecretDep, SessionDep, client_address

router = APIRouter(prefix="/api/v1/auth", tags=["log ind / sign in"])


class TokenRequest(BaseModel):
    municipality: str = Field(min_length=1, max_length=8, examples=["0101"])
    employee_number: str = Field(min_length=1, max_length=32)
    password: str = Field(min_length=1, max_length=256)
    totp_code: str = Field(
        min_length=6,
        max_length=12,
        description="Koden fra godkendelsesappen / the code from the authenticator app",
    )


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_at: dt.datetime


@router.post("/token", response_model=TokenResponse)
def token(
    request: Request, body: TokenRequest, db: SessionDep, secret: SecretDep, now: NowDep
) -> TokenResponse:
    """Log ind i administrationen / sign in to the administration (password and TOTP code)."""
    access, expires = issue_admin_token(
        db,
        request.app.state.sign_in_throttle,
        municipality_code=body.municipality,
        employee_number=body.employee_number,
        password=body.password,
        totp_code=body.totp_code,
        address=client_address(request),
        secret=secret,
        now=now,
    )
    return TokenResponse(access_token=access, expires_at=expires)


@router.post("/logout", status_code=204)
def logout(db: SessionDep, token: BearerDep, secret: SecretDep, now: NowDep) -> Response:
    """Log ud / sign out: the token stops working at once."""
    sign_out_token(db, token, secret=secret, now=now)
    return Response(status_code=204)
