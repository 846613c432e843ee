"""The API's shapes of citizens."""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from carekey.citizens.service import CitizenChanges, CitizenView, NewCitizen
from carekey.domain import enums as e
from carekey.domain.changes import Unset
from carekey.http.schemas import (
    AddressOut,
    BodyId,
    DistrictRef,
    DoorSummary,
    PartialUpdate,
    Reason,
    address_out,
)


class CitizenOut(BaseModel):
    id: int
    given_name: str
    family_name: str
    status: e.CitizenStatus
    district: DistrictRef
    dwelling_id: int | None
    address: AddressOut | None
    created_at: dt.datetime
    removed_at: dt.datetime | None


class CitizenDetail(CitizenOut):
    doors: list[DoorSummary] = Field(
        description="Hoveddør, opgang og port / front door, stairwell and gate"
    )


class CitizenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    given_name: str = Field(min_length=1, max_length=100)
    family_name: str = Field(min_length=1, max_length=100)
    district_id: BodyId
    dwelling_id: BodyId | None = None
    status: Literal["pending", "active"] = "pending"
    reason: Reason

    def command(self) -> NewCitizen:
        """The citizen the request asks for."""
        return NewCitizen(
            given_name=self.given_name,
            family_name=self.family_name,
            district_id=self.district_id,
            dwelling_id=self.dwelling_id,
            status=e.CitizenStatus(self.status),
        )


class CitizenUpdate(PartialUpdate):
    _not_null: ClassVar[tuple[str, ...]] = ("given_name", "family_name", "district_id", "status")
    given_name: str | None = Field(default=None, min_length=1, max_length=100)
    family_name: str | None = Field(default=None, min_length=1, max_length=100)
    district_id: BodyId | None = None
    status: Literal["pending", "active", "paused"] | None = Field(
        default=None,
        description="Fjern og genskab har deres egne handlinger / remove and restore have "
        "their own actions",
    )
    reason: Reason

    def command(self) -> CitizenChanges:
        """The changes the request asks for; fields it left out stay as they are."""
        status = self.given("status")
        return CitizenChanges(
            given_name=self.given("given_name"),
            family_name=self.given("family_name"),
            district_id=self.given("district_id"),
            status=status if isinstance(status, Unset) else e.CitizenStatus(status),
        )


def _citizen_fields(view: CitizenView) -> dict[str, Any]:
    c = view.citizen
    return {
        "id": c.id,
        "given_name": c.given_name,
        "family_name": c.family_name,
        "status": c.status,
        "district": DistrictRef.model_validate(view.district),
        "dwelling_id": c.dwelling_id,
        "address": address_out(view.address),
        "created_at": c.created_at,
        "removed_at": c.removed_at,
    }


def citizen_out(view: CitizenView) -> CitizenOut:
    """A citizen in a list: district and address."""
    return CitizenOut(**_citizen_fields(view))


def citizen_detail(view: CitizenView) -> CitizenDetail:
    """One citizen: district, address and the doors to their home."""
    return CitizenDetail(
        **_citizen_fields(view), doors=[DoorSummary.model_validate(d) for d in view.doors]
    )
