"""All SQL of the key service: enrolment codes, the door query of every key bundle, the one-trip
read of a bundle refresh, issued credentials, and the issuer keys.

The bundle path is tuned (docs/benchmarks.md): statements are built once per process and run on
the connection, rows come back as plain tuples in the column order the callers unpack.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Row, Table, and_, bindparam, exists, insert, select, update
from sqlalchemy.orm import Session

from carekey.domain import enums as e
from carekey.domain.enums import IssuerKeyPurpose, IssuerKeyStatus
from carekey.keyservice.bundle import LIVE_DOOR_STATUSES
from carekey.store import models as m

# --- enrolment ---------------------------------------------------------------------------------


def enrolment_code(db: Session, *, code_hash: str) -> m.EnrolmentCode | None:
    """The enrolment code with this hash, used or not."""
    return db.execute(
        select(m.EnrolmentCode).where(m.EnrolmentCode.code_hash == code_hash)
    ).scalar_one_or_none()


def device_key_taken(db: Session, *, public_key: bytes) -> bool:
    """Whether some phone is enrolled with this device key already."""
    return (
        db.execute(select(m.Phone.id).where(m.Phone.public_key == public_key)).first() is not None
    )


# --- the doors of a key bundle -----------------------------------------------------------------

_HOME = m.DoorDevice.__table__.alias("home")
_ENTRANCE_DOOR = m.DoorDevice.__table__.alias("entrance_door")
_GATE_DOOR = m.DoorDevice.__table__.alias("gate_door")
_LIVE = [s.value for s in LIVE_DOOR_STATUSES]


def door_rows(db: Session, *, kind: str, params: dict[str, Any]) -> Sequence[Row[Any]]:
    """Home lock, entrance controller and gate controllers of the selected active citizens, a
    row per citizen and gate in the column order of ``_doors_select``: ``kind="district"`` for
    those of an employee's districts (parameter ``employee_id``), ``kind="grants"`` for given
    citizens of a municipality (``citizen_ids``, ``municipality_id``)."""
    return db.connection().execute(_doors_statement(kind), params).all()


@functools.cache
def _doors_statement(kind: str) -> Any:
    """The door query, built once per process (building this 6-table select cost more Python
    than reading its rows).

    The employee's districts are a subquery: one round trip instead of two. Districts belong to
    the employee's municipality (composite foreign keys), and so do their citizens: no
    municipality condition needed there, and the district index serves the query."""
    table = m.Citizen.__table__
    if kind == "district":
        citizen_filter: Any = table.c.district_id.in_(
            select(m.EmployeeDistrict.district_id).where(
                m.EmployeeDistrict.employee_id == bindparam("employee_id")
            )
        )
    else:
        citizen_filter = and_(
            table.c.id.in_(bindparam("citizen_ids", expanding=True)),
            table.c.municipality_id == bindparam("municipality_id"),
        )
    return _doors_select(citizen_filter)


def _doors_select(citizen_filter: Any) -> Any:
    """Home lock, entrance controller and gate controllers of the selected active citizens who
    have a live installation consent (``consent_record``, not withdrawn).

    One query (a row per citizen and gate), run on the connection rather than through the ORM:
    this is the hot path of every login, bundle and heartbeat. ``citizen_filter`` must keep the
    selection inside one municipality (a district of it, or citizen ids checked against it).

    The selected citizens are a materialised CTE: PostgreSQL then starts from the district
    index (≈ 70 rows) and looks up each citizen's dwelling, entrance and doors by key. Written
    as one flat join, it misjudged the district filter and joined every citizen of the database
    before filtering: ≈ 3x the CPU per bundle, the largest cost of the morning rush."""
    c, dw, en, pr, gt = (
        m.Citizen.__table__,
        m.Dwelling.__table__,
        m.Entrance.__table__,
        m.Property.__table__,
        m.Gate.__table__,
    )
    # No key for a home without the citizen's live consent (issue 16): a citizen without one
    # is left out with their home, entrance and gates (one EXISTS on the consent index).
    cr = m.ConsentRecord.__table__
    consented = (
        exists()
        .where(cr.c.citizen_id == c.c.id)
        .where(cr.c.kind == e.ConsentKind.INSTALLATION.value)
        .where(cr.c.withdrawn_at.is_(None))
    )
    cs = (
        select(c.c.id, c.c.given_name, c.c.family_name, c.c.dwelling_id)
        .where(c.c.status == e.CitizenStatus.ACTIVE.value)
        .where(citizen_filter)
        .where(consented)
        .cte("selected_citizen")
        .prefix_with("MATERIALIZED")
    )
    return (
        select(
            cs.c.id,
            cs.c.given_name,
            cs.c.family_name,
            dw.c.floor,
            dw.c.side,
            en.c.label.label("entrance_label"),
            pr.c.postal_code,
            pr.c.city,
            _HOME.c.id.label("home_id"),
            _HOME.c.serial.label("home_serial"),
            _HOME.c.public_key.label("home_key"),
            _HOME.c.last_event_seq.label("home_seq"),
            _ENTRANCE_DOOR.c.id.label("entrance_door_id"),
            _ENTRANCE_DOOR.c.serial.label("entrance_serial"),
            _ENTRANCE_DOOR.c.public_key.label("entrance_key"),
            _ENTRANCE_DOOR.c.last_event_seq.label("entrance_seq"),
            gt.c.label.label("gate_label"),
            _GATE_DOOR.c.id.label("gate_door_id"),
            _GATE_DOOR.c.serial.label("gate_serial"),
            _GATE_DOOR.c.public_key.label("gate_key"),
            _GATE_DOOR.c.last_event_seq.label("gate_seq"),
        )
        .select_from(cs)
        .join(dw, dw.c.id == cs.c.dwelling_id)
        .join(en, en.c.id == dw.c.entrance_id)
        .join(pr, pr.c.id == en.c.property_id)
        .join(_HOME, and_(_HOME.c.dwelling_id == dw.c.id, _HOME.c.status.in_(_LIVE)))
        .outerjoin(
            _ENTRANCE_DOOR,
            and_(_ENTRANCE_DOOR.c.entrance_id == en.c.id, _ENTRANCE_DOOR.c.status.in_(_LIVE)),
        )
        .outerjoin(gt, gt.c.property_id == pr.c.id)
        .outerjoin(
            _GATE_DOOR, and_(_GATE_DOOR.c.gate_id == gt.c.id, _GATE_DOOR.c.status.in_(_LIVE))
        )
        .order_by(cs.c.id, _GATE_DOOR.c.id)
    )


def active_grants(db: Session, *, employee_id: int, now: dt.datetime) -> list[m.EmergencyKeyGrant]:
    """The employee's emergency keys that are live at ``now``, oldest first."""
    return list(
        db.execute(
            select(m.EmergencyKeyGrant)
            .where(m.EmergencyKeyGrant.employee_id == employee_id)
            .where(m.EmergencyKeyGrant.revoked_at.is_(None))
            .where(m.EmergencyKeyGrant.starts_at <= now)
            .where(m.EmergencyKeyGrant.ends_at > now)
            .order_by(m.EmergencyKeyGrant.id)
        ).scalars()
    )


# --- issuing -----------------------------------------------------------------------------------

_EMPLOYEE = m.Employee.__table__
_PHONE = cast(Table, m.Phone.__table__)
_ISSUED = cast(Table, m.IssuedCredential.__table__)
_MUNICIPALITY = m.Municipality.__table__
_DENYLIST_VERSION = m.DenylistVersion.__table__
_GRANT = m.EmergencyKeyGrant.__table__
_NOW = bindparam("now", type_=_GRANT.c.starts_at.type)


def _newest_denylist(column: Any) -> Any:
    return (
        select(column)
        .where(_DENYLIST_VERSION.c.municipality_id == _EMPLOYEE.c.municipality_id)
        .order_by(_DENYLIST_VERSION.c.version.desc())
        .limit(1)
        .scalar_subquery()
    )


# Everything a bundle refresh needs to know before the door query, in one round trip: the
# session's employee and phone (status, epoch, key), the municipality's key lifetime, the newest
# denylist version (and its row, which keys the cached signed pieces), whether the employee
# has any live emergency key at all, the phone's last proof expiry and the key-app policy.
_REFRESH_STATEMENT = (
    select(
        _EMPLOYEE.c.status,
        _EMPLOYEE.c.session_epoch,
        _EMPLOYEE.c.municipality_id,
        _EMPLOYEE.c.full_name,
        _PHONE.c.status,
        _PHONE.c.session_epoch,
        _PHONE.c.public_key,
        _PHONE.c.bundle_digest,
        _PHONE.c.bundle_expires_at,
        _PHONE.c.last_seen_at,
        _MUNICIPALITY.c.key_lifetime_minutes,
        _newest_denylist(_DENYLIST_VERSION.c.version),
        _newest_denylist(_DENYLIST_VERSION.c.id),
        exists()
        .where(_GRANT.c.employee_id == _EMPLOYEE.c.id)
        .where(_GRANT.c.revoked_at.is_(None))
        .where(_GRANT.c.starts_at <= _NOW)
        .where(_GRANT.c.ends_at > _NOW),
        _PHONE.c.freshness_expires_at,
        _MUNICIPALITY.c.freshness_lifetime_s,
        _MUNICIPALITY.c.seal_after_s,
        _MUNICIPALITY.c.freshness_warn_s,
        _EMPLOYEE.c.partner_company_id,
    )
    .select_from(_EMPLOYEE)
    .join(_MUNICIPALITY, _MUNICIPALITY.c.id == _EMPLOYEE.c.municipality_id)
    .join(_PHONE, _PHONE.c.id == bindparam("phone_id"))
    .where(_EMPLOYEE.c.id == bindparam("employee_id"))
)


def refresh_row(
    db: Session, *, employee_id: int, phone_id: int, now: dt.datetime
) -> Row[*tuple[Any, ...]] | None:
    """What a bundle refresh reads before the door query, in the column order of
    ``_REFRESH_STATEMENT`` (employee status, epoch, municipality, name; phone status, epoch,
    key, bundle digest, bundle expiry, last seen; key lifetime; newest denylist version and its
    row id; whether a live emergency key exists; the phone's last proof-of-freshness expiry; the
    policy's freshness lifetime, seal-after and warn seconds); None for an unknown employee."""
    return db.execute(
        _REFRESH_STATEMENT, {"employee_id": employee_id, "phone_id": phone_id, "now": now}
    ).first()


def insert_issued_credentials(db: Session, rows: list[dict[str, Any]]) -> None:
    """Record the credentials of a bundle (``issued_credential`` column names as keys)."""
    # A Core insert on the connection: the ORM's bulk-insert path costs more than the
    # statement itself here, and there is no ORM object to keep in step.
    db.connection().execute(insert(_ISSUED), rows)


def update_phone(db: Session, *, phone_id: int, values: dict[str, Any]) -> None:
    """Set ``phone`` columns of one phone without loading it."""
    db.execute(update(_PHONE).where(_PHONE.c.id == phone_id).values(**values))


# --- the key-app policy -----------------------------------------------------------------------


def municipality_by_code(db: Session, *, code: str) -> m.Municipality | None:
    """The municipality with this kommunekode."""
    return db.execute(
        select(m.Municipality).where(m.Municipality.code == code)
    ).scalar_one_or_none()


# --- issuer keys -------------------------------------------------------------------------------


def active_issuer_key(
    db: Session, *, municipality_id: int, purpose: IssuerKeyPurpose = IssuerKeyPurpose.HOME_CARE
) -> Row[bytes, bytes | None, str] | None:
    """The municipality's active issuer key for ``purpose``: ``kid``, ``private_key_sealed``
    and the municipality's ``code``."""
    return db.execute(
        select(m.IssuerKey.kid, m.IssuerKey.private_key_sealed, m.Municipality.code)
        .join(m.Municipality, m.Municipality.id == m.IssuerKey.municipality_id)
        .where(m.IssuerKey.municipality_id == municipality_id)
        .where(m.IssuerKey.status == IssuerKeyStatus.ACTIVE)
        .where(m.IssuerKey.purpose == purpose)
    ).one_or_none()


def issuer_keys(
    db: Session, *, municipality_id: int, purpose: IssuerKeyPurpose = IssuerKeyPurpose.HOME_CARE
) -> Sequence[Row[bytes, IssuerKeyStatus, str]]:
    """Every issuer key of the municipality for ``purpose``: ``public_key``, ``status`` and
    the municipality's ``code``."""
    return db.execute(
        select(m.IssuerKey.public_key, m.IssuerKey.status, m.Municipality.code)
        .join(m.Municipality, m.Municipality.id == m.IssuerKey.municipality_id)
        .where(m.IssuerKey.municipality_id == municipality_id)
        .where(m.IssuerKey.purpose == purpose)
    ).all()


def issuer_key_row(db: Session, *, municipality_id: int, kid: bytes) -> m.IssuerKey:
    """The municipality's issuer key with this key id."""
    return db.execute(
        select(m.IssuerKey)
        .where(m.IssuerKey.municipality_id == municipality_id)
        .where(m.IssuerKey.kid == kid)
    ).scalar_one()


def municipalities_with_seeded_active_keys(db: Session) -> list[str]:
    """The codes of the municipalities with an active issuer key made by ``carekey seed``."""
    return list(
        db.execute(
            select(m.Municipality.code)
            .join(m.IssuerKey, m.IssuerKey.municipality_id == m.Municipality.id)
            .where(m.IssuerKey.status == IssuerKeyStatus.ACTIVE)
            .where(m.IssuerKey.seeded.is_(True))
            .distinct()
            .order_by(m.Municipality.code)
        ).scalars()
    )
