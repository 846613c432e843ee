"""The API's shapes of emergency keys."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel

from carekey.emergency_keys.service import EmergencyKeyView
from carekey.http.schemas import CitizenRef, EmployeeRef


class EmergencyKeyOut(BaseModel):
    id: int
    employee: EmployeeRef
    citizen: CitizenRef
    granted_by: EmployeeRef
    reason: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    revoked_at: dt.datetime | None
    active: bool


def emergency_key_out(view: EmergencyKeyView) -> EmergencyKeyOut:
    """An emergency key with who has it, to whom, who gave it, why and until when."""
    g = view.grant
    return EmergencyKeyOut(
        id=g.id,
        employee=EmployeeRef.model_validate(view.employee),
        citizen=CitizenRef(
            id=view.citizen.id,
            given_name=view.citizen.given_name,
            family_name=view.citizen.family_name,
        ),
        granted_by=EmployeeRef.model_validate(view.granted_by),
        reason=g.reason,
        starts_at=g.starts_at,
        ends_at=g.ends_at,
        revoked_at=g.revoked_at,
        active=view.active,
    )
