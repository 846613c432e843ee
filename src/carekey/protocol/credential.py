"""The offline credential: a COSE_Sign1 (RFC 9052) over CWT claims (RFC 8392), signed EdDSA.

Wire form (see ``docs/protocol.md`` for the byte layout)::

    18([ h'{1: -8, 4: kid}', {}, h'claims', signature ])

    claims = {
      1: iss    municipality code (text)
      2: sub    subject: a pseudonymous worker id (text, ≤ 64 bytes; never a name or CPR)
      4: exp    expiry, seconds since the Unix epoch (UTC)
      5: nbf    not-before, seconds since the Unix epoch (UTC); exp - nbf ≤ 9 h
      7: cti    credential id, 16 random bytes
      8: cnf    {1: COSE_Key} proof of possession (RFC 8747): the phone's P-256 key,
                compressed as {1: 2, -1: 1, -2: x, -3: sign-of-y (bool)}
      -65537: CareKey claims (one Private Use claim key, RFC 8392 §9.1), a map:
          1: doors          [bstr, ...]  door ids (omitted when empty; never in a bundle)
          2: door groups    [bstr, ...]  group ids (omitted when empty; never in a bundle)
          3: kinds          uint bit set: 1 home, 2 entrance, 4 gate (bundle: union of leaves)
          4: subject type   0 employee, 1 partner
          5: serial         uint, monotonic per subject
          6: denylist ver.  uint, the denylist version when the credential was issued
          7: windows        [[weekday mask, start minute, end minute], ...] (optional)
          8: time zone      IANA name, present exactly when windows are
          9: rights         uint bit set: 1 admin (configure), 2 installer (optional, never
                            in a bundle)
      -65540: bundle (bundle credentials only): {1: Merkle root (16 B), 2: leaf count (1-4096)}
    }

Doors refuse unknown claims: a future format uses a new Private Use claim key, so an old door
refuses it instead of ignoring a restriction it does not understand (a door that predates
bundles refuses a bundle as ``malformed``).

Two forms:

- **plain** credentials name up to ``MAX_TARGETS`` doors and groups sharing the same kinds,
  windows and validity: one visit (home door, entrance, gate), emergency keys, partner keys,
  installer keys. The phone sends the credential bytes as they are.
- **bundle** credentials (``issue_bundle``) cover a whole shift (up to 4096 doors, ≈ 200 at a
  login) with one signature: the signed claim is the root of a Merkle tree over the leaves
  ``(door id, kinds)`` (see ``bundle``). The server returns the credential and the leaf list;
  the phone computes each door's inclusion proof itself (``bundle_proof``) and sends a door a
  *presentation* (``present_bundle``) naming only that door. ``verify_credential`` and
  ``decode_credential`` take either form transparently.
"""

from __future__ import annotations

import functools
import secrets
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import IntFlag, StrEnum
from typing import Final, Protocol

from carekey.protocol import cbor
from carekey.protocol.bundle import (
    HASH_BYTES,
    MAX_BUNDLE_LEAVES,
    MAX_PRESENTATION_BYTES,
    Presentation,
    decode_presentation,
    is_presentation,
    leaf_hash,
    proof_from_levels,
    root_from_proof,
    tree_levels,
)
from carekey.protocol.errors import (
    DecodeError,
    IssueError,
    ProtocolError,
    SignatureError,
    ValidityError,
)
from carekey.protocol.keys import (
    DevicePublicKey,
    IssuerKey,
    IssuerKeyring,
    parse_sign1,
    sign1,
)
from carekey.protocol.limits import is_time
from carekey.protocol.partner import check_partner_claims, issuer_key_for
from carekey.protocol.windows import (
    TimeWindow,
    decode_windows,
    encode_windows,
    is_within,
    load_time_zone,
    normalize_windows,
)

CLAIM_CAREKEY: Final = -65537
CLAIM_BUNDLE: Final = -65540
MAX_VALIDITY: Final = timedelta(hours=9)
"""The longest a credential lives (``exp - nbf``), and so the ceiling of every key's life: the
one definition of the 9-hour key lifetime, which the server, revocation and the app import."""
MAX_TARGETS: Final = 8
MAX_CREDENTIAL_BYTES: Final = 1024
CREDENTIAL_ID_BYTES: Final = 16
MAX_ID_BYTES: Final = 32
MAX_SUBJECT_BYTES: Final = 64
MAX_ISSUER_BYTES: Final = 16
MAX_SERIAL: Final = 2**63 - 1


class DoorKind(StrEnum):
    """What a door is. Home doors are the citizen's own; entrances and gates are shared."""

    HOME = "home"
    ENTRANCE = "entrance"
    GATE = "gate"


class _KindBit(IntFlag):
    HOME = 1
    ENTRANCE = 2
    GATE = 4


_KIND_BITS: Final = {
    DoorKind.HOME: _KindBit.HOME,
    DoorKind.ENTRANCE: _KindBit.ENTRANCE,
    DoorKind.GATE: _KindBit.GATE,
}
# bit set (1-7) -> kinds, precomputed so decoding and issuing allocate nothing per leaf
_KINDS_OF_BITS: Final = {
    bits: frozenset(k for k, bit in _KIND_BITS.items() if bits & bit) for bits in range(1, 8)
}
_BITS_OF_KINDS: Final = {kinds: bits for bits, kinds in _KINDS_OF_BITS.items()}


class SubjectType(StrEnum):
    """Who holds the credential. Partners (pharmacy, meal delivery) never get home doors."""

    EMPLOYEE = "employee"
    PARTNER = "partner"


_SUBJECT_CODES: Final = {SubjectType.EMPLOYEE: 0, SubjectType.PARTNER: 1}


class Right(StrEnum):
    """Extra rights of a plain credential (claim 9). Bundles never carry rights.

    ``ADMIN``: may send admin commands (configure). ``INSTALLER``: may open a door that the
    denylist has withdrawn (to restore the original lock). Any right exempts the credential from
    the withdrawn-door refusal.
    """

    ADMIN = "admin"
    INSTALLER = "installer"


_RIGHT_BITS: Final = {Right.ADMIN: 1, Right.INSTALLER: 2}


def _kind_bits(kinds: frozenset[DoorKind]) -> int:
    bits = _BITS_OF_KINDS.get(kinds)
    if bits is None:
        raise IssueError("invalid_argument", "at least one door kind")
    return bits


@dataclass(frozen=True, slots=True)
class BundleLeaf:
    """One door of a bundle: its id (1-32 bytes) and the kinds the holder may open it as."""

    door_id: bytes
    kinds: frozenset[DoorKind]

    @classmethod
    def of(cls, door_id: bytes, kinds: DoorKind | Iterable[DoorKind]) -> BundleLeaf:
        """A leaf from a door id and one kind or several."""
        return cls(bytes(door_id), _kinds(kinds))

    @classmethod
    def from_bits(cls, door_id: bytes, kind_bits: int) -> BundleLeaf:
        """A leaf from its wire form: door id and kind bit set (1 home, 2 entrance, 4 gate)."""
        kinds = [kind for kind, bit in _KIND_BITS.items() if kind_bits & bit]
        if not kinds or kind_bits & ~7:
            raise ProtocolError("invalid_argument", "kind bits must be a non-empty subset of 1|2|4")
        return cls.of(door_id, kinds)

    @property
    def kind_bits(self) -> int:
        """The kinds as the wire bit set (1 home, 2 entrance, 4 gate)."""
        return _kind_bits(self.kinds)

    @property
    def hash(self) -> bytes:
        """The 16-byte leaf hash (``bundle.leaf_hash``)."""
        return leaf_hash(self.door_id, self.kind_bits)


@dataclass(frozen=True, slots=True)
class BundleClaim:
    """The signed bundle claim: Merkle root, leaf count and the union of the leaves' kinds."""

    root: bytes
    size: int
    kinds: frozenset[DoorKind]


@dataclass(frozen=True, slots=True)
class Credential:
    """A decoded credential whose signature (and, for a presentation, proof) has been verified.

    For a bundle *presentation*, ``doors`` is the presented door only and ``kinds`` the presented
    leaf's kinds (what applies at that door); ``bundle`` holds the signed claim and
    ``leaf_index`` the leaf's position. For a bundle credential decoded on its own (phone,
    server), ``doors`` is empty and ``kinds`` is the union over all leaves.
    """

    credential_id: bytes
    issuer: str
    issuer_kid: bytes
    subject: str
    subject_type: SubjectType
    device_key: DevicePublicKey
    doors: tuple[bytes, ...]
    door_groups: tuple[bytes, ...]
    kinds: frozenset[DoorKind]
    not_before: datetime
    expires: datetime
    serial: int
    denylist_version: int
    windows: tuple[TimeWindow, ...] = ()
    time_zone: str | None = None
    raw: bytes = field(default=b"", repr=False, compare=False)
    rights: frozenset[Right] = frozenset()
    bundle: BundleClaim | None = None
    leaf_index: int | None = None
    partner_issued: bool = False
    """Signed by a partner issuer key (see ``partner``): a partner's entrance/gate key."""

    @property
    def is_bundle(self) -> bool:
        """Whether this is a bundle credential (or a presentation of one)."""
        return self.bundle is not None

    @property
    def leaf(self) -> BundleLeaf | None:
        """The presented leaf (door id and kinds) of a presentation, else None."""
        if self.leaf_index is None:
            return None
        return BundleLeaf(self.doors[0], self.kinds)

    def names_door(self, door_id: bytes, door_groups: Collection[bytes] = ()) -> bool:
        """Whether this credential names ``door_id`` or one of the door's groups."""
        return door_id in self.doors or any(g in self.door_groups for g in door_groups)


class Denylist(Protocol):
    """What ``verify_credential`` needs from a door's denylist (see ``denylist.DenylistState``)."""

    def blocks(self, credential: Credential) -> bool:
        """Whether the credential, its phone or its subject is denylisted."""
        ...

    def blocks_door(self, door_id: bytes) -> bool:
        """Whether the door itself is withdrawn (address removed): only rights holders open it."""
        ...


_SINGLE_KINDS: Final = {kind: frozenset({kind}) for kind in DoorKind}


def _kinds(kinds: DoorKind | Iterable[DoorKind]) -> frozenset[DoorKind]:
    if isinstance(kinds, DoorKind):
        return _SINGLE_KINDS[kinds]  # shared (immutable): one per kind, not one per leaf
    return frozenset(DoorKind(k) for k in kinds)


def _epoch(when: datetime, name: str) -> int:
    if when.tzinfo is None:
        raise IssueError("invalid_argument", f"{name} must be timezone-aware")
    epoch = int(when.timestamp())
    if not is_time(epoch):
        raise IssueError("invalid_argument", f"{name} must be in 1970-9999")
    return epoch


def _common_claims(
    *,
    issuer_key: IssuerKey,
    subject: str,
    subject_type: SubjectType,
    device_key: DevicePublicKey,
    kind_bits: int,
    not_before: datetime,
    expires: datetime,
    serial: int,
    denylist_version: int,
    windows: Iterable[TimeWindow],
    time_zone: str | None,
    credential_id: bytes | None,
) -> tuple[dict[int, object], dict[int, object]]:
    """Validate the claims plain and bundle credentials share; return (claims, CareKey map)."""
    window_list = normalize_windows(windows)
    cti = secrets.token_bytes(CREDENTIAL_ID_BYTES) if credential_id is None else credential_id
    nbf, exp = _epoch(not_before, "not_before"), _epoch(expires, "expires")
    if subject_type is SubjectType.PARTNER and kind_bits & _KindBit.HOME:
        raise IssueError("partner_home_door")
    if exp <= nbf:
        raise IssueError("invalid_argument", "expires must be after not_before")
    if exp - nbf > MAX_VALIDITY.total_seconds():
        raise IssueError("validity_too_long")
    if not 0 < len(subject.encode()) <= MAX_SUBJECT_BYTES:
        raise IssueError("invalid_argument", f"subject is 1-{MAX_SUBJECT_BYTES} bytes")
    if not 0 < len(issuer_key.issuer.encode()) <= MAX_ISSUER_BYTES:
        raise IssueError("invalid_argument", f"issuer is 1-{MAX_ISSUER_BYTES} bytes")
    if not 0 <= serial <= MAX_SERIAL or not 0 <= denylist_version <= MAX_SERIAL:
        raise IssueError("invalid_argument", "serial and denylist version are 0..2**63-1")
    if len(cti) != CREDENTIAL_ID_BYTES:
        raise IssueError("invalid_argument", "credential id is 16 bytes")
    if bool(window_list) != (time_zone is not None):
        raise IssueError("invalid_argument", "a time zone is given exactly when windows are")
    if time_zone is not None:
        load_time_zone(time_zone)
    private: dict[int, object] = {
        3: kind_bits,
        4: _SUBJECT_CODES[subject_type],
        5: serial,
        6: denylist_version,
    }
    if window_list:
        private[7] = encode_windows(window_list)
        private[8] = time_zone
    claims: dict[int, object] = {
        1: issuer_key.issuer,
        2: subject,
        4: exp,
        5: nbf,
        7: cti,
        8: {1: device_key.to_cose_key()},
        CLAIM_CAREKEY: private,
    }
    return claims, private


def issue_credential(
    *,
    issuer_key: IssuerKey,
    subject: str,
    subject_type: SubjectType,
    device_key: DevicePublicKey,
    kinds: DoorKind | Iterable[DoorKind],
    not_before: datetime,
    expires: datetime,
    serial: int,
    denylist_version: int,
    doors: Iterable[bytes] = (),
    door_groups: Iterable[bytes] = (),
    windows: Iterable[TimeWindow] = (),
    time_zone: str | None = None,
    credential_id: bytes | None = None,
    rights: Iterable[Right] = (),
) -> bytes:
    """Sign a plain credential (server side) and return its bytes.

    Raises ``IssueError``: ``partner_home_door`` for a partner credential that includes home
    doors, ``validity_too_long`` when ``expires - not_before`` exceeds 9 hours, and
    ``invalid_argument``/``invalid_windows`` for anything else out of bounds. Times are truncated
    to whole seconds. ``credential_id`` is random unless given (test vectors). ``rights``
    (admin, installer) are for installer and administrator credentials only.
    """
    door_list, group_list = tuple(doors), tuple(door_groups)
    right_set = frozenset(Right(r) for r in rights)
    claims, private = _common_claims(
        issuer_key=issuer_key,
        subject=subject,
        subject_type=subject_type,
        device_key=device_key,
        kind_bits=_kind_bits(_kinds(kinds)),
        not_before=not_before,
        expires=expires,
        serial=serial,
        denylist_version=denylist_version,
        windows=windows,
        time_zone=time_zone,
        credential_id=credential_id,
    )
    if not 0 < len(door_list) + len(group_list) <= MAX_TARGETS:
        raise IssueError("invalid_argument", f"1-{MAX_TARGETS} doors and groups")
    if any(not 0 < len(d) <= MAX_ID_BYTES for d in door_list + group_list):
        raise IssueError("invalid_argument", f"door and group ids are 1-{MAX_ID_BYTES} bytes")
    if len(set(door_list)) != len(door_list) or len(set(group_list)) != len(group_list):
        raise IssueError("invalid_argument", "duplicate door or group id")
    if door_list:
        private[1] = list(door_list)
    if group_list:
        private[2] = list(group_list)
    if right_set:
        private[9] = sum(_RIGHT_BITS[r] for r in right_set)
    return sign1(cbor.dumps(claims), issuer_key.signer)


def _leaf_hashes(leaves: Sequence[BundleLeaf]) -> tuple[list[bytes], int]:
    """Validate leaves; return their hashes and the union of their kind bits."""
    if not 0 < len(leaves) <= MAX_BUNDLE_LEAVES:
        raise IssueError("invalid_argument", f"a bundle has 1-{MAX_BUNDLE_LEAVES} doors")
    hashes: list[bytes] = []
    seen: set[bytes] = set()
    union = 0
    for leaf in leaves:
        bits = _BITS_OF_KINDS.get(leaf.kinds)
        door_id = leaf.door_id
        if bits is None or not 0 < len(door_id) <= MAX_ID_BYTES or door_id in seen:
            raise IssueError(
                "invalid_argument", "each leaf: unique door id of 1-32 bytes, at least one kind"
            )
        seen.add(door_id)
        union |= bits
        hashes.append(_leaf_hash(door_id, bits))
    return hashes, union


# Pure, and a server hashes the same doors' leaves for every key bundle of a district.
_leaf_hash = functools.lru_cache(maxsize=1 << 16)(leaf_hash)


def bundle_root(leaves: Sequence[BundleLeaf]) -> bytes:
    """The 16-byte Merkle root over ``leaves``, in the order given (the order is signed)."""
    return tree_levels(_leaf_hashes(leaves)[0])[-1][0]


def issue_bundle(
    *,
    issuer_key: IssuerKey,
    subject: str,
    subject_type: SubjectType,
    device_key: DevicePublicKey,
    leaves: Sequence[BundleLeaf],
    not_before: datetime,
    expires: datetime,
    serial: int,
    denylist_version: int,
    windows: Iterable[TimeWindow] = (),
    time_zone: str | None = None,
    credential_id: bytes | None = None,
) -> bytes:
    """Sign a bundle credential covering every door in ``leaves`` with one signature.

    The server returns these bytes together with ``leaves`` (same order) to the phone, which
    builds a presentation per door with ``present_bundle``. Same claims and refusals as
    ``issue_credential``; in addition 1-4096 leaves with unique door ids (``invalid_argument``),
    and a partner bundle with any home leaf is ``partner_home_door``. The CareKey kinds claim is
    the union of the leaves' kinds, so a door can check a leaf against it.
    """
    hashes, union = _leaf_hashes(leaves)
    claims, _ = _common_claims(
        issuer_key=issuer_key,
        subject=subject,
        subject_type=subject_type,
        device_key=device_key,
        kind_bits=union,
        not_before=not_before,
        expires=expires,
        serial=serial,
        denylist_version=denylist_version,
        windows=windows,
        time_zone=time_zone,
        credential_id=credential_id,
    )
    claims[CLAIM_BUNDLE] = {1: tree_levels(hashes)[-1][0], 2: len(hashes)}
    return sign1(cbor.dumps(claims), issuer_key.signer)


def bundle_proof(leaves: Sequence[BundleLeaf], index: int) -> tuple[bytes, ...]:
    """The inclusion proof of ``leaves[index]``: 16-byte sibling hashes, leaf level first.

    Pure; the phone calls it with the leaf list the server sent with the bundle credential.
    At most 12 hashes (4096 leaves); ⌈log2 n⌉ or fewer.
    """
    if not 0 <= index < len(leaves):
        raise ProtocolError("invalid_argument", "leaf index out of range")
    return proof_from_levels(tree_levels(_leaf_hashes(leaves)[0]), index)


def _unverified_bundle_claim(credential: bytes) -> tuple[bytes, int]:
    """Root and leaf count from a bundle credential's payload, without checking the signature."""
    payload = parse_sign1(credential, max_bytes=MAX_CREDENTIAL_BYTES).payload
    claims = cbor.loads(payload, max_bytes=MAX_CREDENTIAL_BYTES, max_depth=5, max_items=160)
    bundle = claims.get(CLAIM_BUNDLE) if isinstance(claims, dict) else None
    if not isinstance(bundle, dict) or not isinstance(bundle.get(1), bytes):
        raise ProtocolError("invalid_argument", "not a bundle credential")
    size = bundle.get(2)
    if not isinstance(size, int):
        raise ProtocolError("invalid_argument", "not a bundle credential")
    return bundle[1], size


def present_bundle(credential: bytes, leaves: Sequence[BundleLeaf], door_id: bytes) -> bytes:
    """Phone side: the presentation of bundle ``credential`` for the door ``door_id``.

    ``leaves`` is the list the server sent with the credential. The phone sends the result in
    place of a plain credential. Raises ``invalid_argument`` when the door is not in the bundle
    or the leaves do not match the credential's signed root (a phone-side mix-up, caught before
    a door refuses it), ``oversized`` if it would exceed 1,024 bytes.
    """
    if all(leaf.door_id != door_id for leaf in leaves):
        raise ProtocolError("invalid_argument", "door not in the bundle")
    return bundle_presenter(credential, leaves)(door_id)


def bundle_presenter(credential: bytes, leaves: Sequence[BundleLeaf]) -> Callable[[bytes], bytes]:
    """Phone side: check ``leaves`` against ``credential``'s signed root once, and return a
    function ``door_id -> presentation`` (the tree is built once for all the bundle's doors).
    Raises as :func:`present_bundle`."""
    root, size = _unverified_bundle_claim(credential)
    levels = tree_levels(_leaf_hashes(leaves)[0])
    if levels[-1][0] != root or size != len(leaves):
        raise ProtocolError("invalid_argument", "the leaves do not match the credential")
    index_of = {leaf.door_id: i for i, leaf in enumerate(leaves)}

    def present(door_id: bytes) -> bytes:
        index = index_of.get(door_id)
        if index is None:
            raise ProtocolError("invalid_argument", "door not in the bundle")
        leaf = leaves[index]
        return Presentation(
            credential, index, leaf.door_id, leaf.kind_bits, proof_from_levels(levels, index)
        ).encode()

    return present


def _get(claims: dict[int | str, object], key: int, kind: type, name: str) -> object:
    value = claims.get(key)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise DecodeError("malformed", f"claim {name} missing or of the wrong type")
    return value


def _id_list(value: object, name: str) -> tuple[bytes, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not value:
        raise DecodeError("malformed", f"{name} must be a non-empty list")
    if any(not isinstance(v, bytes) or not 0 < len(v) <= MAX_ID_BYTES for v in value):
        raise DecodeError("malformed", f"{name} ids must be 1-{MAX_ID_BYTES} bytes")
    return tuple(value)


def _uint(value: object, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_SERIAL:
        raise DecodeError("malformed", f"{name} must be an unsigned integer")
    return value


_PLAIN_CLAIMS: Final = frozenset({1, 2, 4, 5, 7, 8, CLAIM_CAREKEY})
_BUNDLE_CLAIMS: Final = _PLAIN_CLAIMS | {CLAIM_BUNDLE}


def _bundle_claim(value: object, kind_bits: int) -> BundleClaim:
    if not isinstance(value, dict) or set(value) != {1, 2}:
        raise DecodeError("malformed", "bundle claim must be {1: root, 2: leaf count}")
    root, size = value[1], value[2]
    if not isinstance(root, bytes) or len(root) != HASH_BYTES:
        raise DecodeError("malformed", f"bundle root must be {HASH_BYTES} bytes")
    if not isinstance(size, int) or isinstance(size, bool) or not 0 < size <= MAX_BUNDLE_LEAVES:
        raise DecodeError("malformed", f"bundle leaf count must be 1-{MAX_BUNDLE_LEAVES}")
    return BundleClaim(root, size, _KINDS_OF_BITS[kind_bits])


def _decode_signed(
    data: bytes, keyring: IssuerKeyring, partner_keyring: IssuerKeyring | None
) -> Credential:
    """Signature and structure of a plain or bundle credential (COSE_Sign1 bytes)."""
    message = parse_sign1(data, max_bytes=MAX_CREDENTIAL_BYTES)
    key, partner = issuer_key_for(message.kid, keyring, partner_keyring)
    payload = message.verify_with(key.key)
    claims = cbor.loads(payload, max_bytes=MAX_CREDENTIAL_BYTES, max_depth=5, max_items=160)
    if not isinstance(claims, dict) or set(claims) not in (_PLAIN_CLAIMS, _BUNDLE_CLAIMS):
        raise DecodeError("malformed", "unexpected or missing claims")
    is_bundle = CLAIM_BUNDLE in claims
    issuer = str(_get(claims, 1, str, "iss"))
    subject = str(_get(claims, 2, str, "sub"))
    exp = _uint(claims[4], "exp")
    nbf = _uint(claims[5], "nbf")
    if not is_time(exp) or not is_time(nbf):
        raise DecodeError("malformed", "times are 0..253402300799 (before year 10000)")
    cti = _get(claims, 7, bytes, "cti")
    assert isinstance(cti, bytes)  # narrowed by _get
    cnf = claims[8]
    if not isinstance(cnf, dict) or set(cnf) != {1}:
        raise DecodeError("malformed", "cnf must hold exactly one COSE_Key")
    device_key = DevicePublicKey.from_cose_key(cnf[1])
    private = claims[CLAIM_CAREKEY]
    if not isinstance(private, dict) or not {3, 4, 5, 6} <= set(private) <= set(range(1, 10)):
        raise DecodeError("malformed", "CareKey claims missing or unknown")
    if issuer != key.issuer:
        raise SignatureError("wrong_issuer", f"{issuer!r} signed by a key of {key.issuer!r}")
    if len(cti) != CREDENTIAL_ID_BYTES or not 0 < len(subject.encode()) <= MAX_SUBJECT_BYTES:
        raise DecodeError("malformed", "bad cti or sub")
    doors = _id_list(private.get(1), "doors")
    groups = _id_list(private.get(2), "door groups")
    kind_bits = _uint(private[3], "kinds")
    if not 0 < kind_bits < 8:
        raise DecodeError("malformed", "kinds out of range")
    rights: frozenset[Right] = frozenset()
    if 9 in private:
        right_bits = _uint(private[9], "rights")
        if not 0 < right_bits < 4:
            raise DecodeError("malformed", "rights out of range")
        rights = frozenset(r for r, bit in _RIGHT_BITS.items() if right_bits & bit)
    bundle: BundleClaim | None = None
    if is_bundle:
        if doors or groups or rights:
            raise DecodeError("malformed", "a bundle names no doors, groups or rights")
        bundle = _bundle_claim(claims[CLAIM_BUNDLE], kind_bits)
    elif not 0 < len(doors) + len(groups) <= MAX_TARGETS:
        raise DecodeError("malformed", "credential names no door or too many")
    subject_code = private[4]
    subject_type = next((t for t, c in _SUBJECT_CODES.items() if c == subject_code), None)
    if subject_type is None or isinstance(subject_code, bool):
        raise DecodeError("malformed", "unknown subject type")
    if exp <= nbf:
        raise DecodeError("malformed", "exp must be after nbf")
    if exp - nbf > MAX_VALIDITY.total_seconds():
        raise ValidityError("validity_too_long")
    windows: tuple[TimeWindow, ...] = ()
    time_zone: str | None = None
    if (7 in private) != (8 in private):
        raise DecodeError("malformed", "windows and time zone go together")
    if 7 in private:
        windows = decode_windows(private[7])
        tz_name = private[8]
        if not isinstance(tz_name, str):
            raise DecodeError("malformed", "time zone must be text")
        load_time_zone(tz_name)
        time_zone = tz_name
    try:
        not_before = datetime.fromtimestamp(nbf, UTC)
        expires = datetime.fromtimestamp(exp, UTC)
    except (OverflowError, OSError, ValueError):
        raise DecodeError("malformed", "time out of range") from None
    if partner:
        check_partner_claims(subject_type is SubjectType.PARTNER, bool(rights), kind_bits)
    return Credential(
        credential_id=cti,
        issuer=issuer,
        issuer_kid=message.kid,
        subject=subject,
        subject_type=subject_type,
        device_key=device_key,
        doors=doors,
        door_groups=groups,
        kinds=_KINDS_OF_BITS[kind_bits],
        not_before=not_before,
        expires=expires,
        serial=_uint(private[5], "serial"),
        denylist_version=_uint(private[6], "denylist version"),
        windows=windows,
        time_zone=time_zone,
        raw=bytes(data),
        rights=rights,
        bundle=bundle,
        partner_issued=partner,
    )


def _decode_presentation(
    data: bytes, keyring: IssuerKeyring, partner_keyring: IssuerKeyring | None
) -> Credential:
    """Signature, structure and inclusion proof of a bundle presentation."""
    presentation = decode_presentation(data)
    signed = _decode_signed(presentation.credential, keyring, partner_keyring)
    bundle = signed.bundle
    if bundle is None:
        raise DecodeError("malformed", "a presentation must carry a bundle credential")
    leaf = leaf_hash(presentation.door_id, presentation.kind_bits)
    root = root_from_proof(leaf, presentation.index, bundle.size, presentation.proof)
    if root is None or not secrets.compare_digest(root, bundle.root):
        raise SignatureError("bad_proof")
    leaf_kinds = _KINDS_OF_BITS[presentation.kind_bits]
    if not leaf_kinds <= bundle.kinds:
        raise DecodeError("malformed", "leaf kinds outside the credential's kinds")
    if signed.partner_issued:  # implied by the union's check; stated for the leaf itself
        check_partner_claims(True, False, presentation.kind_bits)
    return Credential(
        credential_id=signed.credential_id,
        issuer=signed.issuer,
        issuer_kid=signed.issuer_kid,
        subject=signed.subject,
        subject_type=signed.subject_type,
        device_key=signed.device_key,
        doors=(presentation.door_id,),
        door_groups=(),
        kinds=leaf_kinds,
        not_before=signed.not_before,
        expires=signed.expires,
        serial=signed.serial,
        denylist_version=signed.denylist_version,
        windows=signed.windows,
        time_zone=signed.time_zone,
        raw=bytes(data),
        bundle=bundle,
        leaf_index=presentation.index,
        partner_issued=signed.partner_issued,
    )


def decode_credential(
    data: bytes, *, keyring: IssuerKeyring, partner_keyring: IssuerKeyring | None = None
) -> Credential:
    """Check the signature and structure of a credential, without any door or time policy.

    For the phone and the server, which want to read a credential they hold (plain or bundle);
    a door uses it to attribute a refused credential. Doors call ``verify_credential``. A bundle
    *presentation* is accepted too: its inclusion proof is checked (``bad_proof``) and the
    result names the presented door. Raises ``ProtocolError`` (``malformed``, ``oversized``,
    ``unknown_issuer_key``, ``retired_issuer_key``, ``bad_signature``, ``bad_proof``,
    ``wrong_issuer``, ``validity_too_long``, ``unknown_time_zone``).

    ``partner_keyring`` (entrances and gates only; None trusts no partner key) holds the partner
    issuer keys: a credential signed by one must be a partner's, without rights, for entrances
    and gates only, else ``partner_issuer_misuse`` (see ``partner``).
    """
    if len(data) > MAX_PRESENTATION_BYTES:
        raise DecodeError("oversized", f"{len(data)} bytes > {MAX_PRESENTATION_BYTES}")
    if is_presentation(data):
        return _decode_presentation(data, keyring, partner_keyring)
    return _decode_signed(data, keyring, partner_keyring)


def verify_credential(
    data: bytes,
    *,
    keyring: IssuerKeyring,
    door_id: bytes,
    door_kind: DoorKind,
    now: datetime | None,
    clock_tolerance: timedelta,
    door_groups: Collection[bytes] = (),
    denylist: Denylist | None = None,
    last_serial: int | None = None,
    partner_keyring: IssuerKeyring | None = None,
) -> Credential:
    """The door's decision on a credential: return it if the door may open, else raise.

    ``data`` is a plain credential or a bundle presentation (told apart by the first byte).
    Checks, in order (the first failure is the refusal code the door logs): structure
    (``malformed``/``oversized``), issuer key (``unknown_issuer_key``/``retired_issuer_key``),
    signature (``bad_signature``), claims (``wrong_issuer``, ``validity_too_long``; signed by a
    key of ``partner_keyring``: ``partner_issuer_misuse``, see ``decode_credential``), a
    presentation's inclusion proof (``bad_proof``), door (``wrong_door``; a presentation must
    name this door, and a bundle credential without a presentation names none), kind
    (``wrong_kind``: the door's kind must be one of the credential's — for a presentation, the
    leaf's — kinds, and a partner never opens a home door), denylist (``denylisted``: the
    credential, phone or subject; ``door_withdrawn``: this door is withdrawn and the credential
    holds no right), time (``time_unknown`` when ``now`` is None, i.e. the door lost its clock;
    ``not_yet_valid`` when ``now < nbf - tolerance``; ``expired`` when
    ``now >= exp + tolerance``), windows (``outside_window``, widened by the tolerance) and
    serial (``old_serial`` when ``last_serial`` — the highest serial this door accepted from the
    same subject — is higher).

    ``now`` is the door's clock as an aware datetime; ``clock_tolerance`` is how far it may be
    off (see ``timetoken.drift_tolerance``). Every credential is time-limited (≤ 9 h), so a door
    that does not know the time refuses all of them.
    """
    if clock_tolerance < timedelta(0):
        raise ProtocolError("invalid_argument", "clock tolerance must not be negative")
    if now is not None and now.tzinfo is None:
        raise ProtocolError("invalid_argument", "now must be timezone-aware")
    credential = decode_credential(data, keyring=keyring, partner_keyring=partner_keyring)
    if credential.bundle is not None and credential.leaf_index is None:
        raise ValidityError("wrong_door", "a bundle credential must be presented for one door")
    if not credential.names_door(door_id, door_groups):
        raise ValidityError("wrong_door")
    if door_kind not in credential.kinds:
        raise ValidityError("wrong_kind", f"{door_kind} not in credential kinds")
    if credential.subject_type is SubjectType.PARTNER and (
        door_kind is DoorKind.HOME
        or DoorKind.HOME in credential.kinds
        or (credential.bundle is not None and DoorKind.HOME in credential.bundle.kinds)
    ):
        raise ValidityError("wrong_kind", "partner credential at a home door")
    if denylist is not None:
        if denylist.blocks(credential):
            raise ValidityError("denylisted")
        if not credential.rights and denylist.blocks_door(door_id):
            raise ValidityError("door_withdrawn")
    if now is None:
        raise ValidityError("time_unknown")
    if now < credential.not_before - clock_tolerance:
        raise ValidityError("not_yet_valid")
    if now - clock_tolerance >= credential.expires:  # not ``expires + tolerance``: year 9999
        raise ValidityError("expired")
    if credential.windows:
        assert credential.time_zone is not None  # decode_credential guarantees the pair
        tz = load_time_zone(credential.time_zone)
        if not is_within(credential.windows, now, tz, clock_tolerance):
            raise ValidityError("outside_window")
    if last_serial is not None and credential.serial < last_serial:
        raise ValidityError("old_serial", f"{credential.serial} < {last_serial}")
    return credential
