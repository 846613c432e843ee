"""The published test vectors are reproduced byte for byte and verify with the decoders."""

from __future__ import annotations

import itertools
import json
from datetime import datetime, timedelta
from pathlib import Path

from carekey.protocol import vectors
from carekey.protocol.bundle import leaf_hash, node_hash, root_from_proof
from carekey.protocol.credential import (
    BundleLeaf,
    DoorKind,
    Right,
    SubjectType,
    bundle_root,
    decode_credential,
    verify_credential,
)
from carekey.protocol.denylist import DenylistState, EntryKind
from carekey.protocol.events import ChainAnchor, EventKind, verify_chain
from carekey.protocol.keys import DoorPublicKey, Ed25519Public, IssuerKeyring
from carekey.protocol.timetoken import accept_time_token

VECTORS_FILE = Path(__file__).with_name("vectors.json")


def load() -> dict[str, object]:
    data = json.loads(VECTORS_FILE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_vectors_file_matches_the_implementation_byte_for_byte() -> None:
    expected = json.dumps(vectors.generate(), indent=2, sort_keys=True) + "\n"
    assert VECTORS_FILE.read_text(encoding="utf-8") == expected, (
        "regenerate with: python -m carekey.protocol.vectors > tests/protocol/vectors.json"
    )


def test_vectors_verify_from_their_published_public_keys() -> None:
    v = load()
    keys = v["keys"]
    assert isinstance(keys, dict)
    issuer_public = Ed25519Public(bytes.fromhex(keys["issuer_public"]))
    assert issuer_public.kid.hex() == keys["issuer_kid"]
    keyring = IssuerKeyring.of([vectors.issuer_key().public])
    assert keyring.active[0].key == issuer_public
    now = datetime.fromisoformat(str(v["now"]))
    door_id = bytes.fromhex(str(v["door_id"]))
    entrance_id = bytes.fromhex(str(v["entrance_id"]))
    creds = v["credential"]
    assert isinstance(creds, dict)

    home = verify_credential(
        bytes.fromhex(creds["home"]),
        keyring=keyring,
        door_id=door_id,
        door_kind=DoorKind.HOME,
        now=now,
        clock_tolerance=timedelta(0),
    )
    assert home.device_key.compressed.hex() == keys["device_public_compressed"]
    assert len(bytes.fromhex(creds["home"])) <= 300
    windowed = verify_credential(
        bytes.fromhex(creds["windowed"]),
        keyring=keyring,
        door_id=entrance_id,
        door_kind=DoorKind.ENTRANCE,
        now=now + timedelta(hours=1),  # 09:00 CEST on Sunday
        clock_tolerance=timedelta(0),
    )
    assert windowed.time_zone == "Europe/Copenhagen"
    partner = verify_credential(
        bytes.fromhex(creds["partner"]),
        keyring=keyring,
        door_id=entrance_id,
        door_kind=DoorKind.ENTRANCE,
        now=now,
        clock_tolerance=timedelta(0),
    )
    assert partner.subject_type is SubjectType.PARTNER

    tokens = v["time_token"]
    assert isinstance(tokens, dict)
    token = accept_time_token(
        bytes.fromhex(tokens["challenge"]),
        keyring=keyring,
        door_id=door_id,
        last_token_time=None,
        door_now=None,
        expected_nonce=vectors.NONCE,
    )
    assert token.time == now

    lists = v["denylist"]
    assert isinstance(lists, dict)
    state = DenylistState().apply(bytes.fromhex(lists["snapshot_v7"]), keyring=keyring)
    state = state.apply(bytes.fromhex(lists["delta_v7_v8"]), keyring=keyring)
    assert state.version == 8
    assert {kind for kind, _ in state.entries} == {EntryKind.DEVICE, EntryKind.SUBJECT}

    events = v["events"]
    assert isinstance(events, list)
    door_key = DoorPublicKey(Ed25519Public(bytes.fromhex(keys["door_public"])))
    report = verify_chain([bytes.fromhex(e) for e in events], door_key=door_key, door_id=door_id)
    assert report.ok
    assert [e.kind for e in report.events][1] is EventKind.UNLOCKED
    assert report.anchor == ChainAnchor(4, bytes.fromhex(str(v["event_chain_head"])))


def test_bundle_vectors_verify_and_recompute_from_the_leaf_list() -> None:
    v = load()
    keyring = IssuerKeyring.of([vectors.issuer_key().public])
    now = datetime.fromisoformat(str(v["now"]))
    b = v["bundle"]
    assert isinstance(b, dict)
    bits = {DoorKind.HOME: 1, DoorKind.ENTRANCE: 2, DoorKind.GATE: 4}
    leaves = [
        BundleLeaf.of(
            bytes.fromhex(x["door_id"]), [k for k, bit in bits.items() if x["kinds"] & bit]
        )
        for x in b["leaves"]
    ]
    assert leaves == list(vectors.BUNDLE_LEAVES)
    hashes = [leaf_hash(bytes.fromhex(x["door_id"]), x["kinds"]) for x in b["leaves"]]
    assert [h.hex() for h in hashes] == [x["hash"] for x in b["leaves"]]
    levels = b["levels"]
    assert levels[0] == [h.hex() for h in hashes]
    for lower, upper in itertools.pairwise(levels):
        pairs = [
            node_hash(bytes.fromhex(lower[i]), bytes.fromhex(lower[i + 1])).hex()
            for i in range(0, len(lower) - 1, 2)
        ]
        assert upper == pairs + (lower[-1:] if len(lower) % 2 else [])
    assert levels[-1] == [b["root"]]
    credential = decode_credential(bytes.fromhex(b["credential"]), keyring=keyring)
    assert credential.bundle is not None
    assert credential.bundle.root.hex() == b["root"]
    assert credential.bundle.size == len(leaves)
    for name, door, kind in (
        ("presentation_home", vectors.DOOR_ID, DoorKind.HOME),
        ("presentation_gate", vectors.GATE_ID, DoorKind.GATE),
    ):
        presented = verify_credential(
            bytes.fromhex(b[name]),
            keyring=keyring,
            door_id=door,
            door_kind=kind,
            now=now,
            clock_tolerance=timedelta(0),
        )
        assert presented.doors == (door,)
        assert presented.leaf_index is not None
        assert presented.kinds == {kind}
    assert bundle_root(leaves).hex() == b["root"]
    assert root_from_proof(hashes[0], 0, 5, []) is None

    creds = v["credential"]
    assert isinstance(creds, dict)
    installer = decode_credential(bytes.fromhex(creds["installer"]), keyring=keyring)
    assert installer.rights == {Right.INSTALLER}
    lists = v["denylist"]
    assert isinstance(lists, dict)
    state = DenylistState().apply(bytes.fromhex(lists["door_withdrawn_v9"]), keyring=keyring)
    assert state.blocks_door(vectors.DOOR_ID)
    assert not state.blocks_door(vectors.ENTRANCE_ID)


def test_denylist_pieces_and_the_freshness_vector_verify() -> None:
    from carekey.protocol.freshness import decode_freshness

    v = load()
    keyring = IssuerKeyring.of([vectors.issuer_key().public])
    now = datetime.fromisoformat(str(v["now"]))
    pieces = v["denylist_pieces"]
    assert isinstance(pieces, dict)
    state = DenylistState(version=3)
    for piece in reversed(pieces["pieces"]):  # any order
        state = state.apply(bytes.fromhex(piece["data"]), keyring=keyring, now=now)
    assert state.version == pieces["version"]
    assert sorted(i.hex() for _, i in state.entries) == sorted(pieces["entries"])
    fresh = v["freshness"]
    assert isinstance(fresh, dict)
    proof = decode_freshness(bytes.fromhex(fresh["proof"]), keyring=keyring)
    assert proof.device_key_id.hex() == fresh["device_key_id"]
    assert proof.issued_at == now
    assert proof.expires - proof.issued_at == timedelta(minutes=55)
    assert proof.denylist_version == 9


def test_the_correction_time_token_vector_verifies() -> None:
    from carekey.protocol.timetoken import decode_time_token

    v = load()
    tokens = v["time_token"]
    assert isinstance(tokens, dict)
    keyring = IssuerKeyring.of([vectors.issuer_key().public])
    token = decode_time_token(bytes.fromhex(tokens["correction"]), keyring=keyring)
    assert token.correction
    assert token.door_id == bytes.fromhex(str(v["door_id"]))
    assert token.nonce == vectors.NONCE
