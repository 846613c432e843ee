"""The Merkle tree of a bundle credential and the presentation a phone sends to one door.

A *bundle credential* (``credential.issue_bundle``) lets one issuer signature cover a whole
shift of doors (≈ 200 at login, at most ``MAX_BUNDLE_LEAVES``). Instead of a door list it signs
the root of a Merkle tree over the doors, and the phone shows each door only its own leaf and
the path to the root. This module holds the byte-level parts, with no policy and no knowledge of
door kinds beyond their bit set; ``credential`` builds on it.

Tree (RFC 9162 §2.1.1 shape, hashes truncated to ``HASH_BYTES``):

- leaf ``i`` is the canonical CBOR array ``[door_id (bstr 1-32 B), kinds (uint bit set 1-7)]``;
- ``leaf_hash = SHA-256(0x00 || leaf)[:16]`` and ``node_hash = SHA-256(0x01 || left || right)
  [:16]``: the prefix byte separates leaves from inner nodes, so an inner node can never be
  passed off as a leaf (the second-preimage attack on unprefixed trees);
- levels are built bottom-up by pairing neighbours; an odd node at the end of a level is
  *promoted* unchanged to the next level (never duplicated, as Bitcoin does, which lets two leaf
  lists share a root). This is exactly RFC 9162's recursive definition (split at the largest
  power of two below ``n``), so the verification algorithm of RFC 9162 §2.1.3.2 applies: given
  the signed leaf count, the leaf index fixes the proof's exact length and the side of every
  sibling, and a proof of any other length is refused.

Presentation (what the phone sends in place of a plain credential)::

    [ credential: bstr (the signed bundle COSE_Sign1),
      index:      uint (the leaf's position, < leaf count),
      door_id:    bstr 1-32 B,
      kinds:      uint 1-7,
      proof:      bstr (concatenated 16-byte sibling hashes, leaf level first, ≤ 12 of them) ]

It is an untagged CBOR array, so its first byte (``0x85``) tells it apart from a plain credential
(``0xd2``, tag 18). The whole presentation is at most ``MAX_PRESENTATION_BYTES``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from carekey.protocol import cbor
from carekey.protocol.errors import DecodeError, ProtocolError

HASH_BYTES: Final = 16
MAX_BUNDLE_DEPTH: Final = 12
MAX_BUNDLE_LEAVES: Final = 1 << MAX_BUNDLE_DEPTH
MAX_PRESENTATION_BYTES: Final = 1024
MAX_DOOR_ID_BYTES: Final = 32
"""A door's protocol id (its serial) is 1 to this many bytes: in leaves, time tokens, sessions."""
PRESENTATION_HEAD: Final = 0x85
"""First byte of a presentation: a CBOR array of 5 items (a plain credential starts 0xd2)."""

_LEAF_PREFIX: Final = b"\x00"
_NODE_PREFIX: Final = b"\x01"
_sha256 = hashlib.sha256


def encode_leaf(door_id: bytes, kind_bits: int) -> bytes:
    """Canonical CBOR of the leaf ``[door_id, kinds]`` (door id 1-32 bytes, kinds 1-7)."""
    n = len(door_id)
    if not 0 < n <= MAX_DOOR_ID_BYTES or not 0 < kind_bits < 8:
        raise ProtocolError("invalid_argument", "leaf: door id 1-32 bytes, kinds 1-7")
    # array(2), bstr head (one byte below 24, else 0x58 n), door id, uint < 24 in one byte
    head = bytes((0x82, 0x40 | n)) if n < 24 else bytes((0x82, 0x58, n))
    return head + door_id + bytes((kind_bits,))


# The hashed bytes of a leaf are ``prefix || head(len(door_id)) || door_id || kinds``; the first
# and last parts come from these tables (same bytes as ``_LEAF_PREFIX + encode_leaf(...)``,
# without building the CBOR piece by piece: ~200 leaves are hashed for every key bundle).
_LEAF_HEADS: Final = tuple(
    _LEAF_PREFIX + (bytes((0x82, 0x40 | n)) if n < 24 else bytes((0x82, 0x58, n)))
    for n in range(MAX_DOOR_ID_BYTES + 1)
)
_KIND_BYTES: Final = tuple(bytes((bits,)) for bits in range(8))


def leaf_hash(door_id: bytes, kind_bits: int) -> bytes:
    """``SHA-256(0x00 || CBOR [door_id, kinds])`` truncated to 16 bytes."""
    n = len(door_id)
    if not 0 < n <= MAX_DOOR_ID_BYTES or not 0 < kind_bits < 8:
        raise ProtocolError("invalid_argument", "leaf: door id 1-32 bytes, kinds 1-7")
    return _sha256(_LEAF_HEADS[n] + door_id + _KIND_BYTES[kind_bits]).digest()[:HASH_BYTES]


def node_hash(left: bytes, right: bytes) -> bytes:
    """``SHA-256(0x01 || left || right)`` truncated to 16 bytes."""
    return _sha256(_NODE_PREFIX + left + right).digest()[:HASH_BYTES]


def tree_levels(leaf_hashes: Sequence[bytes]) -> list[list[bytes]]:
    """Every level of the tree, leaves first and the one-element root level last.

    Neighbours are paired; an odd last node is promoted unchanged (RFC 9162 shape).
    """
    if not 0 < len(leaf_hashes) <= MAX_BUNDLE_LEAVES:
        raise ProtocolError("invalid_argument", f"a bundle has 1-{MAX_BUNDLE_LEAVES} leaves")
    level = list(leaf_hashes)
    levels = [level]
    while len(level) > 1:
        paired = [
            _sha256(_NODE_PREFIX + level[i] + level[i + 1]).digest()[:HASH_BYTES]
            for i in range(0, len(level) - 1, 2)
        ]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
        levels.append(level)
    return levels


def merkle_root(leaf_hashes: Sequence[bytes]) -> bytes:
    """The root over the given leaf hashes (a single leaf is its own root)."""
    return tree_levels(leaf_hashes)[-1][0]


def proof_from_levels(levels: Sequence[Sequence[bytes]], index: int) -> tuple[bytes, ...]:
    """The inclusion proof of leaf ``index``: sibling hashes from the leaf level up."""
    if not 0 <= index < len(levels[0]):
        raise ProtocolError("invalid_argument", "leaf index out of range")
    path: list[bytes] = []
    for level in levels[:-1]:
        sibling = index ^ 1
        if sibling < len(level):
            path.append(level[sibling])
        index >>= 1
    return tuple(path)


def root_from_proof(leaf: bytes, index: int, size: int, proof: Sequence[bytes]) -> bytes | None:
    """Recompute the root from a leaf hash and its proof (RFC 9162 §2.1.3.2), or None.

    None when the proof cannot belong to leaf ``index`` of a ``size``-leaf tree (too short, too
    long, index out of range): its length is fully determined by ``index`` and ``size``.
    """
    if not 0 <= index < size:
        return None
    fn, sn, result = index, size - 1, leaf
    for sibling in proof:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            result = _sha256(_NODE_PREFIX + sibling + result).digest()[:HASH_BYTES]
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            result = _sha256(_NODE_PREFIX + result + sibling).digest()[:HASH_BYTES]
        fn >>= 1
        sn >>= 1
    return result if sn == 0 else None


def proof_length(index: int, size: int) -> int:
    """How many sibling hashes the proof of leaf ``index`` in a ``size``-leaf tree has."""
    if not 0 <= index < size:
        raise ProtocolError("invalid_argument", "leaf index out of range")
    length = 0
    while size > 1:
        if index ^ 1 < size:
            length += 1
        index >>= 1
        size = (size + 1) >> 1
    return length


@dataclass(frozen=True, slots=True)
class Presentation:
    """A bundle presentation as sent to one door (structure checked, nothing verified yet)."""

    credential: bytes
    index: int
    door_id: bytes
    kind_bits: int
    proof: tuple[bytes, ...]

    def encode(self) -> bytes:
        """The wire form ``[credential, index, door_id, kinds, proof]`` (deterministic CBOR)."""
        data = cbor.dumps(
            [self.credential, self.index, self.door_id, self.kind_bits, b"".join(self.proof)]
        )
        if len(data) > MAX_PRESENTATION_BYTES:
            raise ProtocolError("oversized", f"presentation {len(data)} bytes")
        return data


def is_presentation(data: bytes) -> bool:
    """Whether ``data`` claims to be a bundle presentation (rather than a plain credential)."""
    return len(data) > 0 and data[0] == PRESENTATION_HEAD


def decode_presentation(data: bytes) -> Presentation:
    """Parse a presentation from untrusted bytes; refuses ``oversized`` or ``malformed``.

    Checks sizes and types only; the signature and the proof are checked by
    ``credential.decode_credential``.
    """
    items = cbor.loads(data, max_bytes=MAX_PRESENTATION_BYTES, max_depth=1, max_items=5)
    if not isinstance(items, list) or len(items) != 5:
        raise DecodeError("malformed", "a presentation is an array of 5")
    credential, index, door_id, kind_bits, proof = items
    if not isinstance(credential, bytes) or not isinstance(door_id, bytes):
        raise DecodeError("malformed", "credential and door id must be byte strings")
    if not 0 < len(door_id) <= MAX_DOOR_ID_BYTES:
        raise DecodeError("malformed", f"door id must be 1-{MAX_DOOR_ID_BYTES} bytes")
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < MAX_BUNDLE_LEAVES:
        raise DecodeError("malformed", "leaf index")
    if not isinstance(kind_bits, int) or isinstance(kind_bits, bool) or not 0 < kind_bits < 8:
        raise DecodeError("malformed", "leaf kinds")
    if not isinstance(proof, bytes) or len(proof) % HASH_BYTES:
        raise DecodeError("malformed", f"proof must be {HASH_BYTES}-byte hashes")
    if len(proof) > MAX_BUNDLE_DEPTH * HASH_BYTES:
        raise DecodeError("oversized", f"proof longer than {MAX_BUNDLE_DEPTH} hashes")
    path = tuple(proof[i : i + HASH_BYTES] for i in range(0, len(proof), HASH_BYTES))
    return Presentation(credential, index, door_id, kind_bits, path)
