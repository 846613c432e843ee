"""The municipality's denylist on the server: versioned entries, signed snapshots for phones.

Every change makes a new version. Versions only grow; a door keeps the newest it has seen. An
entry lives until ``expires_at`` — the latest expiry of any credential it can name — plus
``PRUNE_MARGIN`` (the largest clock tolerance any door applies: a door whose clock is behind
still takes a credential a little past its expiry), and is then left out of snapshots.

Phones carry the list as signed *pieces* (``protocol.denylist.issue_denylist_pieces``): a list
that fits one Bluetooth message is one piece, the same bytes as the full snapshot.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from carekey.domain.enums import DenylistEntryKind, DenylistReason
from carekey.online import signals as online
from carekey.protocol import denylist as proto
from carekey.protocol.keys import IssuerKey
from carekey.revocation import queries
from carekey.store import models as m
from carekey.store.cache import cached

SNAPSHOT_REUSE_S = 60.0
# Entries are kept this long past their expiry (every door's clock tolerance past a credential's
# expiry, at most ``timetoken.MAX_TOLERANCE``).
PRUNE_MARGIN = proto.PRUNE_MARGIN

_PROTO_KIND = {
    DenylistEntryKind.CREDENTIAL: proto.EntryKind.CREDENTIAL,
    DenylistEntryKind.DEVICE: proto.EntryKind.DEVICE,
    DenylistEntryKind.SUBJECT: proto.EntryKind.SUBJECT,
    DenylistEntryKind.DOOR: proto.EntryKind.DOOR,
}


@dataclass(frozen=True, slots=True)
class SignedDenylist:
    """The current version signed as pieces for phones to carry (none at version 0)."""

    version: int
    pieces: tuple[proto.DenylistPiece, ...] = ()

    @property
    def snapshot(self) -> bytes | None:
        """The full snapshot, when the whole list is one piece (for older apps)."""
        if len(self.pieces) == 1 and self.pieces[0].lo == 0:
            return self.pieces[0].data
        return None


NO_DENYLIST = SignedDenylist(0)


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
        if entry.expires_at > row.expires_at:
            # A longer life is a change the version carries (an online controller's delta).
            row.expires_at = entry.expires_at
            row.added_in_version = version
    for kind, key in removing:
        row = queries.entry(db, municipality_id=municipality_id, kind=kind, key=key)
        if row is not None and row.removed_in_version is None:
            row.removed_in_version = version
    db.flush()
    row_version = queries.version_row(db, municipality_id=municipality_id, version=version)
    row_version.entry_count = len(
        queries.live_entries(db, municipality_id=municipality_id, now=now)
    )
    online.denylist_changed(db, municipality_id=municipality_id, version=version)
    return version


def live_entries(db: Session, *, municipality_id: int, now: dt.datetime) -> list[Entry]:
    """The entries that still matter at ``now``."""
    return [
        Entry(r.entry_kind, r.entry_key, r.expires_at)
        for r in queries.live_entries(db, municipality_id=municipality_id, now=now)
    ]


def signed_pieces(
    db: Session, *, municipality_id: int, issuer_key: IssuerKey, now: dt.datetime
) -> SignedDenylist:
    """The current version and its signed pieces for phones to carry (none at version 0)."""
    version = current_version(db, municipality_id=municipality_id)
    if version == 0:
        return NO_DENYLIST
    row_id = queries.version_row_id(db, municipality_id=municipality_id, version=version)
    return signed_pieces_of(
        db,
        municipality_id=municipality_id,
        version=version,
        row_id=row_id,
        issuer_key=issuer_key,
        now=now,
    )


def signed_pieces_of(
    db: Session,
    *,
    municipality_id: int,
    version: int | None,
    row_id: int | None,
    issuer_key: IssuerKey,
    now: dt.datetime,
) -> SignedDenylist:
    """``signed_pieces`` for a version and its row already read (the bundle refresh reads both in
    its one query). A version's entries never change (every change makes a new version), so its
    pieces are signed once and reused for a minute, keyed by the version row itself."""
    if not version or row_id is None:
        return NO_DENYLIST
    return cached(
        db,
        ("denylist_pieces", municipality_id, version, row_id, issuer_key.kid),
        SNAPSHOT_REUSE_S,
        lambda: SignedDenylist(
            version,
            tuple(
                sign_pieces(
                    db,
                    municipality_id=municipality_id,
                    version=version,
                    issuer_key=issuer_key,
                    now=now,
                )
            ),
        ),
    )


def sign_pieces(
    db: Session, *, municipality_id: int, version: int, issuer_key: IssuerKey, now: dt.datetime
) -> list[proto.DenylistPiece]:
    """The entries live at ``now`` signed as pieces of ``version`` (uncached: callers go through
    ``signed_pieces`` or the same cache entry)."""
    entries = [
        proto.DenylistEntry(_PROTO_KIND[e.kind], e.key, e.expires_at)
        for e in live_entries(db, municipality_id=municipality_id, now=now)
    ]
    return proto.issue_denylist_pieces(
        issuer_key=issuer_key, version=version, entries=entries, now=now
    )
