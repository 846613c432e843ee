"""All SQL of the online controllers: doors by issuer code and serial, their denylist state,
the ones gone silent, and what the broker carried that the server refused."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from carekey.domain import enums as e
from carekey.protocol.denylist import PRUNE_MARGIN
from carekey.store import models as m

ONLINE: str = "online"
OFFLINE: str = "offline"
_CONTROLLERS = (e.DoorKind.ENTRANCE_CONTROLLER, e.DoorKind.GATE_CONTROLLER)
_LIVE = (e.DoorStatus.INSTALLED, e.DoorStatus.COMMISSIONED, e.DoorStatus.ACTIVE)


def municipality_by_code(db: Session, code: str) -> m.Municipality | None:
    """The municipality whose issuer code (kommunekode) is ``code``."""
    return db.execute(select(m.Municipality).where(m.Municipality.code == code)).scalar()


def municipality_code(db: Session, municipality_id: int) -> str:
    """The issuer code of a municipality."""
    return db.execute(
        select(m.Municipality.code).where(m.Municipality.id == municipality_id)
    ).scalar_one()


def controller(db: Session, *, municipality_id: int, serial: str) -> m.DoorDevice | None:
    """The municipality's live entrance or gate controller with this serial (a home lock is
    never online: it has no network)."""
    return db.execute(
        select(m.DoorDevice)
        .where(m.DoorDevice.municipality_id == municipality_id)
        .where(m.DoorDevice.serial == serial)
        .where(m.DoorDevice.kind.in_(_CONTROLLERS))
        .where(m.DoorDevice.status.in_(_LIVE))
    ).scalar()


def controllers(
    db: Session, *, municipality_id: int, serials: Collection[str]
) -> dict[str, m.DoorDevice]:
    """``controller`` for many serials at once (a batch of broker messages), by serial."""
    found: dict[str, m.DoorDevice] = {}
    wanted = sorted(set(serials))
    for i in range(0, len(wanted), 500):
        for door in db.execute(
            select(m.DoorDevice)
            .where(m.DoorDevice.municipality_id == municipality_id)
            .where(m.DoorDevice.serial.in_(wanted[i : i + 500]))
            .where(m.DoorDevice.kind.in_(_CONTROLLERS))
            .where(m.DoorDevice.status.in_(_LIVE))
        ).scalars():
            found[door.serial] = door
    return found


def newest_version(db: Session, *, municipality_id: int) -> int:
    """The municipality's newest denylist version (0 before the first)."""
    version = db.execute(
        select(func.max(m.DenylistVersion.version)).where(
            m.DenylistVersion.municipality_id == municipality_id
        )
    ).scalar_one_or_none()
    return int(version or 0)


def delta_rows(
    db: Session, *, municipality_id: int, version: int, now: dt.datetime
) -> tuple[list[m.DenylistEntry], list[m.DenylistEntry]]:
    """The entries ``version`` added (or extended) that still matter at ``now``, and those it
    took off: the changes a delta from ``version - 1`` carries."""
    added = db.execute(
        select(m.DenylistEntry)
        .where(m.DenylistEntry.municipality_id == municipality_id)
        .where(m.DenylistEntry.added_in_version == version)
        .where(m.DenylistEntry.removed_in_version.is_(None))
        .where(m.DenylistEntry.expires_at > now - PRUNE_MARGIN)
    ).scalars()
    removed = db.execute(
        select(m.DenylistEntry)
        .where(m.DenylistEntry.municipality_id == municipality_id)
        .where(m.DenylistEntry.removed_in_version == version)
    ).scalars()
    return list(added), list(removed)


def lagging_controllers(
    db: Session, *, heard_since: dt.datetime, made_before: dt.datetime, limit: int = 500
) -> list[tuple[m.DoorDevice, int]]:
    """Online controllers heard since ``heard_since`` whose signed word says they hold an
    older denylist than their municipality's newest version made before ``made_before`` (a
    version younger than that is still on its way as a delta), with that version."""
    newest = (
        select(
            m.DenylistVersion.municipality_id.label("municipality_id"),
            func.max(m.DenylistVersion.version).label("version"),
        )
        .where(m.DenylistVersion.created_at <= made_before)
        .group_by(m.DenylistVersion.municipality_id)
        .subquery()
    )
    rows = db.execute(
        select(m.DoorDevice, newest.c.version)
        .join(newest, newest.c.municipality_id == m.DoorDevice.municipality_id)
        .where(m.DoorDevice.online_status == ONLINE)
        .where(m.DoorDevice.last_heard_at >= heard_since)
        .where(m.DoorDevice.denylist_version_seen < newest.c.version)
        .order_by(m.DoorDevice.id)
        .limit(limit)
    ).all()
    return [(door, int(version)) for door, version in rows]


def gone_silent(db: Session, *, before: dt.datetime) -> Sequence[m.DoorDevice]:
    """Controllers shown online that have not been heard since ``before``."""
    return (
        db.execute(
            select(m.DoorDevice)
            .where(m.DoorDevice.online_status == ONLINE)
            .where(m.DoorDevice.last_heard_at < before)
            .order_by(m.DoorDevice.id)
        )
        .scalars()
        .all()
    )


def mark_offline(db: Session, *, door_id: int, before: dt.datetime | None) -> bool:
    """Set a door offline if it is shown online (and, with ``before``, still not heard since
    then); True when this call made the change. Several server instances may sweep at once:
    only one of them sees the row change."""
    statement = (
        update(m.DoorDevice)
        .where(m.DoorDevice.id == door_id)
        .where(m.DoorDevice.online_status == ONLINE)
    )
    if before is not None:
        statement = statement.where(m.DoorDevice.last_heard_at < before)
    result = db.execute(
        statement.values(online_status=OFFLINE).execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


def add_refusal(
    db: Session,
    *,
    municipality_id: int | None,
    door_device_id: int | None,
    topic: str,
    code: str,
    at: dt.datetime,
) -> None:
    """Keep what the broker carried that the server refused."""
    db.add(
        m.OnlineRefusal(
            municipality_id=municipality_id,
            door_device_id=door_device_id,
            topic=topic[:256],
            code=code[:64],
            at=at,
        )
    )


def refusals(
    db: Session, *, municipality_id: int, since: dt.datetime, limit: int = 50
) -> list[m.OnlineRefusal]:
    """The municipality's refused broker messages since ``since``, newest first."""
    return list(
        db.execute(
            select(m.OnlineRefusal)
            .where(m.OnlineRefusal.municipality_id == municipality_id)
            .where(m.OnlineRefusal.at >= since)
            .order_by(m.OnlineRefusal.at.desc(), m.OnlineRefusal.id.desc())
            .limit(limit)
        ).scalars()
    )


def fleet_counts(
    db: Session, *, municipality_id: int, heard_since: dt.datetime, version: int
) -> tuple[int, int, int]:
    """(online, up to date among them, offline) controllers of the municipality."""
    base = (
        select(func.count())
        .select_from(m.DoorDevice)
        .where(m.DoorDevice.municipality_id == municipality_id)
    )
    online = base.where(m.DoorDevice.online_status == ONLINE).where(
        m.DoorDevice.last_heard_at >= heard_since
    )
    current = online.where(m.DoorDevice.denylist_version_seen >= version)
    offline = base.where(m.DoorDevice.online_status.is_not(None)).where(
        (m.DoorDevice.online_status == OFFLINE) | (m.DoorDevice.last_heard_at < heard_since)
    )
    return (
        int(db.execute(online).scalar_one()),
        int(db.execute(current).scalar_one()),
        int(db.execute(offline).scalar_one()),
    )
