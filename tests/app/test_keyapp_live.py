"""The live material outside the wallet (proof of freshness, denylist pieces, time token,
policy): renewed while the keys are sealed, its warning, online first at the door, and the
fallbacks for an older server."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pytest

from carekey.app.cli import status_line
from carekey.app.client import AppError
from carekey.app.live import LiveStore, Policy
from carekey.app.outbox import APP_EVENT
from carekey.clock import FrozenClock
from carekey.protocol.denylist import DenylistEntry, EntryKind
from tests.app.conftest import CODE, DOORS, START, World, make_world

DOOR = DOORS[0]


def _entries(n: int) -> list[DenylistEntry]:
    until = START + dt.timedelta(days=2)
    return [
        DenylistEntry(EntryKind.DEVICE, hashlib.sha256(b"%d" % i).digest()[:16], until)
        for i in range(n)
    ]


def test_heartbeats_while_sealed_renew_the_proof_so_the_door_opens_after_the_code(
    world: World,
) -> None:
    app = world.logged_in()
    first = app.live.proof()
    app.background()
    wallet = (app.data_dir / "wallet.bin").read_bytes()
    for _ in range(7):  # 70 minutes in the pocket, sealed, with coverage
        world.advance(minutes=10)
        app.tick()
    assert app.sealed
    assert app.live.proof() not in (None, first)
    assert (app.data_dir / "wallet.bin").read_bytes() == wallet  # the wallet was not touched
    world.server.online = False  # into the stairwell
    outcome = app.open(DOOR, CODE)
    assert outcome.ok, outcome.message()


def test_an_expired_proof_warns_first_then_gives_the_coverage_advice(world: World) -> None:
    app = world.logged_in()
    world.server.online = False
    status = app.status()
    assert status.freshness_expires_at == START + dt.timedelta(seconds=3300)
    assert not status.freshness_warning
    assert "dækning" not in status_line(status)
    world.advance(minutes=41)  # 14 minutes left
    app.tick()
    status = app.status()
    assert status.freshness_warning
    assert not status.freshness_expired
    assert "Find dækning inden kl. 08:40, ellers kan dørene ikke åbnes" in status_line(status)
    assert "Find coverage before 08:40 or doors will not open" in status_line(status, "en")
    world.advance(minutes=20)
    status = app.status()
    assert status.freshness_expired
    assert "dækning" in status_line(status)
    outcome = app.open(DOOR, CODE)  # offline and expired: the door still decides
    assert not outcome.ok
    assert outcome.code == "freshness_expired"
    assert "dækning" in outcome.message_da
    assert "coverage" in outcome.message_en
    assert world.connects[DOOR] == 1


def test_open_checks_in_first_and_a_refresh_drops_a_removed_door(world: World) -> None:
    app = world.logged_in()
    world.server.door_ids.remove(DOORS[2])  # the citizen left the solution
    world.server.status = "REFRESH"
    world.advance(seconds=61)
    with pytest.raises(AppError) as info:
        app.open(DOORS[2])
    assert info.value.code == "app.unknown_door"
    assert world.connects[DOORS[2]] == 0
    assert world.server.calls[-2:] == ["/heartbeat", "/bundle"]
    assert DOORS[2] not in {d.door_id for d in app.doors()}


def test_a_refresh_while_sealed_is_fetched_at_the_code_at_the_door(world: World) -> None:
    app = world.logged_in()
    app.background()
    world.server.door_ids.remove(DOORS[2])
    world.server.status = "REFRESH"
    world.advance(seconds=61)
    app.tick()  # sealed: no code to store the new keys under
    assert app.live.refresh_pending
    assert "/bundle" not in world.server.calls
    world.server.status = "OK"
    with pytest.raises(AppError) as info:
        app.open(DOORS[2], CODE)
    assert info.value.code == "app.unknown_door"
    assert not app.live.refresh_pending
    assert app.open(DOOR).ok


def test_a_refresh_pending_waits_while_offline(world: World) -> None:
    app = world.logged_in()
    app.background()
    world.server.status = "REFRESH"
    world.advance(seconds=61)
    app.tick()
    world.server.online = False
    assert app.open(DOOR, CODE).ok  # the old keys still open offline
    assert app.live.refresh_pending


def test_open_checks_in_first_and_a_wipe_opens_nothing(world: World) -> None:
    app = world.logged_in()
    world.server.status = "WIPE"
    world.advance(seconds=61)
    outcome = app.open(DOOR)
    assert not outcome.ok
    assert outcome.code == "wiped"
    assert "ikke åbnet" in outcome.message_da
    assert "not opened" in outcome.message_en
    assert world.connects[DOOR] == 0
    assert not app.status().keys_present
    kinds = [(i.payload["kind"], i.payload["reason"]) for i in app.outbox.pending()]
    assert ("wiped", "blocked") in kinds


def test_no_check_in_within_a_minute_and_never_before_locking(world: World) -> None:
    app = world.logged_in()
    calls = len(world.server.calls)
    world.advance(seconds=30)
    assert app.open(DOOR).ok
    world.advance(seconds=60)
    assert app.lock_door(DOOR).ok
    assert len(world.server.calls) == calls
    world.advance(seconds=1)
    world.server.online = False  # offline: the door goes on at once
    assert app.open(DOOR).ok
    assert app.status().online is False


def test_denylist_pieces_reach_the_door_and_the_heartbeat_sends_the_version(
    world: World,
) -> None:
    for entry in _entries(5):
        world.server.block(entry)
    app = world.logged_in()
    carried = app.live.carried()
    assert carried is not None
    assert carried.version == 5
    assert len(carried.pieces) >= 3
    assert app.live.carried() is carried  # built once per version
    outcome = app.open(DOOR)
    assert outcome.ok, outcome.message()
    assert world.server.doors[DOOR].flash.denylist.version == 5  # caught up after the answer
    world.advance(seconds=61)
    assert app.heartbeat() == "OK"
    assert world.server.heartbeat_bodies[-1] == {"denylist_version": 5}
    assert app.live.carried() is carried  # "denylist": null kept the pieces
    world.server.block(_entries(6)[-1])
    world.advance(seconds=61)
    app.heartbeat()
    assert app.live.denylist_version == 6
    assert app.open(DOORS[1]).ok
    assert world.server.doors[DOORS[1]].flash.denylist.version == 6


def test_an_older_server_without_proof_pieces_or_policy(tmp_path: Path) -> None:
    world = make_world(tmp_path, new_server=False)
    for entry in _entries(2):
        world.server.block(entry)
    app = world.logged_in()
    assert app.live.proof() is None
    assert app.policy == Policy()
    assert app.live.carried() is None
    assert app.live.snapshot(0) is not None
    assert app.live.snapshot(2) is None
    status = app.status()
    assert status.freshness_expires_at is None
    assert not status.freshness_warning
    outcome = app.open(DOOR)  # doors of today need a proof: the app says what to do
    assert outcome.code == "freshness_missing"
    assert "dækning" in outcome.message_da
    world.advance(seconds=61)
    assert app.heartbeat() == "OK"
    assert world.server.heartbeat_bodies[-1] == {"denylist_version": 2}


def test_the_live_files_survive_a_restart_and_tolerate_junk(tmp_path: Path) -> None:
    clock = FrozenClock(START)
    live = LiveStore(tmp_path, clock=clock)
    live.apply(
        {
            "freshness": {"proof": "AAAA", "expires_at": "2026-11-26T07:40:00+00:00"},
            "policy": {"seal_after_s": 60, "freshness_s": True, "freshness_warn_s": -1},
            "denylist": {"version": 3, "pieces": [[0, 10, "AQ=="], ["x"], [10, 2**32, "Ag==", 7]]},
            "time_token": "AAE=",
        }
    )
    again = LiveStore(tmp_path, clock=clock)
    assert again.proof() == b"\0\0\0"
    assert again.policy == Policy(seal_after_s=60)
    carried = again.carried()
    assert carried is not None
    assert [p.data for p in carried.pieces] == [b"\1", b"\2"]
    assert again.time_token(dt.timedelta(seconds=45)) == b"\0\1"
    clock.advance(dt.timedelta(seconds=46))
    assert again.time_token(dt.timedelta(seconds=45)) is None
    again.apply({"denylist": {"version": 2, "pieces": [[0, 2**32, "Aw=="]]}})  # older: ignored
    assert again.denylist_version == 3
    (tmp_path / "live.json").write_text("not json")
    assert LiveStore(tmp_path, clock=clock).proof() is None
    again.forget()
    assert not (tmp_path / "denylist.json").exists()


def test_a_proof_without_a_stated_expiry_lasts_the_policy(tmp_path: Path) -> None:
    clock = FrozenClock(START)
    live = LiveStore(tmp_path, clock=clock)
    assert live.freshness_expired()
    assert not live.freshness_warning()
    live.apply({"freshness": {"proof": "AAAA"}, "policy": {"freshness_s": 600}})
    assert live.freshness_expires_at == START + dt.timedelta(seconds=600)
    assert live.freshness_warning()  # 600 s left < 900 s


def test_wipe_events_are_valid_app_events(world: World) -> None:
    app = world.logged_in()
    app.wipe("blocked")
    assert all(i.kind == APP_EVENT for i in app.outbox.pending())


def test_locking_never_waits_for_the_network(world: World) -> None:
    app = world.logged_in()
    app.background()
    world.server.status = "REFRESH"
    world.advance(seconds=61)
    app.tick()  # sealed: the new keys wait
    calls = len(world.server.calls)
    assert app.lock_door(DOOR, CODE).ok  # neither a check-in nor the pending bundle first
    assert len(world.server.calls) == calls
    assert app.live.refresh_pending
