"""Request and response bodies of the key app's endpoints (``keyservice.api``).

The bundle and heartbeat answers are not models here: they are rendered by ``KeyBundle`` and
``heartbeat`` themselves (orjson; FastAPI's encoder costs milliseconds on a 200-door bundle).
"""

from __future__ import annotations

import datetime as dt

from pydantic import Base64Bytes, BaseModel, Field

from carekey.keyservice.app_session import DeviceProof
from carekey.keyservice.login import LoginAttempt


class EnrolRequest(BaseModel):
    code: str = Field(min_length=4, max_length=32, examples=["ABCD-EFGH-JKLM"])
    public_key: Base64Bytes = Field(description="Compressed P-256 device public key, base64")


class EnrolResponse(BaseModel):
    phone_id: int
    municipality: str
    label: str


class ChallengeRequest(BaseModel):
    phone_id: int


class ChallengeResponse(BaseModel):
    challenge: str
    expires_at: dt.datetime


class LoginRequest(BaseModel):
    municipality: str = Field(min_length=1, max_length=8, examples=["0101"])
    employee_number: str = Field(min_length=1, max_length=32)
    password: str = Field(min_length=1, max_length=256)
    phone_id: int
    challenge: str = Field(max_length=512)
    signature: Base64Bytes
    new_password: str | None = Field(
        default=None,
        max_length=256,
        description="Ny adgangskode, når en engangsadgangskode skal skiftes (svaret var 403 "
        "auth.password_change_required) / the new password when a one-time password must be "
        "replaced (after a 403 auth.password_change_required)",
    )

    def attempt(self) -> LoginAttempt:
        """The login use case's command."""
        return LoginAttempt(
            municipality_code=self.municipality,
            employee_number=self.employee_number,
            password=self.password,
            phone_id=self.phone_id,
            proof=DeviceProof(self.challenge, self.signature),
            new_password=self.new_password,
        )


class BundleRequest(BaseModel):
    challenge: str = Field(max_length=512)
    signature: Base64Bytes

    def proof(self) -> DeviceProof:
        """The device proof this request carries."""
        return DeviceProof(self.challenge, self.signature)


class HeartbeatRequest(BaseModel):
    """The heartbeat's optional body (older apps send none)."""

    denylist_version: int | None = Field(
        default=None,
        ge=0,
        lt=2**63,
        description="The denylist version the phone carries; the same as the newest means the "
        "answer's denylist is null",
    )


class TimeTokenRequest(BaseModel):
    door_id: str = Field(min_length=1, max_length=32)
    nonce: Base64Bytes = Field(description="The door's challenge nonce (8-32 bytes), base64")
    correction: bool = Field(
        default=False,
        description="Rettelse: må stille dørens ur tilbage / may set the door's clock back",
    )


class TimeTokenResponse(BaseModel):
    time_token: str
