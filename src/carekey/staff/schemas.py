"""The API's shapes of employees."""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from carekey.domain import enums as e
from carekey.http.schemas import BodyId, DistrictRef, EmployeeRef, PartialUpdate, Reason
from carekey.staff.service import (
    MIN_PASSWORD_LENGTH,
    EmployeeChanges,
    EmployeeView,
    NewEmployee,
)
from carekey.store import models as m


class PhoneSummary(BaseModel):
    id: int
    label: str
    model: str | None
    status: e.PhoneStatus
    enrolled: bool


class EmployeeOut(EmployeeRef):
    email: str | None
    status: e.EmployeeStatus
    blocked_reason: str | None
    blocked_at: dt.datetime | None
    roles: list[e.Role]
    districts: list[DistrictRef]
    phones: list[PhoneSummary]
    password_set: bool
    starts_on: dt.date | None = Field(
        default=None, description="Ansættelsens første dag; ingen nøgler før / no keys before"
    )
    created_at: dt.datetime


class EmployeeCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    employee_number: str = Field(min_length=1, max_length=32)
    full_name: str = Field(min_length=1, max_length=200)
    email: str | None = Field(default=None, max_length=200)
    roles: list[e.Role] = Field(min_length=1)
    district_ids: list[BodyId] = Field(default_factory=list, max_length=100)
    password: str | None = Field(
        default=None,
        min_length=MIN_PASSWORD_LENGTH,
        max_length=256,
        description="Valgfri; uden kan medarbejderen ikke logge ind / optional; without it the "
        "employee cannot sign in",
    )
    starts_on: dt.date | None = None
    reason: Reason

    def command(self) -> NewEmployee:
        """The employee the request asks for."""
        return NewEmployee(
            employee_number=self.employee_number,
            full_name=self.full_name,
            email=self.email,
            roles=self.roles,
            district_ids=self.district_ids,
            password=self.password,
            starts_on=self.starts_on,
        )


class EmployeeUpdate(PartialUpdate):
    _not_null: ClassVar[tuple[str, ...]] = ("full_name", "roles", "district_ids")
    full_name: str | None = Field(default=None, min_length=1, max_length=200)
    email: str | None = Field(default=None, max_length=200)
    roles: list[e.Role] | None = Field(default=None, min_length=1)
    district_ids: list[BodyId] | None = Field(default=None, max_length=100)
    starts_on: dt.date | None = None
    reason: Reason

    def command(self) -> EmployeeChanges:
        """The changes the request asks for; fields it left out stay as they are."""
        return EmployeeChanges(
            full_name=self.given("full_name"),
            email=self.given("email"),
            roles=self.given("roles"),
            district_ids=self.given("district_ids"),
            starts_on=self.given("starts_on"),
        )


def _phone_summary(phone: m.Phone) -> PhoneSummary:
    return PhoneSummary(
        id=phone.id,
        label=phone.label,
        model=phone.model,
        status=phone.status,
        enrolled=phone.public_key is not None,
    )


def employee_out(view: EmployeeView) -> EmployeeOut:
    """An employee with roles, districts and phones."""
    x = view.employee
    return EmployeeOut(
        id=x.id,
        employee_number=x.employee_number,
        full_name=x.full_name,
        email=x.email,
        status=x.status,
        blocked_reason=x.blocked_reason,
        blocked_at=x.blocked_at,
        roles=view.roles,
        districts=[DistrictRef.model_validate(d) for d in view.districts],
        phones=[_phone_summary(p) for p in view.phones],
        password_set=x.password_hash is not None,
        starts_on=x.starts_on,
        created_at=x.created_at,
    )
