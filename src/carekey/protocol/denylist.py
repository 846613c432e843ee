"""The denylist: revoked credentials, phones, subjects and withdrawn doors, versioned and signed.

Phones carry the denylist to doors, either as a full *snapshot* or as a *delta* from a named base
version. Each entry names what is blocked and until when it matters:

=====  ==============  ====================================================================
kind   name            id (16 bytes)
=====  ==============  ====================================================================
1      credential      the credential id (``cti``)
2      device          the phone's device key id (``DevicePublicKey.key_id``): a lost phone
3      subject         SHA-256(UTF-8 subject)[:16]: a worker who left or was suspended
4      door            SHA-256(door id)[:16]: a withdrawn door (the citizen's address was
                       removed); while live, the door refuses every credential that holds
                       no right (admin/installer), so keys already issued stop working
=====  ==============  ====================================================================

``expires`` is the latest expiry of any credential the entry can block (for kind 1, the
credential's own ``exp``; for kind 4, the last expiry of any credential naming the door, at most
9 hours after the address was removed, since no later key names it). Once that has passed —
plus ``PRUNE_MARGIN``, beyond the largest clock tolerance any door applies — the entry can only
block credentials the door refuses anyway, so both server and doors drop it. As credentials live
at most 9 hours, the list stays small.

Wire form: COSE_Sign1 over ``{1: iss, 6: iat, -65539: {1: version, 2: base version (delta
only), 3: entries, 4: removed ids (delta only)}}``. ``entries`` is one byte string of 21-byte
records ``kind (1) || id (16) || expires (uint32 big-endian, seconds since the epoch)``, sorted
and unique; ``removed`` is 17-byte records ``kind || id``, sorted and unique. Flat records keep
item counts trivial for the CBOR decoder and let firmware binary-search the list in flash.

**Pieces.** A list too big for one Bluetooth message (the framing caps a message at 4,096
bytes, about 170 records) is signed as *snapshot pieces*: each piece is the part of the snapshot
whose ids fall in one range ``[lo, hi)`` of the 32-bit id prefix (``int.from_bytes(id[:4])``),
``{1: version, 3: entries, 5: lo, 6: hi}``, at most ``PIECE_ENTRIES`` records. A door takes
pieces in any order, from any phones, across sessions: for the part of the piece's range that
it holds at an older version (or not at all) it replaces its entries by the piece's, and it
records that range as covered at the piece's version. Blocks in a piece take effect at once.
When the covered ranges span the whole prefix space the door's version becomes the lowest
version among them (each range holds at least what that version blocks), and a later delta or
piece continues from there. A full snapshot is the one piece without 5 and 6.

Door rules (``DenylistState.apply``): a forged or unsigned update is refused by signature checks;
an update older than the door's version is ``stale_denylist``; an update of the same version is
a harmless no-op; a delta whose base is not the door's version is ``bad_delta_base``; more than
``MAX_ENTRIES`` (65,535, as Salto's offline locks) entries is ``denylist_full``.
"""

from __future__ import annotations

import bisect
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import IntEnum
from typing import Final

from carekey.protocol import cbor
from carekey.protocol.credential import Credential
from carekey.protocol.errors import DecodeError, ProtocolError, ValidityError
from carekey.protocol.keys import DevicePublicKey, IssuerKey, IssuerKeyring, open_issuer_signed
from carekey.protocol.keys import sign1 as _sign1
from carekey.protocol.limits import DENYLIST_VERSION_LIMIT, is_time
from carekey.protocol.timetoken import MAX_TOLERANCE

CLAIM_DENYLIST: Final = -65539
MAX_ENTRIES: Final = 65_535
ID_BYTES: Final = 16
RECORD_BYTES: Final = 1 + ID_BYTES + 4
REMOVED_BYTES: Final = 1 + ID_BYTES
MAX_DENYLIST_BYTES: Final = MAX_ENTRIES * RECORD_BYTES + MAX_ENTRIES * REMOVED_BYTES + 1024
PRUNE_MARGIN: Final = MAX_TOLERANCE
PREFIX_SPACE: Final = 2**32
PIECE_ENTRIES: Final = 112
"""Records per piece: a piece (≈ 2.5 kB) rides in a door request next to a 1,024-byte credential
presentation, a proof of freshness and a time token within the 4,096-byte message limit."""
MAX_COVERAGE_RANGES: Final = 4096


class EntryKind(IntEnum):
    """What a denylist entry blocks."""

    CREDENTIAL = 1
    DEVICE = 2
    SUBJECT = 3
    DOOR = 4


EntryKey = tuple[EntryKind, bytes]
_KIND_CODES: Final = frozenset(int(k) for k in EntryKind)


def subject_id(subject: str) -> bytes:
    """The 16-byte denylist id of a subject: SHA-256 of its UTF-8 text, first 16 bytes."""
    return hashlib.sha256(subject.encode("utf-8")).digest()[:ID_BYTES]


def door_entry_id(door_id: bytes) -> bytes:
    """The 16-byte denylist id of a door: SHA-256 of its id bytes, first 16 bytes."""
    return hashlib.sha256(door_id).digest()[:ID_BYTES]


def id_prefix(entry_id: bytes) -> int:
    """The 32-bit prefix of a denylist id, which places it in a piece's range."""
    return int.from_bytes(entry_id[:4], "big")


@dataclass(frozen=True, slots=True, order=True)
class DenylistEntry:
    """One blocked credential, phone or subject, relevant until ``expires``."""

    kind: EntryKind
    id: bytes
    expires: datetime

    def __post_init__(self) -> None:
        if len(self.id) != ID_BYTES:
            raise ProtocolError("invalid_argument", "denylist ids are 16 bytes")
        if self.expires.tzinfo is None:
            raise ProtocolError("invalid_argument", "expires must be timezone-aware")

    @property
    def key(self) -> EntryKey:
        """(kind, id), the identity of the entry."""
        return (self.kind, self.id)

    @classmethod
    def for_credential(cls, credential_id: bytes, expires: datetime) -> DenylistEntry:
        """Block one credential until it expires."""
        return cls(EntryKind.CREDENTIAL, credential_id, expires)

    @classmethod
    def for_device(cls, device_key: DevicePublicKey, expires: datetime) -> DenylistEntry:
        """Block a phone; ``expires`` is the last expiry among credentials issued to it."""
        return cls(EntryKind.DEVICE, device_key.key_id, expires)

    @classmethod
    def for_subject(cls, subject: str, expires: datetime) -> DenylistEntry:
        """Block a worker; ``expires`` is the last expiry among credentials issued to them."""
        return cls(EntryKind.SUBJECT, subject_id(subject), expires)

    @classmethod
    def for_door(cls, door_id: bytes, expires: datetime) -> DenylistEntry:
        """Withdraw a door (address removed); ``expires`` is the last expiry of any credential
        naming it (≤ 9 h after the removal). Credentials with a right still open it."""
        if not 0 < len(door_id) <= 32:
            raise ProtocolError("invalid_argument", "door ids are 1-32 bytes")
        return cls(EntryKind.DOOR, door_entry_id(door_id), expires)


@dataclass(frozen=True, slots=True)
class DenylistUpdate:
    """A verified snapshot (``base_version`` None) or delta."""

    issuer: str
    issued_at: datetime
    version: int
    base_version: int | None
    entries: tuple[DenylistEntry, ...]
    removed: tuple[EntryKey, ...] = ()
    span: tuple[int, int] | None = None
    """For a snapshot piece, the id-prefix range ``[lo, hi)`` it covers (None: everything)."""

    @property
    def is_delta(self) -> bool:
        """Whether this update applies on top of ``base_version``."""
        return self.base_version is not None

    @property
    def is_piece(self) -> bool:
        """Whether this is a piece of a snapshot (a part of the id-prefix space)."""
        return self.span is not None


@dataclass(frozen=True, slots=True)
class DenylistPiece:
    """One signed piece of a snapshot, for the phone to carry: its range and its bytes."""

    lo: int
    hi: int
    data: bytes
    count: int

    def covers(self, prefix: int) -> bool:
        """Whether the id prefix ``prefix`` falls in this piece."""
        return self.lo <= prefix < self.hi


def _epoch32(when: datetime) -> int:
    return min(max(int(when.timestamp()), 0), 2**32 - 1)


def _pack_entries(entries: Iterable[DenylistEntry]) -> bytes:
    by_key: dict[EntryKey, DenylistEntry] = {}
    for entry in entries:
        current = by_key.get(entry.key)
        if current is None or entry.expires > current.expires:
            by_key[entry.key] = entry
    if len(by_key) > MAX_ENTRIES:
        raise ProtocolError("denylist_full", f"{len(by_key)} entries > {MAX_ENTRIES}")
    return b"".join(
        bytes([kind]) + ident + _epoch32(by_key[(kind, ident)].expires).to_bytes(4, "big")
        for kind, ident in sorted(by_key)
    )


def _pack_removed(removed: Iterable[EntryKey]) -> bytes:
    keys = sorted(set(removed))
    if len(keys) > MAX_ENTRIES or any(len(i) != ID_BYTES for _, i in keys):
        raise ProtocolError("invalid_argument", "removed ids")
    return b"".join(bytes([kind]) + ident for kind, ident in keys)


def _sign(issuer_key: IssuerKey, now: datetime, body: dict[int, object]) -> bytes:
    if now.tzinfo is None:
        raise ProtocolError("invalid_argument", "now must be timezone-aware")
    iat = int(now.timestamp())
    if not is_time(iat):
        raise ProtocolError("invalid_argument", "now must be in 1970-9999")
    claims = {1: issuer_key.issuer, 6: iat, CLAIM_DENYLIST: body}
    return _sign1(cbor.dumps(claims), issuer_key.signer)


def _live(entries: Iterable[DenylistEntry], now: datetime) -> list[DenylistEntry]:
    return [e for e in entries if e.expires + PRUNE_MARGIN > now]


def issue_denylist_snapshot(
    *, issuer_key: IssuerKey, version: int, entries: Iterable[DenylistEntry], now: datetime
) -> bytes:
    """Sign the full denylist at ``version``, leaving out entries that no longer matter."""
    if not 0 < version < DENYLIST_VERSION_LIMIT:
        raise ProtocolError("invalid_argument", "version must be 1..2**32-1")
    return _sign(issuer_key, now, {1: version, 3: _pack_entries(_live(entries, now))})


def split_into_pieces(
    entries: Iterable[DenylistEntry], *, max_entries: int = PIECE_ENTRIES
) -> list[tuple[int, int, list[DenylistEntry]]]:
    """Cut the entries into id-prefix ranges ``[lo, hi)`` of at most ``max_entries`` each,
    covering the whole prefix space (one range when they fit). Cuts fall between prefixes."""
    if max_entries < 1:
        raise ProtocolError("invalid_argument", "max_entries")
    by_key: dict[EntryKey, DenylistEntry] = {}
    for entry in entries:
        current = by_key.get(entry.key)
        if current is None or entry.expires > current.expires:
            by_key[entry.key] = entry
    ordered = sorted(by_key.values(), key=lambda e: (e.id, e.kind))
    chunks: list[tuple[int, int, list[DenylistEntry]]] = []
    lo = 0
    current_chunk: list[DenylistEntry] = []
    for entry in ordered:
        prefix = id_prefix(entry.id)
        if len(current_chunk) >= max_entries and prefix != id_prefix(current_chunk[-1].id):
            chunks.append((lo, prefix, current_chunk))
            lo, current_chunk = prefix, []
        current_chunk.append(entry)
    chunks.append((lo, PREFIX_SPACE, current_chunk))
    return chunks


def issue_denylist_pieces(
    *,
    issuer_key: IssuerKey,
    version: int,
    entries: Iterable[DenylistEntry],
    now: datetime,
    max_entries: int = PIECE_ENTRIES,
) -> list[DenylistPiece]:
    """Sign the snapshot at ``version`` as pieces a door can take one at a time.

    A list that fits in one piece gives one full snapshot (the same bytes as
    :func:`issue_denylist_snapshot`)."""
    if not 0 < version < DENYLIST_VERSION_LIMIT:
        raise ProtocolError("invalid_argument", "version must be 1..2**32-1")
    chunks = split_into_pieces(_live(entries, now), max_entries=max_entries)
    if len(chunks) == 1:
        data = _sign(issuer_key, now, {1: version, 3: _pack_entries(chunks[0][2])})
        return [DenylistPiece(0, PREFIX_SPACE, data, len(chunks[0][2]))]
    return [
        DenylistPiece(
            lo,
            hi,
            _sign(issuer_key, now, {1: version, 3: _pack_entries(chunk), 5: lo, 6: hi}),
            len(chunk),
        )
        for lo, hi, chunk in chunks
    ]


def issue_denylist_delta(
    *,
    issuer_key: IssuerKey,
    base_version: int,
    version: int,
    added: Iterable[DenylistEntry],
    removed: Iterable[EntryKey] = (),
    now: datetime,
) -> bytes:
    """Sign the changes from ``base_version`` to ``version``: entries added and ids removed."""
    if not 0 <= base_version < version < DENYLIST_VERSION_LIMIT:
        raise ProtocolError("invalid_argument", "need 0 <= base_version < version")
    body = {1: version, 2: base_version, 3: _pack_entries(_live(added, now))}
    body[4] = _pack_removed(removed)
    return _sign(issuer_key, now, body)


def diff_entries(
    old: Iterable[DenylistEntry], new: Iterable[DenylistEntry]
) -> tuple[list[DenylistEntry], list[EntryKey]]:
    """The (added, removed) that turn ``old`` into ``new``, for building a delta on the server."""
    old_map = {e.key: e for e in old}
    new_map = {e.key: e for e in new}
    added = [e for k, e in new_map.items() if old_map.get(k) != e]
    removed = [k for k in old_map if k not in new_map]
    return added, removed


def _unpack_entries(raw: object) -> tuple[DenylistEntry, ...]:
    if not isinstance(raw, bytes) or len(raw) % RECORD_BYTES:
        raise DecodeError("malformed", "entries must be 21-byte records")
    if len(raw) // RECORD_BYTES > MAX_ENTRIES:
        raise DecodeError("oversized", "too many denylist entries")
    out: list[DenylistEntry] = []
    previous = b""
    for offset in range(0, len(raw), RECORD_BYTES):
        record = raw[offset : offset + RECORD_BYTES]
        key_bytes = record[: 1 + ID_BYTES]
        if key_bytes <= previous or record[0] not in _KIND_CODES:
            raise DecodeError("malformed", "entries unsorted, duplicated or of unknown kind")
        previous = key_bytes
        expires = datetime.fromtimestamp(int.from_bytes(record[17:], "big"), UTC)
        out.append(DenylistEntry(EntryKind(record[0]), record[1:17], expires))
    return tuple(out)


def _unpack_removed(raw: object) -> tuple[EntryKey, ...]:
    if not isinstance(raw, bytes) or len(raw) % REMOVED_BYTES:
        raise DecodeError("malformed", "removed must be 17-byte records")
    out: list[EntryKey] = []
    previous = b""
    for offset in range(0, len(raw), REMOVED_BYTES):
        record = raw[offset : offset + REMOVED_BYTES]
        if record <= previous or record[0] not in _KIND_CODES:
            raise DecodeError("malformed", "removed ids unsorted, duplicated or unknown kind")
        previous = record
        out.append((EntryKind(record[0]), record[1:]))
    return tuple(out)


def decode_denylist_update(data: bytes, *, keyring: IssuerKeyring) -> DenylistUpdate:
    """Verify the signature and structure of a snapshot or delta."""
    issuer, payload = open_issuer_signed(data, keyring=keyring, max_bytes=MAX_DENYLIST_BYTES)
    claims = cbor.loads(payload, max_bytes=MAX_DENYLIST_BYTES, max_depth=2, max_items=16)
    if not isinstance(claims, dict) or set(claims) != {1, 6, CLAIM_DENYLIST}:
        raise DecodeError("malformed", "denylist claims")
    if claims[1] != issuer:
        raise ProtocolError("wrong_issuer")
    iat, body = claims[6], claims[CLAIM_DENYLIST]
    if not is_time(iat):
        raise DecodeError("malformed", "iat")
    assert isinstance(iat, int)
    if not isinstance(body, dict) or set(body) not in ({1, 3}, {1, 2, 3, 4}, {1, 3, 5, 6}):
        raise DecodeError("malformed", "denylist body")
    version, base = body[1], body.get(2)
    if (
        not isinstance(version, int)
        or isinstance(version, bool)
        or not 0 < version < DENYLIST_VERSION_LIMIT
    ):
        raise DecodeError("malformed", "version")
    if base is not None and (
        not isinstance(base, int) or isinstance(base, bool) or not 0 <= base < version
    ):
        raise DecodeError("malformed", "base version")
    span: tuple[int, int] | None = None
    if 5 in body:
        lo, hi = body[5], body[6]
        if (
            not isinstance(lo, int)
            or not isinstance(hi, int)
            or isinstance(lo, bool)
            or isinstance(hi, bool)
            or not 0 <= lo < hi <= PREFIX_SPACE
        ):
            raise DecodeError("malformed", "piece range")
        span = (lo, hi)
    entries = _unpack_entries(body[3])
    if span is not None and any(not span[0] <= id_prefix(e.id) < span[1] for e in entries):
        raise DecodeError("malformed", "piece entry outside its range")
    return DenylistUpdate(
        issuer=issuer,
        issued_at=datetime.fromtimestamp(iat, UTC),
        version=version,
        base_version=base,
        entries=entries,
        removed=_unpack_removed(body[4]) if base is not None else (),
        span=span,
    )


Coverage = tuple[tuple[int, int, int], ...]
"""Ranges ``(lo, hi, version)`` of the id-prefix space a door holds from pieces of a newer
snapshot than its complete version: sorted, disjoint, adjacent ranges of one version merged."""


def _bound(prefix: int) -> bytes:
    return prefix.to_bytes(4, "big")


def _subtract(coverage: Coverage, lo: int, hi: int) -> list[tuple[int, int, int]]:
    out: list[tuple[int, int, int]] = []
    for a, b, version in coverage:
        if b <= lo or a >= hi:
            out.append((a, b, version))
            continue
        if a < lo:
            out.append((a, lo, version))
        if b > hi:
            out.append((hi, b, version))
    return out


def _merge(ranges: Iterable[tuple[int, int, int]]) -> Coverage:
    out: list[tuple[int, int, int]] = []
    for a, b, version in sorted(ranges):
        if out and out[-1][1] == a and out[-1][2] == version:
            out[-1] = (out[-1][0], b, version)
        else:
            out.append((a, b, version))
    return tuple(out)


def _stale_parts(coverage: Coverage, lo: int, hi: int, version: int) -> list[tuple[int, int]]:
    """The parts of ``[lo, hi)`` the door holds at a version older than ``version``."""
    parts: list[tuple[int, int]] = []
    cursor = lo
    for a, b, held in coverage:
        if b <= cursor or a >= hi:
            continue
        if a > cursor:
            parts.append((cursor, a))
        if held < version:
            parts.append((max(a, cursor), min(b, hi)))
        cursor = min(b, hi)
        if cursor >= hi:
            break
    if cursor < hi:
        parts.append((cursor, hi))
    merged: list[tuple[int, int]] = []
    for a, b in parts:
        if merged and merged[-1][1] == a:
            merged[-1] = (merged[-1][0], b)
        elif a < b:
            merged.append((a, b))
    return merged


@dataclass(frozen=True, slots=True)
class DenylistState:
    """What a door holds: the version it has in full, the live entries (key -> expiry), and the
    ranges it already holds from pieces of a newer snapshot (``coverage``)."""

    version: int = 0
    entries: Mapping[EntryKey, datetime] = field(default_factory=dict)
    coverage: Coverage = ()
    _index: list[tuple[bytes, EntryKind]] | None = field(
        default=None, compare=False, repr=False, hash=False
    )

    def _sorted_ids(self) -> list[tuple[bytes, EntryKind]]:
        """The entries' (id, kind) in id order, kept from state to state for pieces."""
        if self._index is None:
            object.__setattr__(self, "_index", sorted((i, k) for k, i in self.entries))
        assert self._index is not None
        return self._index

    def __len__(self) -> int:
        return len(self.entries)

    def blocks(self, credential: Credential) -> bool:
        """Whether the credential, its phone or its subject is on the list."""
        return (
            (EntryKind.CREDENTIAL, credential.credential_id) in self.entries
            or (EntryKind.DEVICE, credential.device_key.key_id) in self.entries
            or (EntryKind.SUBJECT, subject_id(credential.subject)) in self.entries
        )

    def blocks_door(self, door_id: bytes) -> bool:
        """Whether the door ``door_id`` is withdrawn: it then opens only for credentials with a
        right (``verify_credential`` refuses the others with ``door_withdrawn``)."""
        return (EntryKind.DOOR, door_entry_id(door_id)) in self.entries

    def holds(self, prefix: int, version: int) -> bool:
        """Whether the door holds the ids with ``prefix`` at least as of ``version`` (in full,
        or from a piece)."""
        if self.version >= version:
            return True
        return any(a <= prefix < b and held >= version for a, b, held in self.coverage)

    def held_ranges(self, version: int) -> list[list[int]]:
        """The ranges ``[lo, hi]`` held from pieces at ``version`` or newer (a phone skips the
        pieces inside them); everything when the door holds ``version`` in full."""
        if self.version >= version:
            return [[0, PREFIX_SPACE]]
        return [[a, b] for a, b, held in self.coverage if held >= version]

    def pruned(self, now: datetime) -> DenylistState:
        """Drop entries whose credentials expired more than ``PRUNE_MARGIN`` before ``now``."""
        cutoff = now - PRUNE_MARGIN
        if not self.entries or min(self.entries.values()) > cutoff:
            return self
        live = {k: exp for k, exp in self.entries.items() if exp > cutoff}
        return DenylistState(self.version, live, self.coverage)

    def apply(
        self, data: bytes, *, keyring: IssuerKeyring, now: datetime | None = None
    ) -> DenylistState:
        """Apply a signed snapshot, piece or delta and return the new state (``self`` is
        unchanged).

        ``now`` (the door's time, if known) prunes expired entries first. Raises
        ``stale_denylist``, ``bad_delta_base``, ``denylist_full`` or a signature/decoding code.
        """
        return self.apply_update(decode_denylist_update(data, keyring=keyring), now=now)

    def apply_update(self, update: DenylistUpdate, *, now: datetime | None = None) -> DenylistState:
        """Apply an already verified update (see ``apply``)."""
        if update.version < self.version:
            raise ValidityError("stale_denylist", f"{update.version} < {self.version}")
        if update.version == self.version:
            return self
        if update.base_version is not None:
            if update.base_version != self.version:
                raise ValidityError(
                    "bad_delta_base", f"delta from {update.base_version}, door has {self.version}"
                )
            base = dict(self.entries)
            for key in update.removed:
                base.pop(key, None)
            for entry in update.entries:
                base[entry.key] = entry.expires
            state = DenylistState(update.version, base)
        else:
            state = self._apply_piece(update)
        if now is not None:
            state = state.pruned(now)
        if len(state) > MAX_ENTRIES:
            raise ValidityError("denylist_full", f"{len(state)} > {MAX_ENTRIES}")
        return state

    def _apply_piece(self, update: DenylistUpdate) -> DenylistState:
        lo, hi = update.span or (0, PREFIX_SPACE)
        parts = _stale_parts(self.coverage, lo, hi, update.version)
        if not parts:
            return self
        entries = dict(self.entries)
        index = list(self._sorted_ids())
        for a, b in parts:
            start = bisect.bisect_left(index, (_bound(a),))
            end = len(index) if b >= PREFIX_SPACE else bisect.bisect_left(index, (_bound(b),))
            for ident, kind in index[start:end]:
                del entries[(kind, ident)]
            del index[start:end]
        for entry in update.entries:
            prefix = id_prefix(entry.id)
            if any(a <= prefix < b for a, b in parts):
                if entry.key not in entries:
                    bisect.insort(index, (entry.id, entry.kind))
                entries[entry.key] = entry.expires
        coverage = list(self.coverage)
        for a, b in parts:
            coverage = _subtract(tuple(coverage), a, b)
            coverage.append((a, b, update.version))
        merged = _merge(coverage)
        if sum(b - a for a, b, _ in merged) >= PREFIX_SPACE:
            return DenylistState(min(v for _, _, v in merged), entries, (), index)
        if len(merged) > MAX_COVERAGE_RANGES:
            raise ValidityError("denylist_full", f"{len(merged)} ranges")
        return DenylistState(self.version, entries, merged, index)
