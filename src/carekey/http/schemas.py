"""What every part's API shares: a page of a list, partial changes, the bounds of ids and query
parameters, and the short references one part's answers make to another part's things."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any, ClassVar, Generic, TypeVar

from fastapi import Path, Query
from pydantic import BaseModel, ConfigDict, Field, model_validator

from carekey.domain import enums as e
from carekey.domain import paging
from carekey.domain.changes import UNSET
from carekey.domain.places import Address
from carekey.domain.values import MAX_ID

ItemT = TypeVar("ItemT")
ViewT = TypeVar("ViewT")

PathId = Annotated[int, Path(ge=1, le=MAX_ID)]
BodyId = Annotated[int, Field(ge=1, le=MAX_ID)]
FilterId = Annotated[int | None, Query(ge=1, le=MAX_ID)]
Limit = Annotated[
    int, Query(ge=1, le=paging.MAX_PAGE_SIZE, description="Rækker pr. side / rows per page")
]
Offset = Annotated[int, Query(ge=0, le=1_000_000_000)]
Search = Annotated[str | None, Query(max_length=200, description="Søg / search")]
Reason = Annotated[
    str | None, Field(default=None, max_length=2000, description="Begrundelse / reason")
]


class Page(BaseModel, Generic[ItemT]):
    items: list[ItemT]
    total: int = Field(description="Antal i alt / total count")
    limit: int
    offset: int


def page_out(page: paging.Page[ViewT], shape: Callable[[ViewT], ItemT]) -> Page[ItemT]:
    """The answer for one page of a use case's list, each item shaped by ``shape``."""
    return Page(
        items=[shape(v) for v in page.items],
        total=page.total,
        limit=page.limit,
        offset=page.offset,
    )


class PartialUpdate(BaseModel):
    """A partial change: fields left out stay as they are; ``_not_null`` fields may not be null."""

    model_config = ConfigDict(extra="forbid")
    _not_null: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="after")
    def _refuse_null(self) -> PartialUpdate:
        for name in self._not_null:
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} kan ikke være tom / {name} cannot be null")
        return self

    def given(self, name: str) -> Any:
        """The field's value if the request gave it, else ``UNSET``."""
        return getattr(self, name) if name in self.model_fields_set else UNSET


# --- references to things of other parts -------------------------------------------------------


class DistrictRef(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    code: str
    name: str


class EmployeeRef(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    employee_number: str
    full_name: str


class CitizenRef(BaseModel):
    id: int
    given_name: str
    family_name: str


class AddressOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    text: str
    property_id: int
    street: str
    house_number: str
    postal_code: str
    city: str
    entrance_id: int | None
    entrance_label: str | None
    dwelling_id: int | None
    floor: str | None
    side: str | None
    gate_id: int | None
    gate_label: str | None


class DoorSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    kind: e.DoorKind
    serial: str
    status: e.DoorStatus
    battery_pct: int | None
    last_seen_at: dt.datetime | None


def address_out(address: Address | None) -> AddressOut | None:
    """Where a thing is, if it is anywhere yet."""
    return AddressOut.model_validate(address) if address is not None else None
