"""All SQL of revocation: live credentials, home locks, open grants and work orders, and the
denylist's versions and entries."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from carekey.domain import enums as e
from carekey.domain.enums import DenylistEntryKind
from carekey.protocol.denylist import PRUNE_MARGIN
from carekey.store import models as m

# --- what a revocation touches -----------------------------------------------------------------


def live_credentials(
    db: Session,
    *,
    now: dt.datetime,
    phone_id: int | None = None,
    employee_id: int | None = None,
    municipality_id: int | None = None,
) -> list[m.IssuedCredential]:
    """The credentials of a phone, an employee or a municipality (the filters given) that have
    not expired at ``now``, revoked or not."""
    statement = select(m.IssuedCredential).where(m.IssuedCredential.expires_at > now)
    if phone_id is not None:
        statement = statement.where(m.IssuedCredential.phone_id == phone_id)
    if employee_id is not None:
        statement = statement.where(m.IssuedCredential.employee_id == employee_id)
    if municipality_id is not None:
        statement = statement.where(m.IssuedCredential.municipality_id == municipality_id)
    return list(db.execute(statement).scalars())


def live_credentials_of_employees(
    db: Session, *, now: dt.datetime, employee_ids: Collection[int]
) -> list[m.IssuedCredential]:
    """The credentials of any of ``employee_ids`` that have not expired at ``now``, revoked or
    not (a partner company's people, blocked together)."""
    if not employee_ids:
        return []
    return list(
        db.execute(
            select(m.IssuedCredential)
            .where(m.IssuedCredential.expires_at > now)
            .where(m.IssuedCredential.employee_id.in_(sorted(employee_ids)))
        ).scalars()
    )


def door_contacts(db: Session, *, door_ids: Collection[int]) -> dict[int, dt.datetime | None]:
    """Each door's last recorded contact (``last_seen_at``), by door id."""
    if not door_ids:
        return {}
    rows = db.execute(
        select(m.DoorDevice.id, m.DoorDevice.last_seen_at).where(
            m.DoorDevice.id.in_(sorted(door_ids))
        )
    ).all()
    return {int(door_id): seen for door_id, seen in rows}


def phone_proofs(db: Session, *, phone_ids: Collection[int]) -> dict[int, dt.datetime | None]:
    """Each phone's last proof-of-freshness expiry (``freshness_expires_at``), by phone id."""
    if not phone_ids:
        return {}
    rows = db.execute(
        select(m.Phone.id, m.Phone.freshness_expires_at).where(m.Phone.id.in_(sorted(phone_ids)))
    ).all()
    return {int(phone_id): expires for phone_id, expires in rows}


def home_lock(db: Session, *, dwelling_id: int) -> m.DoorDevice | None:
    """The dwelling's home lock, unless decommissioned."""
    return db.execute(
        select(m.DoorDevice)
        .where(m.DoorDevice.dwelling_id == dwelling_id)
        .where(m.DoorDevice.status.not_in(e.GONE_DOOR_STATUSES))
    ).scalar_one_or_none()


def open_grants_to(db: Session, *, citizen_id: int) -> list[m.EmergencyKeyGrant]:
    """The emergency keys to a citizen's home that have not been revoked (live or not yet)."""
    return list(
        db.execute(
            select(m.EmergencyKeyGrant)
            .where(m.EmergencyKeyGrant.citizen_id == citizen_id)
            .where(m.EmergencyKeyGrant.revoked_at.is_(None))
        ).scalars()
    )


def ordered_restore_work_orders(db: Session, *, door_device_id: int) -> list[m.WorkOrder]:
    """The door's restore work orders that are ordered and not yet done or cancelled."""
    return list(
        db.execute(
            select(m.WorkOrder)
            .where(m.WorkOrder.door_device_id == door_device_id)
            .where(m.WorkOrder.kind == e.WorkOrderKind.RESTORE)
            .where(m.WorkOrder.status == e.WorkOrderStatus.ORDERED)
        ).scalars()
    )


# --- the denylist ------------------------------------------------------------------------------


def newest_version(db: Session, *, municipality_id: int) -> int | None:
    """The municipality's highest denylist version (None before the first)."""
    return db.execute(
        select(func.max(m.DenylistVersion.version)).where(
            m.DenylistVersion.municipality_id == municipality_id
        )
    ).scalar_one_or_none()


def lock_municipality(db: Session, *, municipality_id: int) -> None:
    """Hold the municipality's row until the transaction ends, so that concurrent revocations
    of one municipality make their versions one after the other (a no-op on SQLite, which has
    one writer)."""
    db.execute(
        select(m.Municipality.id).where(m.Municipality.id == municipality_id).with_for_update()
    )


def version_row(db: Session, *, municipality_id: int, version: int) -> m.DenylistVersion:
    """The row of one denylist version (it must exist)."""
    return db.execute(
        select(m.DenylistVersion).where(
            m.DenylistVersion.municipality_id == municipality_id,
            m.DenylistVersion.version == version,
        )
    ).scalar_one()


def version_row_id(db: Session, *, municipality_id: int, version: int) -> int:
    """The id of one denylist version's row (it must exist)."""
    return db.execute(
        select(m.DenylistVersion.id).where(
            m.DenylistVersion.municipality_id == municipality_id,
            m.DenylistVersion.version == version,
        )
    ).scalar_one()


def entry(
    db: Session, *, municipality_id: int, kind: DenylistEntryKind, key: bytes
) -> m.DenylistEntry | None:
    """The municipality's entry for ``(kind, key)``, removed or not."""
    return db.execute(
        select(m.DenylistEntry).where(
            m.DenylistEntry.municipality_id == municipality_id,
            m.DenylistEntry.entry_kind == kind,
            m.DenylistEntry.entry_key == key,
        )
    ).scalar_one_or_none()


def live_entries(db: Session, *, municipality_id: int, now: dt.datetime) -> list[m.DenylistEntry]:
    """The municipality's entries that are not removed and still matter at ``now``: kept until
    ``expires_at + PRUNE_MARGIN`` (a door whose clock is behind still takes a credential up to
    its clock tolerance past the credential's expiry)."""
    return list(
        db.execute(
            select(m.DenylistEntry).where(
                m.DenylistEntry.municipality_id == municipality_id,
                m.DenylistEntry.removed_in_version.is_(None),
                m.DenylistEntry.expires_at > now - PRUNE_MARGIN,
            )
        ).scalars()
    )


def live_errand_credentials(
    db: Session, *, errand_ids: Collection[int], since: dt.datetime
) -> list[m.IssuedCredential]:
    """The credentials issued for ``errand_ids`` that expire after ``since``."""
    if not errand_ids:
        return []
    return list(
        db.execute(
            select(m.IssuedCredential)
            .where(m.IssuedCredential.errand_id.in_(sorted(errand_ids)))
            .where(m.IssuedCredential.expires_at > since)
        ).scalars()
    )


def live_agreement_credentials(
    db: Session, *, agreement_ids: Collection[int], since: dt.datetime
) -> list[m.IssuedCredential]:
    """The credentials issued under ``agreement_ids`` that expire after ``since``."""
    if not agreement_ids:
        return []
    return list(
        db.execute(
            select(m.IssuedCredential)
            .where(m.IssuedCredential.agreement_id.in_(sorted(agreement_ids)))
            .where(m.IssuedCredential.expires_at > since)
        ).scalars()
    )
