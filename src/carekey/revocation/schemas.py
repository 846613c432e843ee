"""Request and response bodies of the revocation and emergency-key endpoints
(``revocation.api``)."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field

from carekey.protocol.credential import MAX_VALIDITY
from carekey.revocation.service import Revocation


class ReasonRequest(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)


class BlockPhoneRequest(ReasonRequest):
    lost: bool = Field(default=False, description="Mistet eller stjålet / lost or stolen")


class ExposedDoor(BaseModel):
    door_device_id: int
    until: dt.datetime


class RevocationResponse(BaseModel):
    changed: bool
    denylist_version: int | None
    exposed_doors: list[ExposedDoor] = Field(
        description="Døre, der kan acceptere en spærret nøgle, til de lærer spærringen, "
        "og senest hvornår / doors that may accept a revoked key until they learn of it"
    )

    @classmethod
    def of(cls, result: Revocation) -> RevocationResponse:
        """The answer for what a revocation did, doors in id order."""
        return cls(
            changed=result.changed,
            denylist_version=result.denylist_version,
            exposed_doors=[
                ExposedDoor(door_device_id=door, until=until)
                for door, until in sorted(result.exposed_doors.items())
            ],
        )


class EnrolmentCodeResponse(BaseModel):
    code: str
    expires_at: dt.datetime


class EmergencyKeyRequest(BaseModel):
    employee_id: int
    citizen_id: int
    reason: str = Field(min_length=1, max_length=2000)
    # An emergency key is a credential: it lives 9 hours at most.
    minutes: int = Field(ge=1, le=MAX_VALIDITY // dt.timedelta(minutes=1))
    starts_at: dt.datetime | None = None


class EmergencyKeyResponse(BaseModel):
    id: int
    employee_id: int
    citizen_id: int
    reason: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    revoked_at: dt.datetime | None
