"""Signed, versioned denylists: snapshots, deltas, pruning and the door's rules."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from carekey.protocol import cbor
from carekey.protocol.credential import (
    DoorKind,
    Right,
    SubjectType,
    issue_credential,
    verify_credential,
)
from carekey.protocol.denylist import (
    MAX_ENTRIES,
    PRUNE_MARGIN,
    DenylistEntry,
    DenylistState,
    EntryKind,
    decode_denylist_update,
    diff_entries,
    door_entry_id,
    issue_denylist_delta,
    issue_denylist_snapshot,
    subject_id,
)
from carekey.protocol.errors import ProtocolError
from carekey.protocol.keys import DeviceKey, IssuerKey, IssuerKeyring, parse_sign1, sign1

ISSUER = IssuerKey.from_seed("101", bytes(range(32)))
FORGER = IssuerKey.from_seed("101", bytes(range(3, 35)))
KEYRING = IssuerKeyring.of([ISSUER.public])
NOW = datetime(2026, 2, 2, 8, 0, tzinfo=UTC)


def cred(n: int, hours: float = 8) -> DenylistEntry:
    return DenylistEntry.for_credential(n.to_bytes(16, "big"), NOW + timedelta(hours=hours))


def snapshot(version: int, entries: list[DenylistEntry], key: IssuerKey = ISSUER) -> bytes:
    return issue_denylist_snapshot(issuer_key=key, version=version, entries=entries, now=NOW)


def delta(base: int, version: int, added: list[DenylistEntry], removed: list[object] = []) -> bytes:  # noqa: B006
    return issue_denylist_delta(
        issuer_key=ISSUER,
        base_version=base,
        version=version,
        added=added,
        removed=removed,  # type: ignore[arg-type]
        now=NOW,
    )


def code_of(state: DenylistState, data: bytes, keyring: IssuerKeyring = KEYRING) -> str:
    with pytest.raises(ProtocolError) as caught:
        state.apply(data, keyring=keyring)
    return caught.value.code


def test_snapshot_then_delta() -> None:
    state = DenylistState().apply(snapshot(5, [cred(1), cred(2)]), keyring=KEYRING)
    assert state.version == 5
    assert set(state.entries) == {(EntryKind.CREDENTIAL, cred(n).id) for n in (1, 2)}
    state = state.apply(delta(5, 6, [cred(3)], [cred(1).key]), keyring=KEYRING)
    assert state.version == 6
    assert set(state.entries) == {(EntryKind.CREDENTIAL, cred(n).id) for n in (2, 3)}


def test_same_version_again_is_a_harmless_no_op() -> None:
    state = DenylistState().apply(snapshot(5, [cred(1)]), keyring=KEYRING)
    assert state.apply(snapshot(5, [cred(1)]), keyring=KEYRING) is state


def test_older_version_is_refused() -> None:
    state = DenylistState().apply(snapshot(5, [cred(1)]), keyring=KEYRING)
    assert code_of(state, snapshot(4, [])) == "stale_denylist"
    assert code_of(state, delta(3, 4, [])) == "stale_denylist"


def test_delta_on_the_wrong_base_is_refused() -> None:
    state = DenylistState().apply(snapshot(5, [cred(1)]), keyring=KEYRING)
    assert code_of(state, delta(4, 6, [cred(2)])) == "bad_delta_base"
    assert code_of(DenylistState(), delta(5, 6, [cred(2)])) == "bad_delta_base"


def test_forged_or_unsigned_denylist_is_refused() -> None:
    assert code_of(DenylistState(), snapshot(9, [], key=FORGER)) == "unknown_issuer_key"
    genuine = parse_sign1(snapshot(9, [cred(1)]), max_bytes=4096)
    emptied = cbor.loads(genuine.payload)
    assert isinstance(emptied, dict)
    emptied[-65539][3] = b""
    tampered = cbor.dumps(
        cbor.Tag(18, [genuine.protected, {}, cbor.dumps(emptied), genuine.signature])
    )
    assert code_of(DenylistState(), tampered) == "bad_signature"
    assert code_of(DenylistState(), genuine.payload) in {"malformed", "oversized"}
    for position in range(len(raw := snapshot(9, [cred(1)]))):
        flipped = bytearray(raw)
        flipped[position] ^= 0x04
        with pytest.raises(ProtocolError):
            DenylistState().apply(bytes(flipped), keyring=KEYRING)


def test_malformed_record_lists_are_refused() -> None:
    def signed(body: dict[int, object]) -> bytes:
        claims = {1: "101", 6: int(NOW.timestamp()), -65539: body}
        return sign1(cbor.dumps(claims), ISSUER.signer)

    record = bytes([1]) + bytes(16) + bytes(4)
    assert code_of(DenylistState(), signed({1: 1, 3: record[:-1]})) == "malformed"
    assert code_of(DenylistState(), signed({1: 1, 3: record + record})) == "malformed"  # dup
    assert code_of(DenylistState(), signed({1: 1, 3: bytes([9]) + record[1:]})) == "malformed"
    assert code_of(DenylistState(), signed({1: 1, 2: 1, 3: b"", 4: b""})) == "malformed"


def test_device_and_subject_entries() -> None:
    device = DeviceKey.from_scalar(99).public
    entries = [
        DenylistEntry.for_device(device, NOW + timedelta(hours=9)),
        DenylistEntry.for_subject("emp-0666", NOW + timedelta(hours=9)),
    ]
    update = decode_denylist_update(snapshot(1, entries), keyring=KEYRING)
    assert {e.key for e in update.entries} == {
        (EntryKind.DEVICE, device.key_id),
        (EntryKind.SUBJECT, subject_id("emp-0666")),
    }
    assert not update.is_delta


def test_server_leaves_out_and_door_prunes_entries_of_expired_credentials() -> None:
    old = cred(1, hours=-1)  # expired an hour ago, beyond the margin
    recent = cred(2, hours=-0.1)  # expired 6 minutes ago, within the margin
    live = cred(3)
    update = decode_denylist_update(snapshot(1, [old, recent, live]), keyring=KEYRING)
    assert {e.id for e in update.entries} == {recent.id, live.id}

    state = DenylistState().apply(snapshot(1, [recent, live]), keyring=KEYRING)
    later = NOW + PRUNE_MARGIN
    assert set(state.pruned(later).entries) == {live.key}
    assert state.pruned(NOW) is state


def test_diff_builds_the_delta_between_two_snapshots() -> None:
    old, new = [cred(1), cred(2)], [cred(2), cred(3)]
    added, removed = diff_entries(old, new)
    state = DenylistState().apply(snapshot(1, old), keyring=KEYRING)
    state = state.apply(delta(1, 2, added, removed), keyring=KEYRING)  # type: ignore[arg-type]
    fresh = DenylistState().apply(snapshot(2, new), keyring=KEYRING)
    assert dict(state.entries) == dict(fresh.entries)


def test_capacity_is_bounded() -> None:
    too_many = [cred(n) for n in range(MAX_ENTRIES + 1)]
    with pytest.raises(ProtocolError) as caught:
        snapshot(1, too_many)
    assert caught.value.code == "denylist_full"
    full = DenylistState().apply(snapshot(1, too_many[:MAX_ENTRIES]), keyring=KEYRING)
    assert len(full) == MAX_ENTRIES
    assert code_of(full, delta(1, 2, [too_many[-1]])) == "denylist_full"


# --- withdrawn doors (kind 4) -------------------------------------------------------------------

HOME_DOOR = b"\xd0" * 16
ENTRANCE_DOOR = b"\xe0" * 16


def withdrawn(version: int = 1, hours: float = 9) -> DenylistState:
    entry = DenylistEntry.for_door(HOME_DOOR, NOW + timedelta(hours=hours))
    return DenylistState().apply(snapshot(version, [entry]), keyring=KEYRING)


def door_credential(**overrides: object) -> bytes:
    args: dict[str, object] = {
        "issuer_key": ISSUER,
        "subject": "emp-4711",
        "subject_type": SubjectType.EMPLOYEE,
        "device_key": DeviceKey.from_scalar(7).public,
        "kinds": [DoorKind.HOME, DoorKind.ENTRANCE],
        "not_before": NOW,
        "expires": NOW + timedelta(hours=8),
        "serial": 1,
        "denylist_version": 0,
        "doors": [HOME_DOOR, ENTRANCE_DOOR],
    }
    args.update(overrides)
    return issue_credential(**args)  # type: ignore[arg-type]


def door_refusal(state: DenylistState, data: bytes, door_id: bytes, kind: DoorKind) -> str | None:
    try:
        verify_credential(
            data,
            keyring=KEYRING,
            door_id=door_id,
            door_kind=kind,
            now=NOW + timedelta(hours=1),
            clock_tolerance=timedelta(0),
            denylist=state,
        )
    except ProtocolError as error:
        return error.code
    return None


def test_door_entry_is_keyed_by_the_hash_of_the_door_id() -> None:
    entry = DenylistEntry.for_door(HOME_DOOR, NOW)
    assert entry.key == (EntryKind.DOOR, hashlib.sha256(HOME_DOOR).digest()[:16])
    assert entry.key == (EntryKind.DOOR, door_entry_id(HOME_DOOR))
    assert DenylistEntry.for_door(b"home-0001", NOW).kind is EntryKind.DOOR
    for bad in (b"", bytes(33)):
        with pytest.raises(ProtocolError):
            DenylistEntry.for_door(bad, NOW)


def test_withdrawn_door_refuses_every_credential_without_a_right_there_only() -> None:
    state = withdrawn()
    assert state.blocks_door(HOME_DOOR)
    assert not state.blocks_door(ENTRANCE_DOOR)
    plain = door_credential()
    assert door_refusal(state, plain, HOME_DOOR, DoorKind.HOME) == "door_withdrawn"
    assert door_refusal(state, plain, ENTRANCE_DOOR, DoorKind.ENTRANCE) is None
    assert door_refusal(DenylistState(), plain, HOME_DOOR, DoorKind.HOME) is None
    # a credential issued after the door was withdrawn is refused just the same
    later = door_credential(not_before=NOW + timedelta(minutes=30), denylist_version=1)
    assert door_refusal(state, later, HOME_DOOR, DoorKind.HOME) == "door_withdrawn"


@pytest.mark.parametrize(
    "rights", [[Right.INSTALLER], [Right.ADMIN], [Right.ADMIN, Right.INSTALLER]]
)
def test_installer_or_admin_still_opens_a_withdrawn_door(rights: list[Right]) -> None:
    installer = door_credential(subject="installer-3", rights=rights, doors=[HOME_DOOR])
    assert door_refusal(withdrawn(), installer, HOME_DOOR, DoorKind.HOME) is None


def test_door_entry_survives_snapshot_and_delta_round_trips() -> None:
    entry = DenylistEntry.for_door(HOME_DOOR, NOW + timedelta(hours=9))
    update = decode_denylist_update(snapshot(3, [entry, cred(1)]), keyring=KEYRING)
    assert entry in update.entries
    state = DenylistState().apply(snapshot(3, [cred(1)]), keyring=KEYRING)
    assert not state.blocks_door(HOME_DOOR)
    state = state.apply(delta(3, 4, [entry]), keyring=KEYRING)
    assert state.blocks_door(HOME_DOOR)
    assert state.entries[entry.key] == entry.expires
    state = state.apply(delta(4, 5, [], [entry.key]), keyring=KEYRING)
    assert not state.blocks_door(HOME_DOOR)
    assert (EntryKind.CREDENTIAL, cred(1).id) in state.entries


def test_door_entry_is_pruned_after_the_last_key_for_the_door_expired() -> None:
    state = withdrawn(hours=9)
    assert state.pruned(NOW + timedelta(hours=9)).blocks_door(HOME_DOOR)
    assert not state.pruned(NOW + timedelta(hours=9) + PRUNE_MARGIN).blocks_door(HOME_DOOR)
    late = NOW + timedelta(hours=10)
    stale = issue_denylist_snapshot(
        issuer_key=ISSUER,
        version=2,
        entries=[DenylistEntry.for_door(HOME_DOOR, NOW + timedelta(hours=9))],
        now=late,
    )
    assert not decode_denylist_update(stale, keyring=KEYRING).entries


def test_unknown_entry_kinds_are_still_refused() -> None:
    def signed(body: dict[int, object]) -> bytes:
        claims = {1: "101", 6: int(NOW.timestamp()), -65539: body}
        return sign1(cbor.dumps(claims), ISSUER.signer)

    for kind in (0, 5):
        record = bytes([kind]) + bytes(16) + bytes(4)
        assert code_of(DenylistState(), signed({1: 1, 3: record})) == "malformed"
    door_record = bytes([4]) + bytes(16) + bytes(4)
    assert DenylistState().apply(signed({1: 1, 3: door_record}), keyring=KEYRING).version == 1
