"""The API's shapes of the housing association's portal.

What leaves here is what an association may see (docs/access.md, "What a housing association
sees"): its properties, entrances, gates and the modules fitted there (a module's last contact
as a day, never a time), the municipality's openings only as a band per property and finished
month, its agreements, and partner workers' openings. Never a dwelling, a citizen, a home lock
or a municipal employee.
"""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from carekey.associations import agreements as use
from carekey.associations import service
from carekey.associations.queries import DoorPlace, LogRow
from carekey.domain import enums as e
from carekey.domain.partner_policy import BASES_FOR_CATEGORY, LegalBasis, OrganisationKind
from carekey.http.schemas import BodyId, PartialUpdate, Reason
from carekey.store import models as m

MAX_IDS = use.MAX_IDS


# --- properties --------------------------------------------------------------------------------


class ModuleOut(BaseModel):
    id: int
    kind: e.DoorKind
    serial: str
    status: e.DoorStatus
    battery_pct: int | None
    last_seen_on: dt.date | None = Field(
        description="Sidst hørt fra (dansk dato) / last heard from (Danish date)"
    )
    lock_state: e.LockState | None
    door_state: e.DoorSensorState | None


class EntranceOut(BaseModel):
    id: int
    label: str
    modules: list[ModuleOut]


class GateOut(BaseModel):
    id: int
    label: str
    modules: list[ModuleOut]


class OpeningCountOut(BaseModel):
    month: str = Field(description="Afsluttet måned / finished month, YYYY-MM")
    band: str = Field(description='"0", "under_10", else rounded to the nearest ten ("10", ...)')


class PropertyOut(BaseModel):
    id: int
    street: str
    house_number: str
    postal_code: str
    city: str
    address: str
    entrances: list[EntranceOut]
    gates: list[GateOut]
    municipal_openings: list[OpeningCountOut] = Field(
        description="Kommunens åbninger pr. afsluttet måned, kun som interval / the "
        "municipality's openings per finished month, as a band only"
    )


def module_out(door: m.DoorDevice) -> ModuleOut:
    """A module as the association sees it."""
    return ModuleOut(
        id=door.id,
        kind=door.kind,
        serial=door.serial,
        status=door.status,
        battery_pct=door.battery_pct,
        last_seen_on=service.last_seen_on(door),
        lock_state=door.lock_state,
        door_state=door.door_state,
    )


def property_out(view: service.PropertyView) -> PropertyOut:
    """A property with its entrances, gates, modules and the banded count."""
    p = view.property
    return PropertyOut(
        id=p.id,
        street=p.street,
        house_number=p.house_number,
        postal_code=p.postal_code,
        city=p.city,
        address=service.property_address(p),
        entrances=[
            EntranceOut(
                id=x.entrance.id,
                label=x.entrance.label,
                modules=[module_out(d) for d in x.modules],
            )
            for x in view.entrances
        ],
        gates=[
            GateOut(id=x.gate.id, label=x.gate.label, modules=[module_out(d) for d in x.modules])
            for x in view.gates
        ],
        municipal_openings=[OpeningCountOut(month=c.month, band=c.band) for c in view.openings],
    )


# --- permission requests -----------------------------------------------------------------------


class PermissionRequestOut(BaseModel):
    id: int
    property_id: int
    property_address: str
    covers_entrances: bool
    covers_gates: bool
    status: e.PermissionStatus
    requested_at: dt.datetime
    decided_at: dt.datetime | None
    decided_by_name: str | None
    note: str | None


class PermissionAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decision: service.Decision
    note: str | None = Field(
        default=None,
        max_length=service.MAX_NOTE,
        description="Påkrævet ved afslag / required when refusing",
    )


def permission_out(view: service.PermissionView) -> PermissionRequestOut:
    """A permission request for one of the association's properties."""
    r = view.request
    return PermissionRequestOut(
        id=r.id,
        property_id=view.property.id,
        property_address=service.property_address(view.property),
        covers_entrances=r.covers_entrances,
        covers_gates=r.covers_gates,
        status=r.status,
        requested_at=r.requested_at,
        decided_at=r.decided_at,
        decided_by_name=r.decided_by_name,
        note=r.note,
    )


# --- companies ---------------------------------------------------------------------------------


class CompanyOut(BaseModel):
    id: int
    name: str
    cvr: str | None
    organisation_kind: OrganisationKind
    category: e.PartnerCategory
    status: e.PartnerStatus
    allowed_bases: list[LegalBasis]
    agreements: int = Field(description="Jeres aftaler med firmaet / your agreements with it")
    blocked_by_you: bool


def company_out(view: service.CompanyView) -> CompanyOut:
    """A company of the municipality's register, with the association's agreements."""
    c = view.company
    return CompanyOut(
        id=c.id,
        name=c.name,
        cvr=c.cvr,
        organisation_kind=c.organisation_kind,
        category=c.category,
        status=c.status,
        allowed_bases=sorted(BASES_FOR_CATEGORY.get(c.category, frozenset())),
        agreements=view.agreements,
        blocked_by_you=view.blocked_here,
    )


class CompanyRef(BaseModel):
    id: int
    name: str
    category: e.PartnerCategory


class BlockBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Reason


class CompanyBlockOut(BaseModel):
    company: CompanyRef
    agreement_ids: list[int] = Field(description="De aftaler, der blev ændret / changed")
    denylist_version: int | None = Field(
        description="Ny spærreliste med de udstedte nøgler / the new denylist version with the "
        "credentials already issued (None: none were live)"
    )


def block_out(result: use.CompanyBlock) -> CompanyBlockOut:
    """What blocking or unblocking a company did."""
    c = result.company
    return CompanyBlockOut(
        company=CompanyRef(id=c.id, name=c.name, category=c.category),
        agreement_ids=result.agreement_ids,
        denylist_version=result.denylist_version,
    )


# --- agreements --------------------------------------------------------------------------------


class WindowIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    weekday: int = Field(description="0 = mandag / Monday … 6 = søndag / Sunday")
    start: str = Field(max_length=5, description='"HH:MM", dansk tid / local time')
    end: str = Field(max_length=5, description='"HH:MM" ("24:00": until midnight)')

    def command(self) -> use.WindowSpec:
        return use.WindowSpec(self.weekday, self.start, self.end)


class WindowOut(BaseModel):
    weekday: int
    start: str
    end: str


class DoorsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    property_ids: list[BodyId] = Field(
        default_factory=list,
        max_length=MAX_IDS,
        description="Alle moduler på ejendommen / every module of the property",
    )
    entrance_ids: list[BodyId] = Field(default_factory=list, max_length=MAX_IDS)
    gate_ids: list[BodyId] = Field(default_factory=list, max_length=MAX_IDS)

    def command(self) -> use.DoorChoice:
        return use.DoorChoice(self.property_ids, self.entrance_ids, self.gate_ids)


class AgreementCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    company_id: BodyId
    legal_basis: LegalBasis
    doors: DoorsIn
    windows: list[WindowIn] = Field(max_length=168)
    valid_from: AwareDatetime | None = Field(default=None, description="Uden: fra nu / now")
    valid_until: AwareDatetime | None = None
    reason: Reason

    def command(self) -> use.NewAgreement:
        return use.NewAgreement(
            company_id=self.company_id,
            basis=self.legal_basis,
            doors=self.doors.command(),
            windows=[w.command() for w in self.windows],
            valid_from=self.valid_from,
            valid_until=self.valid_until,
        )


class AgreementUpdate(PartialUpdate):
    _not_null: ClassVar[tuple[str, ...]] = ("doors", "windows", "valid_from")
    doors: DoorsIn | None = None
    windows: list[WindowIn] | None = Field(default=None, max_length=168)
    valid_from: AwareDatetime | None = None
    valid_until: AwareDatetime | None = None
    reason: Reason

    def command(self) -> use.AgreementChanges:
        doors = self.given("doors")
        windows = self.given("windows")
        return use.AgreementChanges(
            doors=doors.command() if isinstance(doors, DoorsIn) else doors,
            windows=[w.command() for w in windows] if isinstance(windows, list) else windows,
            valid_from=self.given("valid_from"),
            valid_until=self.given("valid_until"),
        )


class EndBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Reason


class AgreementDoorOut(BaseModel):
    id: int
    kind: e.DoorKind
    serial: str
    property_id: int
    entrance_id: int | None
    gate_id: int | None
    place: str


class HistoryOut(BaseModel):
    at: dt.datetime
    action: str
    by: str | None = Field(description="None: kommunen / the municipality")
    reason: str | None


class AgreementOut(BaseModel):
    id: int
    company: CompanyRef
    legal_basis: LegalBasis
    requires_errand: bool
    valid_from: dt.datetime
    valid_until: dt.datetime | None
    state: str = Field(description="active, upcoming, ended or blocked")
    blocked: bool
    blocked_reason: str | None
    blocked_at: dt.datetime | None
    doors: list[AgreementDoorOut]
    windows: list[WindowOut]
    created_at: dt.datetime
    history: list[HistoryOut]


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def door_out(place: DoorPlace) -> AgreementDoorOut:
    """A controller an agreement covers, and where it is."""
    return AgreementDoorOut(
        id=place.door.id,
        kind=place.door.kind,
        serial=place.door.serial,
        property_id=place.property.id,
        entrance_id=place.entrance.id if place.entrance else None,
        gate_id=place.gate.id if place.gate else None,
        place=service.address_of(place).text,
    )


def agreement_out(view: use.AgreementView) -> AgreementOut:
    """An agreement with its controllers, windows and history."""
    a, c = view.agreement, view.company
    return AgreementOut(
        id=a.id,
        company=CompanyRef(id=c.id, name=c.name, category=c.category),
        legal_basis=a.legal_basis,
        requires_errand=a.requires_errand,
        valid_from=a.valid_from,
        valid_until=a.valid_until,
        state=view.state,
        blocked=a.blocked,
        blocked_reason=a.blocked_reason,
        blocked_at=a.blocked_at,
        doors=[door_out(p) for p in view.doors],
        windows=[
            WindowOut(weekday=w.weekday, start=_hhmm(w.start_minute), end=_hhmm(w.end_minute))
            for w in view.windows
        ],
        created_at=a.created_at,
        history=[
            HistoryOut(at=h.at, action=h.action, by=h.by, reason=h.reason) for h in view.history
        ],
    )


# --- the partner log ---------------------------------------------------------------------------


class LogRowOut(BaseModel):
    occurred_at: dt.datetime
    action: e.AuditAction
    company_id: int
    company_name: str
    worker_name: str
    door_serial: str
    door_kind: e.DoorKind
    property_id: int
    place: str


def log_row_out(row: LogRow) -> LogRowOut:
    """One partner worker's event at one of the association's controllers."""
    return LogRowOut(
        occurred_at=row.event.occurred_at,
        action=row.event.action,
        company_id=row.company_id,
        company_name=row.company_name,
        worker_name=row.worker_name,
        door_serial=row.place.door.serial,
        door_kind=row.place.door.kind,
        property_id=row.place.property.id,
        place=service.address_of(row.place).text,
    )
