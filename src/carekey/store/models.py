"""The whole data model of CareKey, as typed SQLAlchemy 2 models.

Structural invariants are stated twice on purpose: in ``carekey.domain.rules`` (checked before a
flush, with a clear Danish/English message) and as database constraints (so that no code path,
bulk insert or manual SQL can break them). See ``docs/data-model.md`` for the picture.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    event,
    text,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from carekey.domain import enums as e
from carekey.domain.rules import check_door_placement
from carekey.store.account_models import JobTitleRole, PasswordLink

# The base, the naming convention and the column helpers live in ``store.base``; the partner
# tables in ``store.partner_models`` (re-exported here: ``models.Agreement`` and so on).
from carekey.store.base import NAMING_CONVENTION, Base, BigId, _created
from carekey.store.installation_models import (
    ConsentRecord,
    OnlineRefusal,
    PermissionRequest,
    WorkOrder,
)
from carekey.store.partner_models import (
    Agreement,
    AgreementDoor,
    AgreementWindow,
    Errand,
    PartnerCompany,
)
from carekey.store.types import str_enum
from carekey.store.webhook_models import (
    WebhookAttempt,
    WebhookDelivery,
    WebhookEvent,
    WebhookSecret,
    WebhookSubscription,
)

__all__ = [
    "NAMING_CONVENTION",
    "Agreement",
    "AgreementDoor",
    "AgreementWindow",
    "Base",
    "BigId",
    "ConsentRecord",
    "Errand",
    "JobTitleRole",
    "OnlineRefusal",
    "PartnerCompany",
    "PasswordLink",
    "PermissionRequest",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEvent",
    "WebhookSecret",
    "WebhookSubscription",
    "WorkOrder",
]


# --- tenants, keys and districts ---------------------------------------------------------------


class Municipality(Base):
    """A municipality (kommune): the tenant. It issues the keys and pays for the installations."""

    __tablename__ = "municipality"
    __table_args__ = (
        CheckConstraint("key_lifetime_minutes BETWEEN 1 AND 540", name="key_lifetime_max_9h"),
        CheckConstraint("heartbeat_interval_s BETWEEN 10 AND 3600", name="heartbeat_range"),
        CheckConstraint("emergency_key_max_minutes BETWEEN 1 AND 540", name="emergency_max"),
        CheckConstraint("wrong_code_limit BETWEEN 1 AND 20", name="wrong_code_limit_range"),
        CheckConstraint("freshness_lifetime_s BETWEEN 300 AND 7200", name="freshness_range"),
        CheckConstraint("seal_after_s BETWEEN 30 AND 1800", name="seal_after_range"),
        CheckConstraint(
            "freshness_warn_s >= 0 AND freshness_warn_s < freshness_lifetime_s",
            name="freshness_warn_range",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(4), unique=True)  # the official kommunekode
    name: Mapped[str] = mapped_column(String(100))
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Copenhagen")
    key_lifetime_minutes: Mapped[int] = mapped_column(default=540)
    heartbeat_interval_s: Mapped[int] = mapped_column(default=60)
    emergency_key_max_minutes: Mapped[int] = mapped_column(default=480)
    wrong_code_limit: Mapped[int] = mapped_column(default=5)
    # The key app's offline trust (issue 12): proof-of-freshness lifetime, idle seconds before
    # the keys are sealed again (personal code), and how early the worker is warned.
    freshness_lifetime_s: Mapped[int] = mapped_column(default=3300, server_default=text("3300"))
    seal_after_s: Mapped[int] = mapped_column(default=180, server_default=text("180"))
    freshness_warn_s: Mapped[int] = mapped_column(default=900, server_default=text("900"))
    created_at: Mapped[dt.datetime] = _created()


class IssuerKey(Base):
    """A municipality's credential-signing key (Ed25519). Rotation: next → active → retired."""

    __tablename__ = "issuer_key"
    __table_args__ = (UniqueConstraint("municipality_id", "kid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id"), index=True)
    kid: Mapped[bytes] = mapped_column(LargeBinary(16))
    algorithm: Mapped[str] = mapped_column(String(16), default="Ed25519")
    public_key: Mapped[bytes] = mapped_column(LargeBinary(64))
    # The private key sealed (AES-GCM) under the server's key-encryption key; never stored plain.
    private_key_sealed: Mapped[bytes | None] = mapped_column(LargeBinary(256))
    status: Mapped[e.IssuerKeyStatus] = mapped_column(str_enum(e.IssuerKeyStatus, "status"))
    # home_care keys are trusted by every door; the partner key only by entrance and gate
    # controllers, and only for partner credentials (docs/protocol.md, "The partner issuer").
    purpose: Mapped[e.IssuerKeyPurpose] = mapped_column(
        str_enum(e.IssuerKeyPurpose, "purpose"),
        default=e.IssuerKeyPurpose.HOME_CARE,
        server_default=text("'home_care'"),
    )
    # Derived from a seed's random draw (``carekey seed``: demo and test data): a server outside
    # development refuses to sign with such a key (issue 18).
    seeded: Mapped[bool] = mapped_column(default=False, server_default="0")
    created_at: Mapped[dt.datetime] = _created()
    activated_at: Mapped[dt.datetime | None]
    retired_at: Mapped[dt.datetime | None]


class District(Base):
    """A home-care district (hjemmeplejedistrikt) of a municipality."""

    __tablename__ = "district"
    __table_args__ = (
        UniqueConstraint("municipality_id", "code"),
        UniqueConstraint("id", "municipality_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id"), index=True)
    code: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(100))


# --- municipal staff and their phones ----------------------------------------------------------


class Employee(Base):
    """A municipal employee. Belongs to exactly one municipality."""

    __tablename__ = "employee"
    __table_args__ = (
        UniqueConstraint("municipality_id", "employee_number"),
        UniqueConstraint("id", "municipality_id"),
        CheckConstraint(
            "housing_association_id IS NULL OR partner_company_id IS NULL",
            name="one_organisation",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id"), index=True)
    employee_number: Mapped[str] = mapped_column(String(32))
    full_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    totp_secret_sealed: Mapped[bytes | None] = mapped_column(LargeBinary(128))
    # The last TOTP time step accepted (unix time // 30): a code works once.
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[e.EmployeeStatus] = mapped_column(
        str_enum(e.EmployeeStatus, "status"), default=e.EmployeeStatus.ACTIVE
    )
    blocked_reason: Mapped[str | None] = mapped_column(Text)
    blocked_at: Mapped[dt.datetime | None]
    # Bumped whenever the employee is blocked or unblocked: older sessions stop working.
    session_epoch: Mapped[int] = mapped_column(default=0)
    # Issue 18: a password an administrator set (one-time) must be replaced at the next sign-in,
    # in the administration or the key app; when the password was last set, and by whom's hand.
    password_must_change: Mapped[bool] = mapped_column(default=False, server_default="0")
    password_changed_at: Mapped[dt.datetime | None]
    # The first day of employment (the HR export's ``Startdato``): no keys before it.
    starts_on: Mapped[dt.date | None]
    # A user of another party (issue 15): a housing association's user, or a partner company's
    # administrator or worker. Never both; such a person is never in a district and never
    # holds a key to a home (``carekey.access``, ``keyservice.bundle_doors``).
    housing_association_id: Mapped[int | None] = mapped_column(
        ForeignKey("housing_association.id"), index=True
    )
    partner_company_id: Mapped[int | None] = mapped_column(
        ForeignKey("partner_company.id"), index=True
    )
    created_at: Mapped[dt.datetime] = _created()

    roles: Mapped[list[EmployeeRole]] = relationship(cascade="all, delete-orphan", lazy="selectin")


class OfficeSession(Base):
    """A signed-in office session (administration UI or API token). Signing out ends it here,
    so a copied cookie or token stops working at once."""

    __tablename__ = "office_session"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("employee.id"), index=True)
    kind: Mapped[str] = mapped_column(String(8))  # "web" or "api"
    created_at: Mapped[dt.datetime] = _created()
    expires_at: Mapped[dt.datetime]
    ended_at: Mapped[dt.datetime | None]


class EmployeeRole(Base):
    __tablename__ = "employee_role"

    employee_id: Mapped[int] = mapped_column(ForeignKey("employee.id"), primary_key=True)
    role: Mapped[e.Role] = mapped_column(str_enum(e.Role, "role"), primary_key=True)


class EmployeeDistrict(Base):
    """Which districts an employee works in. Both sides must be of the same municipality."""

    __tablename__ = "employee_district"
    __table_args__ = (
        ForeignKeyConstraint(
            ["employee_id", "municipality_id"], ["employee.id", "employee.municipality_id"]
        ),
        ForeignKeyConstraint(
            ["district_id", "municipality_id"], ["district.id", "district.municipality_id"]
        ),
    )

    employee_id: Mapped[int] = mapped_column(primary_key=True)
    district_id: Mapped[int] = mapped_column(primary_key=True, index=True)
    municipality_id: Mapped[int]


class Phone(Base):
    """An enrolled municipal work phone. Its device key never leaves the phone."""

    __tablename__ = "phone"
    __table_args__ = (
        ForeignKeyConstraint(
            ["employee_id", "municipality_id"], ["employee.id", "employee.municipality_id"]
        ),
        UniqueConstraint("municipality_id", "label"),
        UniqueConstraint("id", "municipality_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id"), index=True)
    employee_id: Mapped[int | None] = mapped_column(index=True)
    label: Mapped[str] = mapped_column(String(64))  # asset tag on the phone
    model: Mapped[str | None] = mapped_column(String(64))
    public_key: Mapped[bytes | None] = mapped_column(LargeBinary(128), unique=True)  # P-256 SPKI
    status: Mapped[e.PhoneStatus] = mapped_column(
        str_enum(e.PhoneStatus, "status"), default=e.PhoneStatus.ACTIVE
    )
    blocked_reason: Mapped[str | None] = mapped_column(Text)
    enrolled_at: Mapped[dt.datetime | None]
    last_seen_at: Mapped[dt.datetime | None]
    # Bumped whenever the phone is blocked or unblocked: older app sessions stop working.
    session_epoch: Mapped[int] = mapped_column(default=0)
    # What the phone holds now: a digest of its key set, so a heartbeat can say REFRESH.
    bundle_digest: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    bundle_expires_at: Mapped[dt.datetime | None]
    # The expiry of the last proof of freshness issued to this phone (exact: see keyservice).
    freshness_expires_at: Mapped[dt.datetime | None]
    # A partner company's phone (issue 15): only that company's workers log in on it, and a
    # municipal worker never does.
    partner_company_id: Mapped[int | None] = mapped_column(
        ForeignKey("partner_company.id"), index=True
    )
    created_at: Mapped[dt.datetime] = _created()


class EnrolmentCode(Base):
    """A one-time, expiring code an administrator hands out to enrol a phone."""

    __tablename__ = "enrolment_code"
    __table_args__ = (
        ForeignKeyConstraint(
            ["phone_id", "municipality_id"], ["phone.id", "phone.municipality_id"]
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id"), index=True)
    phone_id: Mapped[int] = mapped_column(index=True)
    code_hash: Mapped[str] = mapped_column(String(128), unique=True)
    created_by_employee_id: Mapped[int | None] = mapped_column(ForeignKey("employee.id"))
    created_at: Mapped[dt.datetime] = _created()
    expires_at: Mapped[dt.datetime]
    used_at: Mapped[dt.datetime | None]


# --- buildings, homes and citizens -------------------------------------------------------------


class HousingAssociation(Base):
    """A housing association (boligforening) that owns properties and permits stairwell modules."""

    __tablename__ = "housing_association"
    __table_args__ = (UniqueConstraint("municipality_id", "cvr"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # The municipality that runs the key system for the association's properties there.
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    cvr: Mapped[str | None] = mapped_column(String(8))
    contact_email: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = _created()


class Property(Base):
    """A building or block (ejendom) at one street address."""

    __tablename__ = "property"
    __table_args__ = (UniqueConstraint("municipality_id", "street", "house_number", "postal_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id"), index=True)
    housing_association_id: Mapped[int | None] = mapped_column(
        ForeignKey("housing_association.id"), index=True
    )
    street: Mapped[str] = mapped_column(String(120))
    house_number: Mapped[str] = mapped_column(String(16))
    postal_code: Mapped[str] = mapped_column(String(4))
    city: Mapped[str] = mapped_column(String(64))


class Entrance(Base):
    """A stairwell door (opgangsdør) of a property."""

    __tablename__ = "entrance"
    __table_args__ = (UniqueConstraint("property_id", "label"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    property_id: Mapped[int] = mapped_column(ForeignKey("property.id"), index=True)
    label: Mapped[str] = mapped_column(String(64))  # e.g. "Nørrebrogade 12A"


class Gate(Base):
    """A gate (port) into a property's courtyard."""

    __tablename__ = "gate"
    __table_args__ = (UniqueConstraint("property_id", "label"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    property_id: Mapped[int] = mapped_column(ForeignKey("property.id"), index=True)
    label: Mapped[str] = mapped_column(String(64))


class Dwelling(Base):
    """A flat or house (bolig), reached through one entrance."""

    __tablename__ = "dwelling"
    __table_args__ = (UniqueConstraint("entrance_id", "floor", "side"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entrance_id: Mapped[int] = mapped_column(ForeignKey("entrance.id"), index=True)
    floor: Mapped[str] = mapped_column(String(8))  # "st", "1", "2", ...
    side: Mapped[str] = mapped_column(String(8))  # "tv", "th", "mf" or a door number


class Citizen(Base):
    """A citizen (borger) who receives home care. No CPR number is stored, on purpose."""

    __tablename__ = "citizen"
    __table_args__ = (
        ForeignKeyConstraint(
            ["district_id", "municipality_id"], ["district.id", "district.municipality_id"]
        ),
        UniqueConstraint("id", "municipality_id"),
        # Key bundles select the active citizens of a few districts.
        Index("ix_citizen_district_status", "district_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id"), index=True)
    district_id: Mapped[int] = mapped_column()
    dwelling_id: Mapped[int | None] = mapped_column(ForeignKey("dwelling.id"), index=True)
    given_name: Mapped[str] = mapped_column(String(100))
    family_name: Mapped[str] = mapped_column(String(100))
    status: Mapped[e.CitizenStatus] = mapped_column(
        str_enum(e.CitizenStatus, "status"), default=e.CitizenStatus.PENDING
    )
    created_at: Mapped[dt.datetime] = _created()
    removed_at: Mapped[dt.datetime | None]


# --- door devices ------------------------------------------------------------------------------

_PLACEMENT_SQL = (
    "(kind = 'home_lock' AND entrance_id IS NULL AND gate_id IS NULL)"
    " OR (kind = 'entrance_controller' AND dwelling_id IS NULL AND gate_id IS NULL)"
    " OR (kind = 'gate_controller' AND dwelling_id IS NULL AND entrance_id IS NULL)"
)
_PLACED_SQL = (
    "status IN ('stock', 'decommissioned', 'scrapped')"
    " OR dwelling_id IS NOT NULL OR entrance_id IS NOT NULL OR gate_id IS NOT NULL"
)


class DoorDevice(Base):
    """A home lock (motor turner), an entrance controller or a gate controller."""

    __tablename__ = "door_device"
    __table_args__ = (
        CheckConstraint(_PLACEMENT_SQL, name="placement_matches_kind"),
        CheckConstraint(_PLACED_SQL, name="installed_is_placed"),
        CheckConstraint("battery_pct BETWEEN 0 AND 100", name="battery_pct_range"),
        UniqueConstraint("id", "kind"),
        # A dwelling has at most one live home lock: the old one is decommissioned first.
        Index(
            "uq_door_device_live_dwelling",
            "dwelling_id",
            unique=True,
            sqlite_where=text("status != 'decommissioned'"),
            postgresql_where=text("status != 'decommissioned'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id"), index=True)
    kind: Mapped[e.DoorKind] = mapped_column(str_enum(e.DoorKind, "kind"))
    serial: Mapped[str] = mapped_column(String(32), unique=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary(64))  # Ed25519, signs events/receipts
    firmware_version: Mapped[str] = mapped_column(String(32))
    status: Mapped[e.DoorStatus] = mapped_column(
        str_enum(e.DoorStatus, "status"), default=e.DoorStatus.STOCK
    )
    # A plain index too: the partial unique index cannot serve "live door of this dwelling".
    dwelling_id: Mapped[int | None] = mapped_column(ForeignKey("dwelling.id"), index=True)
    entrance_id: Mapped[int | None] = mapped_column(ForeignKey("entrance.id"), index=True)
    gate_id: Mapped[int | None] = mapped_column(ForeignKey("gate.id"), index=True)
    battery_pct: Mapped[int | None]
    clock_offset_ms: Mapped[int | None]
    last_seen_at: Mapped[dt.datetime | None]
    last_event_seq: Mapped[int] = mapped_column(BigId, default=0)
    # The installer's visits (issue 16): set by commissioning and decommissioning.
    commissioned_at: Mapped[dt.datetime | None]
    decommissioned_at: Mapped[dt.datetime | None]
    denylist_version_seen: Mapped[int] = mapped_column(default=0)
    # From the door's signed events (ingest): the bolt and the door leaf, None until reported.
    lock_state: Mapped[e.LockState | None] = mapped_column(str_enum(e.LockState, "lock_state"))
    door_state: Mapped[e.DoorSensorState | None] = mapped_column(
        str_enum(e.DoorSensorState, "door_state")
    )
    # Events the door evicted from its ring before any phone read them (READ_EVENTS answer).
    events_dropped: Mapped[int] = mapped_column(BigId, default=0, server_default=text("0"))
    installed_at: Mapped[dt.datetime | None]
    # Online controllers (issue 17): from the door's own signed reports over the broker.
    # ``online_status`` is None for a door that has never been online (phones only).
    online_status: Mapped[str | None] = mapped_column(String(16))
    last_heard_at: Mapped[dt.datetime | None]
    last_report_ms: Mapped[int | None] = mapped_column(BigId)
    online_connection: Mapped[bytes | None] = mapped_column(LargeBinary(8))
    created_at: Mapped[dt.datetime] = _created()

    def check_invariants(self) -> None:
        check_door_placement(
            kind=e.DoorKind(self.kind),
            status=e.DoorStatus(self.status or e.DoorStatus.STOCK),
            dwelling_id=self.dwelling_id,
            entrance_id=self.entrance_id,
            gate_id=self.gate_id,
        )


# --- keys, revocation and the audit trail ------------------------------------------------------


class EmergencyKeyGrant(Base):
    """An emergency key (akutnøgle): a named employee, one citizen outside their district, for a
    limited time, with a reason."""

    __tablename__ = "emergency_key_grant"
    __table_args__ = (
        ForeignKeyConstraint(
            ["employee_id", "municipality_id"], ["employee.id", "employee.municipality_id"]
        ),
        ForeignKeyConstraint(
            ["citizen_id", "municipality_id"], ["citizen.id", "citizen.municipality_id"]
        ),
        CheckConstraint("ends_at > starts_at", name="validity"),
        CheckConstraint("length(reason) > 0", name="reason_given"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id"), index=True)
    employee_id: Mapped[int] = mapped_column(index=True)
    citizen_id: Mapped[int] = mapped_column(index=True)
    granted_by_employee_id: Mapped[int] = mapped_column(ForeignKey("employee.id"))
    reason: Mapped[str] = mapped_column(Text)
    starts_at: Mapped[dt.datetime]
    ends_at: Mapped[dt.datetime]
    revoked_at: Mapped[dt.datetime | None]
    revoked_by_employee_id: Mapped[int | None] = mapped_column(ForeignKey("employee.id"))
    created_at: Mapped[dt.datetime] = _created()


class IssuedCredential(Base):
    """A credential the server signed and handed to a phone. Kept so that it can be denylisted
    and so that an administrator can see which doors may still accept a blocked phone."""

    __tablename__ = "issued_credential"
    __table_args__ = (
        # A partner worker is an ``employee`` row of a partner company (issue 15).
        CheckConstraint("employee_id IS NOT NULL", name="one_subject"),
        # Only the municipality's own employees ever get keys to homes.
        CheckConstraint(
            "subject_type = 'employee' OR kind IN ('entrance', 'gate')", name="homes_staff_only"
        ),
        CheckConstraint("expires_at > not_before", name="validity"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    credential_id: Mapped[bytes] = mapped_column(LargeBinary(16), unique=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id"), index=True)
    issuer_kid: Mapped[bytes] = mapped_column(LargeBinary(16))
    subject_type: Mapped[e.SubjectType] = mapped_column(str_enum(e.SubjectType, "subject_type"))
    employee_id: Mapped[int | None] = mapped_column(ForeignKey("employee.id"), index=True)
    phone_id: Mapped[int | None] = mapped_column(ForeignKey("phone.id"), index=True)
    emergency_grant_id: Mapped[int | None] = mapped_column(ForeignKey("emergency_key_grant.id"))
    # A partner worker's credential is issued under one agreement (and, for a delivery to a
    # named resident, one errand): blocking or ending the agreement revokes exactly these.
    agreement_id: Mapped[int | None] = mapped_column(ForeignKey("agreement.id"), index=True)
    errand_id: Mapped[int | None] = mapped_column(ForeignKey("errand.id"))
    kind: Mapped[e.CredentialKind] = mapped_column(str_enum(e.CredentialKind, "kind"))
    serial: Mapped[int] = mapped_column(BigId)
    denylist_version: Mapped[int]
    # The door devices the credential opens: one for an emergency key, a shift's worth for a
    # bundle (one signature over a Merkle tree of doors; see docs/protocol.md).
    door_device_ids: Mapped[list[int]] = mapped_column(JSON)
    not_before: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime] = mapped_column(index=True)
    issued_at: Mapped[dt.datetime] = _created()
    revoked_at: Mapped[dt.datetime | None]


class DenylistVersion(Base):
    """One published version of a municipality's denylist; doors only move forward."""

    __tablename__ = "denylist_version"
    __table_args__ = (UniqueConstraint("municipality_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id"))
    version: Mapped[int]
    entry_count: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[dt.datetime] = _created()


class DenylistEntry(Base):
    """A revoked credential, phone key or subject. Pruned once ``expires_at`` has passed: by then
    every credential it could name has expired by itself."""

    __tablename__ = "denylist_entry"
    __table_args__ = (UniqueConstraint("municipality_id", "entry_kind", "entry_key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id"))
    entry_kind: Mapped[e.DenylistEntryKind] = mapped_column(
        str_enum(e.DenylistEntryKind, "entry_kind")
    )
    # credential id (16 bytes), the phone's device-key id, or the subject id (both 32 bytes)
    entry_key: Mapped[bytes] = mapped_column(LargeBinary(32))
    added_in_version: Mapped[int]
    removed_in_version: Mapped[int | None]
    reason: Mapped[e.DenylistReason] = mapped_column(str_enum(e.DenylistReason, "reason"))
    expires_at: Mapped[dt.datetime] = mapped_column(index=True)
    created_at: Mapped[dt.datetime] = _created()


class AuditEvent(Base):
    """One thing that happened at a door or in the app: who, which door, when, and what."""

    __tablename__ = "audit_event"
    __table_args__ = (
        UniqueConstraint("door_device_id", "door_seq"),
        Index("ix_audit_event_municipality_time", "municipality_id", "occurred_at"),
        Index("ix_audit_event_door_time", "door_device_id", "occurred_at"),
        Index("ix_audit_event_employee_time", "employee_id", "occurred_at"),
        Index("ix_audit_event_citizen_time", "citizen_id", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id"))
    source: Mapped[e.AuditSource] = mapped_column(str_enum(e.AuditSource, "source"))
    action: Mapped[e.AuditAction] = mapped_column(str_enum(e.AuditAction, "action"))
    door_device_id: Mapped[int | None] = mapped_column(ForeignKey("door_device.id"))
    employee_id: Mapped[int | None] = mapped_column(ForeignKey("employee.id"))
    citizen_id: Mapped[int | None] = mapped_column(ForeignKey("citizen.id"))
    phone_id: Mapped[int | None] = mapped_column(ForeignKey("phone.id"))
    credential_id: Mapped[bytes | None] = mapped_column(LargeBinary(16))
    reason_code: Mapped[str | None] = mapped_column(String(64))
    occurred_at: Mapped[dt.datetime]
    received_at: Mapped[dt.datetime] = _created()
    door_seq: Mapped[int | None] = mapped_column(BigId)
    prev_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    event_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    signature: Mapped[bytes | None] = mapped_column(LargeBinary(64))
    raw: Mapped[bytes | None] = mapped_column(LargeBinary(1024))
    idempotency_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    chain_gap: Mapped[bool] = mapped_column(Boolean, default=False)
    chain_broken: Mapped[bool] = mapped_column(Boolean, default=False)


class AdminAction(Base):
    """Every administrative action: who did what to whom, when and why."""

    __tablename__ = "admin_action"
    __table_args__ = (Index("ix_admin_action_municipality_at", "municipality_id", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    municipality_id: Mapped[int | None] = mapped_column(ForeignKey("municipality.id"))
    actor_employee_id: Mapped[int | None] = mapped_column(ForeignKey("employee.id"))
    actor_label: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str] = mapped_column(String(64))
    target_id: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any] | None]
    at: Mapped[dt.datetime] = _created()


# --- installation lifecycle --------------------------------------------------------------------


@event.listens_for(Session, "before_flush")
def _check_invariants_before_flush(session: Session, _context: object, _instances: object) -> None:
    """Every new or changed object states its invariants before anything reaches the database."""
    for obj in (*session.new, *session.dirty):
        if isinstance(obj, Base):
            obj.check_invariants()
