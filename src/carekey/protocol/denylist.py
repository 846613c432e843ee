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

Door rules (``DenylistState.apply``): a forged or unsigned update is refused by signature checks;
an update older than the door's version is ``stale_denylist``; an update of the same version is
a harmless no-op; a delta whose base is not the door's version is ``bad_delta_base``; more than
``MAX_ENTRIES`` (65,535, as Salto's offline locks) entries is ``denylist_full``.
"""

from __future__ import annotations

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
from carekey.protocol.timetoken import MAX_TOLERANCE

CLAIM_DENYLIST: Final = -65539
MAX_ENTRIES: Final = 65_535
ID_BYTES: Final = 16
RECORD_BYTES: Final = 1 + ID_BYTES + 4
REMOVED_BYTES: Final = 1 + ID_BYTES
MAX_DENYLIST_BYTES: Final = MAX_ENTRIES * RECORD_BYTES + MAX_ENTRIES * REMOVED_BYTES + 1024
PRUNE_MARGIN: Final = MAX_TOLERANCE


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

    @property
    def is_delta(self) -> bool:
        """Whether this update applies on top of ``base_version``."""
        return self.base_version is not None


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
    claims = {1: issuer_key.issuer, 6: int(now.timestamp()), CLAIM_DENYLIST: body}
    return _sign1(cbor.dumps(claims), issuer_key.signer)


def _live(entries: Iterable[DenylistEntry], now: datetime) -> list[DenylistEntry]:
    return [e for e in entries if e.expires + PRUNE_MARGIN > now]


def issue_denylist_snapshot(
    *, issuer_key: IssuerKey, version: int, entries: Iterable[DenylistEntry], now: datetime
) -> bytes:
    """Sign the full denylist at ``version``, leaving out entries that no longer matter."""
    if not 0 < version < 2**63:
        raise ProtocolError("invalid_argument", "version must be positive")
    return _sign(issuer_key, now, {1: version, 3: _pack_entries(_live(entries, now))})


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
    if not 0 <= base_version < version < 2**63:
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
    if not isinstance(iat, int) or isinstance(iat, bool) or not 0 <= iat < 2**40:
        raise DecodeError("malformed", "iat")
    if not isinstance(body, dict) or set(body) not in ({1, 3}, {1, 2, 3, 4}):
        raise DecodeError("malformed", "denylist body")
    version, base = body[1], body.get(2)
    if not isinstance(version, int) or isinstance(version, bool) or not 0 < version < 2**63:
        raise DecodeError("malformed", "version")
    if base is not None and (
        not isinstance(base, int) or isinstance(base, bool) or not 0 <= base < version
    ):
        raise DecodeError("malformed", "base version")
    return DenylistUpdate(
        issuer=issuer,
        issued_at=datetime.fromtimestamp(iat, UTC),
        version=version,
        base_version=base,
        entries=_unpack_entries(body[3]),
        removed=_unpack_removed(body[4]) if base is not None else (),
    )


@dataclass(frozen=True, slots=True)
class DenylistState:
    """What a door holds: the version it has and the live entries (key -> expiry)."""

    version: int = 0
    entries: Mapping[EntryKey, datetime] = field(default_factory=dict)

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

    def pruned(self, now: datetime) -> DenylistState:
        """Drop entries whose credentials expired more than ``PRUNE_MARGIN`` before ``now``."""
        live = {k: exp for k, exp in self.entries.items() if exp + PRUNE_MARGIN > now}
        if len(live) == len(self.entries):
            return self
        return DenylistState(self.version, live)

    def apply(
        self, data: bytes, *, keyring: IssuerKeyring, now: datetime | None = None
    ) -> DenylistState:
        """Apply a signed snapshot or delta and return the new state (``self`` is unchanged).

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
        if update.base_version is not None and update.base_version != self.version:
            raise ValidityError(
                "bad_delta_base", f"delta from {update.base_version}, door has {self.version}"
            )
        base = {} if update.base_version is None else dict(self.entries)
        for key in update.removed:
            base.pop(key, None)
        for entry in update.entries:
            base[entry.key] = entry.expires
        state = DenylistState(update.version, base)
        if now is not None:
            state = state.pruned(now)
        if len(state) > MAX_ENTRIES:
            raise ValidityError("denylist_full", f"{len(state)} > {MAX_ENTRIES}")
        return state
