"""A denylist too big for one Bluetooth message, signed as pieces a door takes in any order."""

from __future__ import annotations

import datetime as dt
import itertools
import os
import random

import pytest

from carekey.protocol.denylist import (
    MAX_ENTRIES,
    PIECE_ENTRIES,
    PREFIX_SPACE,
    PRUNE_MARGIN,
    DenylistEntry,
    DenylistState,
    EntryKind,
    id_prefix,
    issue_denylist_delta,
    issue_denylist_pieces,
    issue_denylist_snapshot,
)
from carekey.protocol.errors import ProtocolError
from carekey.protocol.keys import IssuerKey, IssuerKeyring

NOW = dt.datetime(2026, 1, 6, 9, 0, tzinfo=dt.UTC)
LATER = NOW + dt.timedelta(hours=6)


@pytest.fixture(scope="module")
def issuer() -> IssuerKey:
    return IssuerKey.generate("101")


@pytest.fixture(scope="module")
def ring(issuer: IssuerKey) -> IssuerKeyring:
    return IssuerKeyring.of([issuer.public])


def _entries(n: int, seed: int = 1) -> list[DenylistEntry]:
    rng = random.Random(seed)
    kinds = list(EntryKind)
    return [
        DenylistEntry(rng.choice(kinds), rng.randbytes(16), LATER + dt.timedelta(seconds=i))
        for i in range(n)
    ]


@pytest.fixture(scope="module")
def full(issuer: IssuerKey) -> tuple[list[DenylistEntry], list[bytes]]:
    entries = _entries(MAX_ENTRIES)
    pieces = issue_denylist_pieces(issuer_key=issuer, version=40, entries=entries, now=NOW)
    return entries, [p.data for p in pieces]


def test_a_full_list_is_cut_into_small_pieces_covering_every_id(issuer: IssuerKey) -> None:
    pieces = issue_denylist_pieces(
        issuer_key=issuer, version=40, entries=_entries(MAX_ENTRIES), now=NOW
    )
    assert sum(p.count for p in pieces) == MAX_ENTRIES
    assert max(p.count for p in pieces) <= PIECE_ENTRIES
    assert max(len(p.data) for p in pieces) <= 2_600  # rides next to a 1,024-byte credential
    assert pieces[0].lo == 0
    assert pieces[-1].hi == PREFIX_SPACE
    assert all(a.hi == b.lo for a, b in itertools.pairwise(pieces))


def test_a_small_list_is_one_piece_the_same_as_a_snapshot(issuer: IssuerKey) -> None:
    entries = _entries(20)
    (piece,) = issue_denylist_pieces(issuer_key=issuer, version=3, entries=entries, now=NOW)
    snapshot = issue_denylist_snapshot(issuer_key=issuer, version=3, entries=entries, now=NOW)
    assert piece.data == snapshot
    assert (piece.lo, piece.hi, piece.count) == (0, PREFIX_SPACE, 20)


def test_pieces_in_any_order_catch_a_door_up_and_block_at_once(
    ring: IssuerKeyring, full: tuple[list[DenylistEntry], list[bytes]]
) -> None:
    entries, pieces = full
    order = list(pieces)
    random.Random(5).shuffle(order)
    state = DenylistState(version=2)
    first = state.apply(order[0], keyring=ring, now=NOW)
    assert first.version == 2
    assert first.coverage  # not complete yet
    assert len(first) > 0  # but what the piece blocks is blocked already
    for raw in order:
        state = state.apply(raw, keyring=ring, now=NOW)
    assert state.version == 40
    assert state.coverage == ()
    assert set(state.entries) == {e.key for e in entries}


def test_a_newer_version_mid_catch_up_completes_at_the_older_one_without_losing_a_block(
    issuer: IssuerKey, ring: IssuerKeyring
) -> None:
    entries = _entries(1_000, seed=2)
    old = issue_denylist_pieces(issuer_key=issuer, version=10, entries=entries, now=NOW)
    # Blocked in version 11, in the upper half of the id space (which the newer phone brings).
    newcomer = DenylistEntry(EntryKind.DEVICE, b"\xff" + os.urandom(15), LATER)
    new = issue_denylist_pieces(
        issuer_key=issuer, version=11, entries=[*entries, newcomer], now=NOW
    )
    state = DenylistState(version=1)
    half = len(old) // 2
    for piece in old[:half]:
        state = state.apply(piece.data, keyring=ring, now=NOW)
    for piece in new:  # another phone, which checked in after the next block
        if piece.hi > old[half].lo:
            state = state.apply(piece.data, keyring=ring, now=NOW)
    assert state.version == 10  # each range holds at least version 10
    assert newcomer.key in state.entries
    assert {e.key for e in entries} <= set(state.entries)
    # An older piece for a range held at 11 changes nothing there.
    again = state
    for piece in old:
        again = again.apply(piece.data, keyring=ring, now=NOW)
    assert newcomer.key in again.entries
    delta = issue_denylist_delta(
        issuer_key=issuer, base_version=10, version=11, added=[newcomer], now=NOW
    )
    assert state.apply(delta, keyring=ring, now=NOW).version == 11


def test_a_newer_piece_drops_what_was_unblocked_in_its_range(
    issuer: IssuerKey, ring: IssuerKeyring
) -> None:
    entries = _entries(300, seed=3)
    state = DenylistState()
    for piece in issue_denylist_pieces(issuer_key=issuer, version=5, entries=entries, now=NOW):
        state = state.apply(piece.data, keyring=ring, now=NOW)
    lifted = entries[0]
    for piece in issue_denylist_pieces(issuer_key=issuer, version=6, entries=entries[1:], now=NOW):
        state = state.apply(piece.data, keyring=ring, now=NOW)
    assert state.version == 6
    assert lifted.key not in state.entries
    assert len(state) == 299


def test_holds_answers_for_the_doors_own_range(issuer: IssuerKey, ring: IssuerKeyring) -> None:
    entries = _entries(1_000, seed=4)
    pieces = issue_denylist_pieces(issuer_key=issuer, version=9, entries=entries, now=NOW)
    state = DenylistState(version=3).apply(pieces[2].data, keyring=ring, now=NOW)
    inside = pieces[2].lo
    outside = pieces[5].lo
    assert state.holds(inside, 9)
    assert not state.holds(outside, 9)
    assert state.holds(outside, 3)
    assert state.held_ranges(9) == [[pieces[2].lo, pieces[2].hi]]
    assert all(id_prefix(k[1]) >= pieces[2].lo for k in state.entries)


def test_a_tampered_piece_or_an_entry_outside_its_range_is_refused(
    issuer: IssuerKey, ring: IssuerKeyring
) -> None:
    pieces = issue_denylist_pieces(issuer_key=issuer, version=9, entries=_entries(500), now=NOW)
    raw = bytearray(pieces[1].data)
    raw[40] ^= 1
    with pytest.raises(ProtocolError):
        DenylistState().apply(bytes(raw), keyring=ring, now=NOW)
    with pytest.raises(ProtocolError) as caught:
        DenylistState(version=9).apply(pieces[0].data, keyring=ring, now=NOW).apply(
            issue_denylist_pieces(issuer_key=issuer, version=8, entries=_entries(5), now=NOW)[
                0
            ].data,
            keyring=ring,
            now=NOW,
        )
    assert caught.value.code == "stale_denylist"


def test_the_door_keeps_an_entry_for_its_largest_tolerance_past_expiry(
    issuer: IssuerKey, ring: IssuerKeyring
) -> None:
    entry = DenylistEntry(EntryKind.CREDENTIAL, os.urandom(16), NOW)
    snapshot = issue_denylist_snapshot(issuer_key=issuer, version=1, entries=[entry], now=NOW)
    state = DenylistState().apply(snapshot, keyring=ring, now=NOW)
    assert entry.key in state.pruned(NOW + PRUNE_MARGIN - dt.timedelta(seconds=1)).entries
    assert entry.key not in state.pruned(NOW + PRUNE_MARGIN).entries
