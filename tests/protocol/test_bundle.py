"""Bundle credentials: one signature over a Merkle tree of doors, presented one door at a time."""

from __future__ import annotations

import hashlib
import time
import uuid
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carekey.protocol import bundle, cbor
from carekey.protocol.credential import (
    CLAIM_BUNDLE,
    CLAIM_CAREKEY,
    BundleLeaf,
    Credential,
    DoorKind,
    SubjectType,
    bundle_proof,
    bundle_root,
    decode_credential,
    issue_bundle,
    issue_credential,
    present_bundle,
    verify_credential,
)
from carekey.protocol.denylist import DenylistEntry, DenylistState, issue_denylist_snapshot
from carekey.protocol.errors import IssueError, ProtocolError
from carekey.protocol.keys import DeviceKey, IssuerKey, IssuerKeyring, parse_sign1, sign1
from carekey.protocol.windows import TimeWindow

ISSUER = IssuerKey.from_seed("101", bytes(range(32)))
OTHER_ISSUER = IssuerKey.from_seed("101", bytes(range(1, 33)))
KEYRING = IssuerKeyring.of([ISSUER.public])
DEVICE = DeviceKey.from_scalar(0xC0FFEE)
START = datetime(2026, 6, 1, 6, 0, tzinfo=UTC)
END = START + timedelta(hours=9)
NO_SLACK = timedelta(0)
CYCLE = (DoorKind.HOME, DoorKind.ENTRANCE, DoorKind.GATE)


def door(n: int) -> bytes:
    return uuid.UUID(int=n + 1).bytes


def leaves(n: int, kinds: tuple[DoorKind, ...] = CYCLE) -> list[BundleLeaf]:
    """A shift: citizen by citizen, home door, entrance and gate (as the server orders them)."""
    return [BundleLeaf.of(door(i), kinds[i % len(kinds)]) for i in range(n)]


def issue(leaf_list: list[BundleLeaf], **overrides: Any) -> bytes:
    args: dict[str, Any] = {
        "issuer_key": ISSUER,
        "subject": "emp-4711",
        "subject_type": SubjectType.EMPLOYEE,
        "device_key": DEVICE.public,
        "leaves": leaf_list,
        "not_before": START,
        "expires": END,
        "serial": 10,
        "denylist_version": 3,
    }
    args.update(overrides)
    return issue_bundle(**args)


@cache
def shift(n: int) -> tuple[bytes, tuple[BundleLeaf, ...]]:
    leaf_list = leaves(n)
    return issue(leaf_list, credential_id=bytes(15) + bytes([n % 256])), tuple(leaf_list)


def verify(data: bytes, leaf: BundleLeaf, **overrides: Any) -> Credential:
    args: dict[str, Any] = {
        "keyring": KEYRING,
        "door_id": leaf.door_id,
        "door_kind": min(leaf.kinds),
        "now": START + timedelta(hours=1),
        "clock_tolerance": NO_SLACK,
    }
    args.update(overrides)
    return verify_credential(data, **args)


def refusal(data: bytes, leaf: BundleLeaf, **overrides: Any) -> str:
    with pytest.raises(ProtocolError) as caught:
        verify(data, leaf, **overrides)
    return caught.value.code


def resign(data: bytes, change: Any, key: IssuerKey = ISSUER) -> bytes:
    """Decode the claims, let ``change`` edit them, and sign them again (an issuer bug)."""
    claims = cbor.loads(parse_sign1(data, max_bytes=1024).payload)
    assert isinstance(claims, dict)
    change(claims)
    return sign1(cbor.dumps(claims), key.signer)


def present_raw(credential: bytes, index: int, door_id: bytes, bits: int, proof: Any) -> bytes:
    return cbor.dumps([credential, index, door_id, bits, b"".join(proof)])


# --- the tree ---------------------------------------------------------------------------------


def reference_root(hashes: list[bytes]) -> bytes:
    """RFC 9162 §2.1.1 MTH, recursively: split at the largest power of two below n."""
    if len(hashes) == 1:
        return hashes[0]
    k = 1
    while k * 2 < len(hashes):
        k *= 2
    return bundle.node_hash(reference_root(hashes[:k]), reference_root(hashes[k:]))


@pytest.mark.parametrize("n", [*range(1, 40), 85, 200, 256, 257, 4096])
def test_tree_is_the_rfc9162_shape_and_every_proof_has_the_exact_length(n: int) -> None:
    leaf_list = leaves(n)
    hashes = [leaf.hash for leaf in leaf_list]
    root = bundle_root(leaf_list)
    assert root == reference_root(hashes)
    levels = bundle.tree_levels(hashes)
    for index in range(n) if n <= 257 else (0, 1, 2047, 2048, n - 1):
        proof = bundle.proof_from_levels(levels, index)
        assert len(proof) == bundle.proof_length(index, n) <= (n - 1).bit_length()
        assert bundle.root_from_proof(hashes[index], index, n, proof) == root
        assert bundle.root_from_proof(hashes[index], index, n, (*proof, root)) is None
        if proof:
            assert bundle.root_from_proof(hashes[index], index, n, proof[:-1]) is None


def test_leaf_and_node_hashes_are_domain_separated_and_truncated() -> None:
    leaf = BundleLeaf.of(door(0), DoorKind.HOME)
    encoded = cbor.dumps([door(0), 1])
    assert bundle.encode_leaf(door(0), 1) == encoded
    assert bundle.encode_leaf(bytes(32), 7) == cbor.dumps([bytes(32), 7])
    assert leaf.hash == hashlib.sha256(b"\x00" + encoded).digest()[:16]
    a, b = bytes(range(16)), bytes(range(16, 32))
    assert bundle.node_hash(a, b) == hashlib.sha256(b"\x01" + a + b).digest()[:16]
    # an inner node cannot pass for a leaf: the same bytes hash differently under each prefix
    two = leaves(2)
    inner = bundle_root(two)
    assert inner != hashlib.sha256(b"\x00" + two[0].hash + two[1].hash).digest()[:16]


def test_odd_node_is_promoted_not_duplicated() -> None:
    three = leaves(3)
    duplicated = [*three, three[2]]
    assert bundle_root(three) == bundle.node_hash(
        bundle.node_hash(three[0].hash, three[1].hash), three[2].hash
    )
    with pytest.raises(IssueError):  # and a duplicated door can never be issued
        bundle_root(duplicated)


# --- issue, present, verify --------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 2, 3, 85, 256])
def test_every_leaf_of_a_bundle_opens_its_own_door(n: int) -> None:
    credential, leaf_list = shift(n)
    decoded = decode_credential(credential, keyring=KEYRING)
    assert decoded.bundle is not None
    assert (decoded.bundle.root, decoded.bundle.size) == (bundle_root(leaf_list), n)
    assert decoded.doors == ()
    assert decoded.leaf is None
    assert decoded.kinds == frozenset().union(*(leaf.kinds for leaf in leaf_list))
    for index, leaf in enumerate(leaf_list):
        presentation = present_bundle(credential, leaf_list, leaf.door_id)
        opened = verify(presentation, leaf)
        assert opened.doors == (leaf.door_id,)
        assert opened.kinds == leaf.kinds
        assert opened.leaf == leaf
        assert opened.leaf_index == index
        assert opened.credential_id == decoded.credential_id
        assert opened.subject == "emp-4711"
        assert opened.device_key == DEVICE.public
        assert opened.bundle == decoded.bundle
        assert opened.raw == presentation
        assert len(bundle_proof(leaf_list, index)) == bundle.proof_length(index, n)


def test_sizes_one_signature_for_a_shift() -> None:
    sizes = {}
    for n in (1, 85, 256, 4096):
        credential, leaf_list = shift(n) if n <= 256 else (issue(leaves(n)), tuple(leaves(n)))
        presentations = [len(present_bundle(credential, leaf_list, leaf_list[-1].door_id))]
        presentations.append(len(present_bundle(credential, leaf_list, leaf_list[0].door_id)))
        sizes[n] = (len(credential), max(presentations))
    assert all(cred <= 230 for cred, _ in sizes.values())
    assert sizes[256][1] < 400  # well under the 600 bytes asked for
    assert sizes[4096][1] < 460
    assert sizes[1][1] < 260


def test_plain_and_bundle_credentials_are_told_apart() -> None:
    credential, leaf_list = shift(3)
    assert credential[0] == 0xD2
    assert present_bundle(credential, leaf_list, door(0))[0] == bundle.PRESENTATION_HEAD
    claims = cbor.loads(parse_sign1(credential, max_bytes=1024).payload)
    assert isinstance(claims, dict)
    assert set(claims[CLAIM_CAREKEY]) == {3, 4, 5, 6}  # no door list, no groups, no rights
    assert set(claims[CLAIM_BUNDLE]) == {1, 2}


def test_bundle_credential_without_a_presentation_opens_nothing() -> None:
    credential, leaf_list = shift(3)
    assert refusal(credential, leaf_list[0]) == "wrong_door"


def test_proof_for_one_leaf_never_opens_another_door() -> None:
    credential, leaf_list = shift(85)
    i, j = 9, 12  # both home doors
    proof_i = bundle_proof(leaf_list, i)
    honest = present_bundle(credential, leaf_list, leaf_list[i].door_id)
    assert refusal(honest, leaf_list[j]) == "wrong_door"
    relabelled = present_raw(credential, i, leaf_list[j].door_id, 1, proof_i)
    assert refusal(relabelled, leaf_list[j]) == "bad_proof"
    moved = present_raw(credential, j, leaf_list[j].door_id, 1, proof_i)
    assert refusal(moved, leaf_list[j]) == "bad_proof"
    swapped_index = present_raw(credential, j, leaf_list[i].door_id, 1, proof_i)
    assert refusal(swapped_index, leaf_list[i]) == "bad_proof"
    other_kind = present_raw(credential, i, leaf_list[i].door_id, 2, proof_i)
    assert refusal(other_kind, leaf_list[i], door_kind=DoorKind.ENTRANCE) == "bad_proof"


def test_presentation_for_another_door_or_kind_is_refused() -> None:
    credential, leaf_list = shift(6)
    gate = present_bundle(credential, leaf_list, leaf_list[2].door_id)
    assert refusal(gate, leaf_list[2], door_id=door(999)) == "wrong_door"
    assert refusal(gate, leaf_list[2], door_kind=DoorKind.HOME) == "wrong_kind"
    entrance = present_bundle(credential, leaf_list, leaf_list[1].door_id)
    assert refusal(entrance, leaf_list[1], door_kind=DoorKind.HOME) == "wrong_kind"
    assert verify(entrance, leaf_list[1], door_kind=DoorKind.ENTRANCE)


def test_proof_from_a_tree_the_issuer_never_signed_is_refused() -> None:
    credential, leaf_list = shift(85)
    target = BundleLeaf.of(door(5000), DoorKind.HOME)
    fake = [*leaf_list[:-1], target]
    proof = bundle_proof(fake, len(fake) - 1)
    forged = present_raw(credential, len(fake) - 1, target.door_id, 1, proof)
    assert refusal(forged, target) == "bad_proof"

    def swap_root(claims: dict[Any, Any]) -> None:
        claims[CLAIM_BUNDLE][1] = bundle_root(fake)

    unsigned_root = resign(credential, swap_root, key=OTHER_ISSUER)
    message = parse_sign1(unsigned_root, max_bytes=1024)
    original = parse_sign1(credential, max_bytes=1024)
    spliced = cbor.dumps(
        cbor.Tag(18, [original.protected, {}, message.payload, original.signature])
    )
    assert refusal(present_raw(spliced, 84, target.door_id, 1, proof), target) == "bad_signature"
    assert (
        refusal(present_raw(unsigned_root, 84, target.door_id, 1, proof), target)
        == "unknown_issuer_key"
    )


def test_every_single_byte_flip_in_a_presentation_is_refused() -> None:
    credential, leaf_list = shift(256)
    leaf = leaf_list[100]
    data = present_bundle(credential, leaf_list, leaf.door_id)
    assert verify(data, leaf)
    for position in range(len(data)):
        for mask in (0x01, 0x80):
            tampered = bytearray(data)
            tampered[position] ^= mask
            with pytest.raises(ProtocolError):
                verify(bytes(tampered), leaf)


def test_truncated_or_extended_presentation_is_refused() -> None:
    credential, leaf_list = shift(85)
    leaf = leaf_list[40]
    data = present_bundle(credential, leaf_list, leaf.door_id)
    for cut in range(len(data)):
        with pytest.raises(ProtocolError):
            verify(data[:cut], leaf)
    assert refusal(data + b"\x00", leaf) == "malformed"


def test_proof_too_long_or_presentation_too_big_is_refused() -> None:
    credential, leaf_list = shift(256)
    leaf = leaf_list[7]
    proof = bundle_proof(leaf_list, 7)
    assert len(proof) == 8
    longer = present_raw(credential, 7, leaf.door_id, 1, (*proof, bytes(16)))
    assert refusal(longer, leaf) == "bad_proof"
    shorter = present_raw(credential, 7, leaf.door_id, 1, proof[:-1])
    assert refusal(shorter, leaf) == "bad_proof"
    thirteen = present_raw(credential, 7, leaf.door_id, 1, (*proof, *[bytes(16)] * 5))
    assert refusal(thirteen, leaf) == "oversized"
    ragged = present_raw(credential, 7, leaf.door_id, 1, (*proof, b"\x00"))
    assert refusal(ragged, leaf) == "malformed"
    beyond = present_raw(credential, 256, leaf.door_id, 1, proof)
    assert refusal(beyond, leaf) == "bad_proof"
    huge = cbor.dumps([credential + bytes(900), 7, leaf.door_id, 1, b"".join(proof)])
    assert refusal(huge, leaf) == "oversized"
    assert refusal(bytes([0x85]) + bytes(2000), leaf) == "oversized"
    six = cbor.dumps([credential, 7, leaf.door_id, 1, b"".join(proof), 0])
    assert refusal(six, leaf) == "malformed"
    nested = cbor.dumps([credential, 7, leaf.door_id, 1, list(proof)])
    assert refusal(nested, leaf) in {"malformed", "oversized"}
    with pytest.raises(ProtocolError) as caught:
        bundle.Presentation(bytes(1000), 7, leaf.door_id, 1, proof).encode()
    assert caught.value.code == "oversized"


def test_presentation_must_carry_a_bundle_credential() -> None:
    plain = issue_credential(
        issuer_key=ISSUER,
        subject="emp-4711",
        subject_type=SubjectType.EMPLOYEE,
        device_key=DEVICE.public,
        kinds=DoorKind.HOME,
        not_before=START,
        expires=END,
        serial=1,
        denylist_version=1,
        doors=[door(0)],
    )
    leaf = BundleLeaf.of(door(0), DoorKind.HOME)
    assert refusal(present_raw(plain, 0, door(0), 1, ()), leaf) == "malformed"
    assert verify(plain, leaf).leaf is None


def test_partner_bundle_with_a_home_leaf_is_refused_at_issue_and_at_the_door() -> None:
    with pytest.raises(IssueError) as caught:
        issue(leaves(6), subject_type=SubjectType.PARTNER)
    assert caught.value.code == "partner_home_door"
    stairs = leaves(4, (DoorKind.ENTRANCE, DoorKind.GATE))
    partner = issue(stairs, subject_type=SubjectType.PARTNER)
    assert verify(present_bundle(partner, stairs, door(0)), stairs[0])

    # An issuer bug signs a partner bundle whose tree holds a home leaf.
    bad_tree = [BundleLeaf.of(door(9), DoorKind.HOME), *stairs]

    def home_in_tree(claims: dict[Any, Any]) -> None:
        claims[CLAIM_BUNDLE][1] = bundle_root(bad_tree)
        claims[CLAIM_BUNDLE][2] = len(bad_tree)
        claims[CLAIM_CAREKEY][3] = 7  # the union of the leaves' kinds, as issue_bundle computes

    forged = resign(partner, home_in_tree)
    for index, leaf in enumerate(bad_tree):
        presentation = present_raw(
            forged, index, leaf.door_id, leaf.kind_bits, bundle_proof(bad_tree, index)
        )
        assert refusal(presentation, leaf) == "wrong_kind"

    def hide_home(claims: dict[Any, Any]) -> None:
        home_in_tree(claims)
        claims[CLAIM_CAREKEY][3] = 6  # the union claim leaves the home leaf out

    hidden = resign(partner, hide_home)
    presentation = present_raw(hidden, 0, door(9), 1, bundle_proof(bad_tree, 0))
    assert refusal(presentation, bad_tree[0]) == "malformed"


def test_bundle_claims_are_checked_strictly() -> None:
    credential, leaf_list = shift(3)
    leaf = leaf_list[0]

    def check(change: Any, code: str = "malformed") -> None:
        forged = resign(credential, change)
        presentation = present_raw(forged, 0, leaf.door_id, 1, bundle_proof(leaf_list, 0))
        assert refusal(presentation, leaf) == code

    def add_doors(claims: dict[Any, Any]) -> None:
        claims[CLAIM_CAREKEY][1] = [leaf.door_id]

    def add_rights(claims: dict[Any, Any]) -> None:
        claims[CLAIM_CAREKEY][9] = 3

    def short_root(claims: dict[Any, Any]) -> None:
        claims[CLAIM_BUNDLE][1] = claims[CLAIM_BUNDLE][1][:8]

    def too_many(claims: dict[Any, Any]) -> None:
        claims[CLAIM_BUNDLE][2] = 4097

    def extra(claims: dict[Any, Any]) -> None:
        claims[CLAIM_BUNDLE][3] = 0

    def zero(claims: dict[Any, Any]) -> None:
        claims[CLAIM_BUNDLE][2] = 0

    for change in (add_doors, add_rights, short_root, too_many, extra, zero):
        check(change)

    def count_lies(claims: dict[Any, Any]) -> None:
        claims[CLAIM_BUNDLE][2] = 1  # a one-leaf tree has an empty proof

    check(count_lies, "bad_proof")


def test_all_credential_checks_apply_to_presentations() -> None:
    leaf_list = leaves(9)
    credential = issue(
        leaf_list,
        credential_id=b"\x07" * 16,
        windows=[TimeWindow.of(0, "07:00", "10:00")],  # Monday 1 June 2026
        time_zone="Europe/Copenhagen",
        expires=START + timedelta(hours=8),
    )
    leaf = leaf_list[3]
    data = present_bundle(credential, leaf_list, leaf.door_id)
    assert verify(data, leaf)
    assert refusal(data, leaf, now=None) == "time_unknown"
    assert refusal(data, leaf, now=START - timedelta(seconds=1)) == "not_yet_valid"
    assert refusal(data, leaf, now=START + timedelta(hours=8)) == "expired"
    assert refusal(data, leaf, now=START + timedelta(hours=4)) == "outside_window"
    assert refusal(data, leaf, last_serial=11) == "old_serial"
    assert refusal(data, leaf, keyring=IssuerKeyring()) == "unknown_issuer_key"
    for entry in (
        DenylistEntry.for_credential(b"\x07" * 16, END),
        DenylistEntry.for_device(DEVICE.public, END),
        DenylistEntry.for_subject("emp-4711", END),
    ):
        update = issue_denylist_snapshot(issuer_key=ISSUER, version=4, entries=[entry], now=START)
        state = DenylistState().apply(update, keyring=KEYRING)
        assert refusal(data, leaf, denylist=state) == "denylisted"


def test_withdrawn_door_refuses_presentations_for_it_only() -> None:
    credential, leaf_list = shift(6)
    home, other = leaf_list[0], leaf_list[3]
    update = issue_denylist_snapshot(
        issuer_key=ISSUER,
        version=1,
        entries=[DenylistEntry.for_door(home.door_id, END)],
        now=START,
    )
    state = DenylistState().apply(update, keyring=KEYRING)
    at_home = present_bundle(credential, leaf_list, home.door_id)
    assert refusal(at_home, home, denylist=state) == "door_withdrawn"
    assert verify(present_bundle(credential, leaf_list, other.door_id), other, denylist=state)


def test_issue_bundle_refuses_bad_leaf_lists() -> None:
    for bad in (
        [],
        leaves(4097),
        [*leaves(3), BundleLeaf.of(door(0), DoorKind.GATE)],
        [BundleLeaf(door(0), frozenset())],
        [BundleLeaf.of(b"", DoorKind.HOME)],
        [BundleLeaf.of(bytes(33), DoorKind.HOME)],
    ):
        with pytest.raises(IssueError) as caught:
            issue(bad)
        assert caught.value.code == "invalid_argument"
    with pytest.raises(IssueError) as caught:
        issue(leaves(3), expires=START + timedelta(hours=9, seconds=1))
    assert caught.value.code == "validity_too_long"


def test_present_bundle_catches_phone_side_mix_ups() -> None:
    credential, leaf_list = shift(85)
    for leaf_list_used, door_id in (
        (leaf_list, door(5000)),  # not in the bundle
        (leaf_list[:-1], door(0)),  # a leaf missing
        (tuple(reversed(leaf_list)), door(0)),  # another order: another root
    ):
        with pytest.raises(ProtocolError) as caught:
            present_bundle(credential, leaf_list_used, door_id)
        assert caught.value.code == "invalid_argument"
    plain = issue_credential(
        issuer_key=ISSUER,
        subject="emp-4711",
        subject_type=SubjectType.EMPLOYEE,
        device_key=DEVICE.public,
        kinds=DoorKind.HOME,
        not_before=START,
        expires=END,
        serial=1,
        denylist_version=1,
        doors=[door(0)],
    )
    with pytest.raises(ProtocolError):
        present_bundle(plain, leaf_list, door(0))
    with pytest.raises(ProtocolError):
        bundle_proof(leaf_list, 85)


def test_server_fast_path_issues_a_200_door_bundle_in_under_2_ms() -> None:
    leaf_list = leaves(200)
    issue(leaf_list)  # warm up
    best = float("inf")
    for _ in range(30):
        started = time.perf_counter()
        issue(leaf_list)
        best = min(best, time.perf_counter() - started)
    assert best < 0.002


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0), st.binary(min_size=1, max_size=8))
def test_splicing_random_bytes_into_a_presentation_is_refused(position: int, junk: bytes) -> None:
    credential, leaf_list = shift(85)
    leaf = leaf_list[40]
    data = present_bundle(credential, leaf_list, leaf.door_id)
    at = position % len(data)
    tampered = data[:at] + junk + data[at + len(junk) :]
    if tampered == data:
        return
    with pytest.raises(ProtocolError):
        verify(tampered, leaf)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_random_presentations_are_refused_with_a_code(tail: bytes) -> None:
    with pytest.raises(ProtocolError):
        verify(bytes([bundle.PRESENTATION_HEAD]) + tail, BundleLeaf.of(door(0), DoorKind.HOME))
