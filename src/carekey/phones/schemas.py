"""The API's shapes of work phones."""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from carekey.domain import enums as e
from carekey.http.schemas import BodyId, EmployeeRef, PartialUpdate, Reason
from carekey.phones.service import PhoneView


class PhoneOut(BaseModel):
    id: int
    label: str
    model: str | None
    status: e.PhoneStatus
    blocked_reason: str | None
    employee: EmployeeRef | None
    enrolled: bool
    enrolled_at: dt.datetime | None
    last_seen_at: dt.datetime | None
    keys_valid_until: dt.datetime | None
    created_at: dt.datetime


class PhoneCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: str = Field(min_length=1, max_length=64, description="Stregkode / asset label")
    model: str | None = Field(default=None, max_length=64)
    employee_id: BodyId | None = None
    reason: Reason


class PhoneUpdate(PartialUpdate):
    _not_null: ClassVar[tuple[str, ...]] = ("label",)
    label: str | None = Field(default=None, min_length=1, max_length=64)
    model: str | None = Field(default=None, max_length=64)
    employee_id: BodyId | None = None
    reason: Reason


def phone_out(view: PhoneView) -> PhoneOut:
    """A phone with the employee it is registered to."""
    p = view.phone
    return PhoneOut(
        id=p.id,
        label=p.label,
        model=p.model,
        status=p.status,
        blocked_reason=p.blocked_reason,
        employee=EmployeeRef.model_validate(view.employee) if view.employee else None,
        enrolled=p.public_key is not None,
        enrolled_at=p.enrolled_at,
        last_seen_at=p.last_seen_at,
        keys_valid_until=p.bundle_expires_at,
        created_at=p.created_at,
    )
