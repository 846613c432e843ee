"""Issue 12, "a lost phone opens nothing": the opened keys seal again after idle or in the
background, the code at the door opens in one call, and every wipe reaches the audit log."""

from __future__ import annotations

import pytest

from carekey.app.client import AppError
from carekey.app.outbox import APP_EVENT
from carekey.app.service import KeyApp
from tests.app.conftest import CODE, DOORS, World

DOOR = DOORS[0]


def _app_events(app: KeyApp) -> list[tuple[str, str | None]]:
    return [
        (i.payload["kind"], i.payload["reason"])
        for i in app.outbox.pending()
        if i.kind == APP_EVENT
    ]


def _door_events(world: World, door_id: str) -> int:
    return world.server.doors[door_id].flash.chain.next_seq


def test_a_found_phone_whose_keys_sealed_after_idle_opens_nothing(world: World) -> None:
    app = world.logged_in()
    assert app.open(DOOR).ok  # the employee at the door
    world.advance(seconds=app.policy.seal_after_s + 1)  # the phone is left on a bench
    before = {d: _door_events(world, d) for d in DOORS}
    connects = sum(world.connects.values())
    for door_id in DOORS:  # the finder tries every door
        with pytest.raises(AppError) as info:
            app.open(door_id)
        assert info.value.code == "app.locked"
        assert info.value.message_da == "Indtast din personlige kode"
    assert sum(world.connects.values()) == connects  # no door saw a request
    assert {d: _door_events(world, d) for d in DOORS} == before
    assert app.sealed
    with pytest.raises(AppError):
        app.doors()


def test_use_keeps_the_keys_open_and_tick_seals_when_due(world: World) -> None:
    app = world.logged_in()
    for _ in range(3):
        world.advance(seconds=120)
        assert app.open(DOOR).ok  # each use starts the idle time again
        assert app.lock_door(DOOR).ok
    assert not app.sealed
    world.advance(seconds=179)
    app.tick()
    assert not app.sealed
    world.advance(seconds=1)
    app.tick()
    assert app.sealed
    assert not app.status().unlocked


def test_the_server_policy_sets_the_idle_time(world: World) -> None:
    world.server.seal_after_s = 30
    app = world.logged_in()
    assert app.policy.seal_after_s == 30
    world.advance(seconds=31)
    assert not app.status().unlocked


def test_background_seals_at_once(world: World) -> None:
    app = world.logged_in()
    assert app.open(DOOR).ok
    app.background()
    assert app.sealed
    with pytest.raises(AppError) as info:
        app.open(DOORS[1])
    assert info.value.code == "app.locked"
    with pytest.raises(AppError) as info:
        app.lock_door(DOORS[1])
    assert info.value.code == "app.locked"
    assert app.open(DOORS[1], CODE).ok


def test_the_door_just_opened_locks_again_without_the_code_for_a_visit(world: World) -> None:
    app = world.logged_in()
    assert app.open(DOOR).ok
    app.background()
    world.advance(seconds=40 * 60)  # the visit
    prompts = app.code_prompts
    assert app.lock_door(DOOR).ok  # locking up: no code
    assert app.code_prompts == prompts
    assert app.sealed  # and the keys stay sealed: nothing else opens
    with pytest.raises(AppError):
        app.open(DOOR)
    # After the grace (90 minutes from the opening) the code is needed again.
    assert app.open(DOOR, CODE).ok
    app.background()
    world.advance(seconds=91 * 60)
    with pytest.raises(AppError) as info:
        app.lock_door(DOOR)
    assert info.value.code == "app.locked"


def test_a_wipe_forgets_the_doors_that_could_lock_without_the_code(world: World) -> None:
    app = world.logged_in()
    assert app.open(DOOR).ok
    app.wipe("blocked")
    with pytest.raises(AppError) as info:
        app.lock_door(DOOR)
    assert info.value.code == "app.no_keys"


def test_the_code_at_the_door_opens_in_one_call(world: World) -> None:
    world.logged_in()
    app = world.start()  # a new run of the app: the keys are sealed
    assert app.sealed
    assert app.status().keys_present
    outcome = app.open(DOOR, CODE)
    assert outcome.ok, outcome.message()
    assert (app.code_prompts, app.visits) == (1, 1)
    world.advance(seconds=60)
    assert app.open(DOORS[1]).ok  # still open: no code needed
    assert app.open(DOORS[2], CODE).ok  # a code given while open is not used
    assert (app.code_prompts, app.visits) == (1, 3)
    assert "login" not in [kind for kind, _ in _app_events(app)[1:]]  # not a new login


def test_no_keys_at_the_door_says_log_in(world: World) -> None:
    app = world.start()
    app.enrol("ONE-TIME")
    with pytest.raises(AppError) as info:
        app.open(DOOR, CODE)
    assert info.value.code == "app.no_keys"


def test_wrong_codes_at_the_door_count_wipe_and_are_audited(world: World) -> None:
    world.logged_in().sync()
    app = world.start()
    limit = app.wallet.wrong_code_limit if app.wallet else 5
    for left in range(limit - 1, 0, -1):
        with pytest.raises(AppError) as info:
            app.open(DOOR, "0000")
        assert info.value.code == "wallet.wrong_code"
        assert f"{left} forsøg" in info.value.message_da
    with pytest.raises(AppError) as info:
        app.open(DOOR, "0000")
    assert info.value.code == "wallet.wiped_wrong_codes"
    assert app.code_prompts == limit
    assert sum(world.connects.values()) == 0
    assert not app.status().keys_present
    assert ("wiped", "wrong_codes") in _app_events(app)
    with pytest.raises(AppError):
        app.open(DOOR, CODE)  # the right code is too late
    assert app.sync() >= 1
    assert {"kind": "wiped", "reason": "wrong_codes"}.items() <= (
        world.server.uploaded_app_events()[-1].items()
    )


def test_the_expiry_wipe_is_audited_and_uploaded_under_the_next_login(world: World) -> None:
    app = world.logged_in()
    app.sync()
    del app
    world.advance(hours=8, seconds=1)
    app = world.start()
    assert app.wallet_expired_on_start
    assert _app_events(app) == [("wiped", "expired")]
    app.login("E0001", "password", CODE)  # the next shift, a new session
    assert app.sync() == 2
    token, body = world.server.uploads[-1]
    assert token == "token-2"
    assert [e["kind"] for e in body["app_events"]] == ["wiped", "login"]


def test_keys_expiring_while_the_app_runs_are_audited_by_tick(world: World) -> None:
    app = world.logged_in()
    app.sync()
    world.server.online = False
    world.advance(hours=8, seconds=1)
    app.tick()
    assert not app.status().keys_present
    assert _app_events(app) == [("wiped", "expired")]


def test_a_wipe_from_the_server_forgets_the_proof_too(world: World) -> None:
    app = world.logged_in()
    assert app.live.proof() is not None
    world.server.status = "WIPE"
    assert app.heartbeat() == "WIPE"
    assert app.live.proof() is None
    assert not (app.data_dir / "live.json").exists()
    assert ("wiped", "blocked") in _app_events(app)
