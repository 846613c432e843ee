"""The municipality's denylist on the server: versioned entries, signed snapshots for phones.

Every change makes a new version. Versions only grow; a door keeps the newest it has seen. An
entry lives until ``expires_at`` — the latest expiry of any credential it can name — and is then
left out of snapshots (the credentials it blocked have died by themselves).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from carekey.domain.enums import DenylistEntryKind, DenylistReason
from carekey.protocol import denylist as proto
from carekey.protocol.keys import IssuerKey
from carekey.revocation import queries
from carekey.store import models as m
from carekey.store.cache import cached

SNAPSHOT_REUSE_S = 60.0

_PROTO_KIND = {
    DenylistEntryKind.CREDENTIAL: proto.EntryKind.CREDENTIAL,
    DenylistEntryKind.DEVICE: proto.EntryKind.DEVICE,
    DenylistEntryKind.SUBJECT: proto.EntryKind.SUBJECT,
    DenylistEntryKind.DOOR: proto.EntryKind.DOOR,
}


@dataclass(frozen=True)
class Entry:
    """One entry to add: what it blocks and until when it matters."""

    kind: DenylistEntryKind
    key: bytes
    expires_at: dt.datetime


def current_version(db: Session, *, municipality_id: int) -> int:
    """The newest denylist version of the municipality (0 before the first entry)."""
    version = queries.newest_version(db, municipality_id=municipality_id)
    return int(version or 0)


def _new_version(db: Session, municipality_id: int, now: dt.datetime) -> int:
    # Serialise concurrent revocations of one municipality (no-op on SQLite, which has one writer).
    queries.lock_municipality(db, municipality_id=municipality_id)
    version = current_version(db, municipality_id=municipality_id) + 1
    db.add(m.DenylistVersion(municipality_id=municipality_id, version=version, created_at=now))
    db.flush()
    return version


def apply_changes(
    db: Session,
    *,
    municipality_id: int,
    reason: DenylistReason,
    now: dt.datetime,
    add: Iterable[Entry] = (),
    remove: Iterable[tuple[DenylistEntryKind, bytes]] = (),
) -> int:
    """Add and take off entries in one new version; returns that version.

    An entry already present is kept (its expiry extended if needed); a removed one comes back.
    """
    adding, removing = list(add), list(remove)
    version = _new_version(db, municipality_id, now)
    for entry in adding:
        row = queries.entry(db, municipality_id=municipality_id, kind=entry.kind, key=entry.key)
        if row is None:
            db.add(
                m.DenylistEntry(
                    municipality_id=municipality_id,
                    entry_kind=entry.kind,
                    entry_key=entry.key,
                    added_in_version=version,
                    reason=reason,
                    expires_at=entry.expires_at,
                    created_at=now,
                )
            )
            continue
        if row.removed_in_version is not None:
            row.removed_in_version = None
            row.added_in_version = version
            row.reason = reason
        row.expires_at = max(row.expires_at, entry.expires_at)
    for kind, key in removing:
        row = queries.entry(db, municipality_id=municipality_id, kind=kind, key=key)
        if row is not None and row.removed_in_version is None:
            row.removed_in_version = version
    db.flush()
    row_version = queries.version_row(db, municipality_id=municipality_id, version=version)
    row_version.entry_count = len(
        queries.live_entries(db, municipality_id=municipality_id, now=now)
    )
    return version


def live_entries(db: Session, *, municipality_id: int, now: dt.datetime) -> list[Entry]:
    """The entries that still matter at ``now``."""
    return [
        Entry(r.entry_kind, r.entry_key, r.expires_at)
        for r in queries.live_entries(db, municipality_id=municipality_id, now=now)
    ]


def signed_snapshot(
    db: Session, *, municipality_id: int, issuer_key: IssuerKey, now: dt.datetime
) -> tuple[int, bytes | None]:
    """The current version and its signed snapshot for phones to carry (None at version 0)."""
    version = current_version(db, municipality_id=municipality_id)
    if version == 0:
        return 0, None
    # A version's entries never change (every change makes a new version), so its signed snapshot
    # can be reused for a minute, keyed by the version row itself.
    row_id = queries.version_row_id(db, municipality_id=municipality_id, version=version)
    data = cached(
        db,
        ("denylist_snapshot", municipality_id, version, row_id),
        SNAPSHOT_REUSE_S,
        lambda: sign_snapshot(
            db, municipality_id=municipality_id, version=version, issuer_key=issuer_key, now=now
        ),
    )
    return version, data


def sign_snapshot(
    db: Session, *, municipality_id: int, version: int, issuer_key: IssuerKey, now: dt.datetime
) -> bytes:
    """A signed snapshot of the entries live at ``now``, as ``version`` (uncached: callers go
    through ``signed_snapshot`` or the same cache entry)."""
    entries = [
        proto.DenylistEntry(_PROTO_KIND[e.kind], e.key, e.expires_at)
        for e in live_entries(db, municipality_id=municipality_id, now=now)
    ]
    return proto.issue_denylist_snapshot(
        issuer_key=issuer_key, version=version, entries=entries, now=now
    )
