"""Administration endpoints: employees, phones, districts, citizens, doors, emergency keys and the
log of administrative actions. Thin: each endpoint validates the request, calls one use case of
``services.admin`` and shapes the answer. Blocking, removal, enrolment codes and granting or
revoking emergency keys are in ``api.revocation``.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, ClassVar, Generic, Literal, TypeVar

from fastapi import APIRouter, Path, Query
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from carekey.domain import enums as e
from carekey.http.deps import ActorDep, NowDep, SessionDep
from carekey.services import admin
from carekey.store import models as m

router = APIRouter(prefix="/api/v1/admin", tags=["administration"])

ItemT = TypeVar("ItemT")

PathId = Annotated[int, Path(ge=1, le=admin.MAX_ID)]
BodyId = Annotated[int, Field(ge=1, le=admin.MAX_ID)]
FilterId = Annotated[int | None, Query(ge=1, le=admin.MAX_ID)]
Limit = Annotated[
    int, Query(ge=1, le=admin.MAX_PAGE_SIZE, description="Rækker pr. side / rows per page")
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


class _Update(BaseModel):
    """A partial change: fields left out stay as they are; ``_not_null`` fields may not be null."""

    model_config = ConfigDict(extra="forbid")
    _not_null: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="after")
    def _refuse_null(self) -> _Update:
        for name in self._not_null:
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} kan ikke være tom / {name} cannot be null")
        return self

    def given(self, name: str) -> Any:
        """The field's value if the request gave it, else ``UNSET``."""
        return getattr(self, name) if name in self.model_fields_set else admin.UNSET


# --- response shapes ---------------------------------------------------------------------------


class DistrictRef(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    code: str
    name: str


class DistrictOut(DistrictRef):
    employee_count: int
    citizen_count: int


class EmployeeRef(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    employee_number: str
    full_name: str


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
    created_at: dt.datetime


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


class DoorOut(DoorSummary):
    firmware_version: str
    clock_offset_ms: int | None
    denylist_version_seen: int
    last_event_seq: int
    installed_at: dt.datetime | None
    placement: Literal["dwelling", "entrance", "gate"] | None
    address: AddressOut | None
    citizen_id: int | None


class DoorDetail(DoorOut):
    denylist_version_current: int = Field(
        description="Kommunens nyeste spærreliste / the municipality's newest denylist version"
    )


class CitizenRef(BaseModel):
    id: int
    given_name: str
    family_name: str


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


class AdminActionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    at: dt.datetime
    actor_employee_id: int | None
    actor_label: str
    action: str
    target_type: str
    target_id: str
    reason: str | None
    details: dict[str, Any] | None


def _phone_summary(phone: m.Phone) -> PhoneSummary:
    return PhoneSummary(
        id=phone.id,
        label=phone.label,
        model=phone.model,
        status=phone.status,
        enrolled=phone.public_key is not None,
    )


def _employee_out(view: admin.EmployeeView) -> EmployeeOut:
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
        created_at=x.created_at,
    )


def _phone_out(view: admin.PhoneView) -> PhoneOut:
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


def _district_out(view: admin.DistrictView) -> DistrictOut:
    d = view.district
    return DistrictOut(
        id=d.id,
        code=d.code,
        name=d.name,
        employee_count=view.employee_count,
        citizen_count=view.citizen_count,
    )


def _address_out(address: admin.Address | None) -> AddressOut | None:
    return AddressOut.model_validate(address) if address is not None else None


def _citizen_fields(view: admin.CitizenView) -> dict[str, Any]:
    c = view.citizen
    return {
        "id": c.id,
        "given_name": c.given_name,
        "family_name": c.family_name,
        "status": c.status,
        "district": DistrictRef.model_validate(view.district),
        "dwelling_id": c.dwelling_id,
        "address": _address_out(view.address),
        "created_at": c.created_at,
        "removed_at": c.removed_at,
    }


def _citizen_detail(view: admin.CitizenView) -> CitizenDetail:
    return CitizenDetail(
        **_citizen_fields(view), doors=[DoorSummary.model_validate(d) for d in view.doors]
    )


def _placement(door: m.DoorDevice) -> Literal["dwelling", "entrance", "gate"] | None:
    if door.dwelling_id is not None:
        return "dwelling"
    if door.entrance_id is not None:
        return "entrance"
    if door.gate_id is not None:
        return "gate"
    return None


def _door_fields(view: admin.DoorView) -> dict[str, Any]:
    d = view.door
    return {
        "id": d.id,
        "kind": d.kind,
        "serial": d.serial,
        "status": d.status,
        "battery_pct": d.battery_pct,
        "last_seen_at": d.last_seen_at,
        "firmware_version": d.firmware_version,
        "clock_offset_ms": d.clock_offset_ms,
        "denylist_version_seen": d.denylist_version_seen,
        "last_event_seq": d.last_event_seq,
        "installed_at": d.installed_at,
        "placement": _placement(d),
        "address": _address_out(view.address),
        "citizen_id": view.citizen_id,
    }


def _emergency_key_out(view: admin.EmergencyKeyView) -> EmergencyKeyOut:
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


# --- employees ---------------------------------------------------------------------------------


class EmployeeCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    employee_number: str = Field(min_length=1, max_length=32)
    full_name: str = Field(min_length=1, max_length=200)
    email: str | None = Field(default=None, max_length=200)
    roles: list[e.Role] = Field(min_length=1)
    district_ids: list[BodyId] = Field(default_factory=list, max_length=100)
    password: str | None = Field(
        default=None,
        min_length=admin.MIN_PASSWORD_LENGTH,
        max_length=256,
        description="Valgfri; uden kan medarbejderen ikke logge ind / optional; without it the "
        "employee cannot sign in",
    )
    reason: Reason


class EmployeeUpdate(_Update):
    _not_null: ClassVar[tuple[str, ...]] = ("full_name", "roles", "district_ids")
    full_name: str | None = Field(default=None, min_length=1, max_length=200)
    email: str | None = Field(default=None, max_length=200)
    roles: list[e.Role] | None = Field(default=None, min_length=1)
    district_ids: list[BodyId] | None = Field(default=None, max_length=100)
    reason: Reason


@router.get("/employees", response_model=Page[EmployeeOut])
def list_employees(
    db: SessionDep,
    actor: ActorDep,
    q: Search = None,
    district_id: FilterId = None,
    status: e.EmployeeStatus | None = None,
    limit: Limit = admin.DEFAULT_PAGE_SIZE,
    offset: Offset = 0,
) -> Page[EmployeeOut]:
    """Medarbejdere / employees, searched by name or number."""
    page = admin.list_employees(
        db,
        actor=actor,
        q=q,
        district_id=district_id,
        status=status,
        limit=limit,
        offset=offset,
    )
    return Page(
        items=[_employee_out(v) for v in page.items],
        total=page.total,
        limit=page.limit,
        offset=page.offset,
    )


@router.post("/employees", response_model=EmployeeOut, status_code=201)
def create_employee(
    body: EmployeeCreate, db: SessionDep, actor: ActorDep, now: NowDep
) -> EmployeeOut:
    """Opret en medarbejder / create an employee."""
    return _employee_out(
        admin.create_employee(
            db,
            actor=actor,
            employee_number=body.employee_number,
            full_name=body.full_name,
            email=body.email,
            roles=body.roles,
            district_ids=body.district_ids,
            password=body.password,
            reason=body.reason,
            now=now,
        )
    )


@router.get("/employees/{employee_id}", response_model=EmployeeOut)
def get_employee(employee_id: PathId, db: SessionDep, actor: ActorDep) -> EmployeeOut:
    """En medarbejder med roller, distrikter og telefoner / an employee."""
    return _employee_out(admin.get_employee(db, actor=actor, employee_id=employee_id))


@router.patch("/employees/{employee_id}", response_model=EmployeeOut)
def update_employee(
    employee_id: PathId, body: EmployeeUpdate, db: SessionDep, actor: ActorDep, now: NowDep
) -> EmployeeOut:
    """Ret en medarbejder / change an employee."""
    return _employee_out(
        admin.update_employee(
            db,
            actor=actor,
            employee_id=employee_id,
            full_name=body.given("full_name"),
            email=body.given("email"),
            roles=body.given("roles"),
            district_ids=body.given("district_ids"),
            reason=body.reason,
            now=now,
        )
    )


# --- phones ------------------------------------------------------------------------------------


class PhoneCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: str = Field(min_length=1, max_length=64, description="Stregkode / asset label")
    model: str | None = Field(default=None, max_length=64)
    employee_id: BodyId | None = None
    reason: Reason


class PhoneUpdate(_Update):
    _not_null: ClassVar[tuple[str, ...]] = ("label",)
    label: str | None = Field(default=None, min_length=1, max_length=64)
    model: str | None = Field(default=None, max_length=64)
    employee_id: BodyId | None = None
    reason: Reason


@router.get("/phones", response_model=Page[PhoneOut])
def list_phones(
    db: SessionDep,
    actor: ActorDep,
    q: Search = None,
    employee_id: FilterId = None,
    status: e.PhoneStatus | None = None,
    limit: Limit = admin.DEFAULT_PAGE_SIZE,
    offset: Offset = 0,
) -> Page[PhoneOut]:
    """Telefoner / phones, searched by label."""
    page = admin.list_phones(
        db,
        actor=actor,
        q=q,
        employee_id=employee_id,
        status=status,
        limit=limit,
        offset=offset,
    )
    return Page(
        items=[_phone_out(v) for v in page.items],
        total=page.total,
        limit=page.limit,
        offset=page.offset,
    )


@router.post("/phones", response_model=PhoneOut, status_code=201)
def create_phone(body: PhoneCreate, db: SessionDep, actor: ActorDep, now: NowDep) -> PhoneOut:
    """Registrér en telefon / register a phone."""
    return _phone_out(
        admin.create_phone(
            db,
            actor=actor,
            label=body.label,
            model=body.model,
            employee_id=body.employee_id,
            reason=body.reason,
            now=now,
        )
    )


@router.get("/phones/{phone_id}", response_model=PhoneOut)
def get_phone(phone_id: PathId, db: SessionDep, actor: ActorDep) -> PhoneOut:
    """En telefon / a phone."""
    return _phone_out(admin.get_phone(db, actor=actor, phone_id=phone_id))


@router.patch("/phones/{phone_id}", response_model=PhoneOut)
def update_phone(
    phone_id: PathId, body: PhoneUpdate, db: SessionDep, actor: ActorDep, now: NowDep
) -> PhoneOut:
    """Ret en telefon / change a phone."""
    return _phone_out(
        admin.update_phone(
            db,
            actor=actor,
            phone_id=phone_id,
            label=body.given("label"),
            model=body.given("model"),
            employee_id=body.given("employee_id"),
            reason=body.reason,
            now=now,
        )
    )


# --- districts ---------------------------------------------------------------------------------


class DistrictCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(min_length=1, max_length=16)
    name: str = Field(min_length=1, max_length=100)
    reason: Reason


class DistrictUpdate(_Update):
    _not_null: ClassVar[tuple[str, ...]] = ("code", "name")
    code: str | None = Field(default=None, min_length=1, max_length=16)
    name: str | None = Field(default=None, min_length=1, max_length=100)
    reason: Reason


@router.get("/districts", response_model=list[DistrictOut])
def list_districts(db: SessionDep, actor: ActorDep) -> list[DistrictOut]:
    """Distrikter / districts."""
    return [_district_out(v) for v in admin.list_districts(db, actor=actor)]


@router.post("/districts", response_model=DistrictOut, status_code=201)
def create_district(
    body: DistrictCreate, db: SessionDep, actor: ActorDep, now: NowDep
) -> DistrictOut:
    """Opret et distrikt / create a district."""
    return _district_out(
        admin.create_district(
            db, actor=actor, code=body.code, name=body.name, reason=body.reason, now=now
        )
    )


@router.get("/districts/{district_id}", response_model=DistrictOut)
def get_district(district_id: PathId, db: SessionDep, actor: ActorDep) -> DistrictOut:
    """Et distrikt / a district."""
    return _district_out(admin.get_district(db, actor=actor, district_id=district_id))


@router.patch("/districts/{district_id}", response_model=DistrictOut)
def update_district(
    district_id: PathId, body: DistrictUpdate, db: SessionDep, actor: ActorDep, now: NowDep
) -> DistrictOut:
    """Ret et distrikt / change a district."""
    return _district_out(
        admin.update_district(
            db,
            actor=actor,
            district_id=district_id,
            code=body.given("code"),
            name=body.given("name"),
            reason=body.reason,
            now=now,
        )
    )


# --- citizens ----------------------------------------------------------------------------------


class CitizenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    given_name: str = Field(min_length=1, max_length=100)
    family_name: str = Field(min_length=1, max_length=100)
    district_id: BodyId
    dwelling_id: BodyId | None = None
    status: Literal["pending", "active"] = "pending"
    reason: Reason


class CitizenUpdate(_Update):
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


@router.get("/citizens", response_model=Page[CitizenOut])
def list_citizens(
    db: SessionDep,
    actor: ActorDep,
    q: Search = None,
    district_id: FilterId = None,
    status: e.CitizenStatus | None = None,
    limit: Limit = admin.DEFAULT_PAGE_SIZE,
    offset: Offset = 0,
) -> Page[CitizenOut]:
    """Borgere / citizens, searched by name."""
    page = admin.list_citizens(
        db,
        actor=actor,
        q=q,
        district_id=district_id,
        status=status,
        limit=limit,
        offset=offset,
    )
    return Page(
        items=[CitizenOut(**_citizen_fields(v)) for v in page.items],
        total=page.total,
        limit=page.limit,
        offset=page.offset,
    )


@router.post("/citizens", response_model=CitizenDetail, status_code=201)
def create_citizen(
    body: CitizenCreate, db: SessionDep, actor: ActorDep, now: NowDep
) -> CitizenDetail:
    """Opret en borger / register a citizen."""
    return _citizen_detail(
        admin.create_citizen(
            db,
            actor=actor,
            given_name=body.given_name,
            family_name=body.family_name,
            district_id=body.district_id,
            dwelling_id=body.dwelling_id,
            status=e.CitizenStatus(body.status),
            reason=body.reason,
            now=now,
        )
    )


@router.get("/citizens/{citizen_id}", response_model=CitizenDetail)
def get_citizen(citizen_id: PathId, db: SessionDep, actor: ActorDep) -> CitizenDetail:
    """En borger med adresse og døre / a citizen with address and doors."""
    return _citizen_detail(admin.get_citizen(db, actor=actor, citizen_id=citizen_id))


@router.patch("/citizens/{citizen_id}", response_model=CitizenDetail)
def update_citizen(
    citizen_id: PathId, body: CitizenUpdate, db: SessionDep, actor: ActorDep, now: NowDep
) -> CitizenDetail:
    """Ret en borger, fx flyt til et andet distrikt / change a citizen, e.g. move district."""
    status = body.given("status")
    return _citizen_detail(
        admin.update_citizen(
            db,
            actor=actor,
            citizen_id=citizen_id,
            given_name=body.given("given_name"),
            family_name=body.given("family_name"),
            district_id=body.given("district_id"),
            status=status if status is admin.UNSET else e.CitizenStatus(status),
            reason=body.reason,
            now=now,
        )
    )


# --- doors -------------------------------------------------------------------------------------


@router.get("/doors", response_model=Page[DoorOut])
def list_doors(
    db: SessionDep,
    actor: ActorDep,
    kind: e.DoorKind | None = None,
    status: e.DoorStatus | None = None,
    low_battery: Annotated[
        bool, Query(description=f"Kun batteri under {admin.LOW_BATTERY_PCT} %")
    ] = False,
    limit: Limit = admin.DEFAULT_PAGE_SIZE,
    offset: Offset = 0,
) -> Page[DoorOut]:
    """Døre / door devices."""
    page = admin.list_doors(
        db,
        actor=actor,
        kind=kind,
        status=status,
        low_battery=low_battery,
        limit=limit,
        offset=offset,
    )
    return Page(
        items=[DoorOut(**_door_fields(v)) for v in page.items],
        total=page.total,
        limit=page.limit,
        offset=page.offset,
    )


@router.get("/doors/{door_id}", response_model=DoorDetail)
def get_door(door_id: PathId, db: SessionDep, actor: ActorDep) -> DoorDetail:
    """En dør: batteri, firmware, sidst set, placering / a door: battery, firmware, placement."""
    view = admin.get_door(db, actor=actor, door_id=door_id)
    return DoorDetail(
        **_door_fields(view), denylist_version_current=view.denylist_version_current or 0
    )


# --- emergency keys ----------------------------------------------------------------------------


@router.get("/emergency-keys", response_model=Page[EmergencyKeyOut])
def list_emergency_keys(
    db: SessionDep,
    actor: ActorDep,
    now: NowDep,
    state: Literal["active", "all"] = "active",
    employee_id: FilterId = None,
    citizen_id: FilterId = None,
    limit: Limit = admin.DEFAULT_PAGE_SIZE,
    offset: Offset = 0,
) -> Page[EmergencyKeyOut]:
    """Akutnøgler / emergency keys: the live ones, or all."""
    page = admin.list_emergency_keys(
        db,
        actor=actor,
        now=now,
        active_only=state == "active",
        employee_id=employee_id,
        citizen_id=citizen_id,
        limit=limit,
        offset=offset,
    )
    return Page(
        items=[_emergency_key_out(v) for v in page.items],
        total=page.total,
        limit=page.limit,
        offset=page.offset,
    )


@router.get("/emergency-keys/{grant_id}", response_model=EmergencyKeyOut)
def get_emergency_key(
    grant_id: PathId, db: SessionDep, actor: ActorDep, now: NowDep
) -> EmergencyKeyOut:
    """En akutnøgle / an emergency key."""
    return _emergency_key_out(admin.get_emergency_key(db, actor=actor, grant_id=grant_id, now=now))


# --- the log of administrative actions ---------------------------------------------------------


@router.get("/actions", response_model=Page[AdminActionOut])
def list_admin_actions(
    db: SessionDep,
    actor: ActorDep,
    action: Annotated[str | None, Query(max_length=64)] = None,
    target_type: Annotated[str | None, Query(max_length=64)] = None,
    target_id: Annotated[str | None, Query(max_length=64)] = None,
    since: AwareDatetime | None = None,
    until: AwareDatetime | None = None,
    limit: Limit = admin.DEFAULT_PAGE_SIZE,
    offset: Offset = 0,
) -> Page[AdminActionOut]:
    """Administrative handlinger / administrative actions, newest first."""
    page = admin.list_admin_actions(
        db,
        actor=actor,
        action=action,
        target_type=target_type,
        target_id=target_id,
        since=since,
        until=until,
        limit=limit,
        offset=offset,
    )
    return Page(
        items=[AdminActionOut.model_validate(a) for a in page.items],
        total=page.total,
        limit=page.limit,
        offset=page.offset,
    )
