"""The API's shapes of districts."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from carekey.districts.service import DistrictView
from carekey.http.schemas import DistrictRef, PartialUpdate, Reason


class DistrictOut(DistrictRef):
    employee_count: int
    citizen_count: int


class DistrictCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(min_length=1, max_length=16)
    name: str = Field(min_length=1, max_length=100)
    reason: Reason


class DistrictUpdate(PartialUpdate):
    _not_null: ClassVar[tuple[str, ...]] = ("code", "name")
    code: str | None = Field(default=None, min_length=1, max_length=16)
    name: str | None = Field(default=None, min_length=1, max_length=100)
    reason: Reason


def district_out(view: DistrictView) -> DistrictOut:
    """A district with its counts."""
    d = view.district
    return DistrictOut(
        id=d.id,
        code=d.code,
        name=d.name,
        employee_count=view.employee_count,
        citizen_count=view.citizen_count,
    )
