"""The door's state file: what survives a restart, atomic saving, and refusing damaged files.

A served door saving itself after every exchange is tested with the server
(``test_doorserver.py``).
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest

from carekey.devices.controller import EntranceController
from carekey.devices.hardware import DoorState
from carekey.devices.homelock import HomeLock
from carekey.devices.kinds import build_door
from carekey.devices.statefile import DoorStateError, load_door, save_door
from carekey.protocol.credential import DoorKind
from carekey.protocol.events import EventKind
from carekey.protocol.keys import DoorKey
from carekey.protocol.session import Command
from carekey.sim.testbed import Phone, Testbed

START = dt.datetime(2026, 3, 2, 7, 10, tzinfo=dt.UTC)


@pytest.fixture
def bed() -> Testbed:
    return Testbed(start=START)


@pytest.fixture
def lock(bed: Testbed) -> HomeLock:
    return bed.home_lock()


@pytest.fixture
def phone(bed: Testbed, lock: HomeLock) -> Phone:
    phone = bed.phone("mette")
    bed.credential(phone, lock.door_id)
    return phone


def test_a_pending_auto_relock_survives_a_restart(
    bed: Testbed, lock: HomeLock, phone: Phone, tmp_path: Path
) -> None:
    path = tmp_path / "door.json"
    assert bed.visit(phone, lock).ok
    save_door(lock, path)
    bed.clock.advance(dt.timedelta(seconds=4))
    door = load_door(path, bed.clock)
    states = [door.state]
    door.tick()
    states.append(door.state)  # 6 of its 10 seconds are left
    bed.clock.advance(dt.timedelta(seconds=6))
    door.tick()
    states.append(door.state)
    assert states == [DoorState.UNLOCKED, DoorState.UNLOCKED, DoorState.LOCKED]
    assert door.events[-1].event.kind is EventKind.AUTO_RELOCKED


def test_a_controller_and_unknown_time_round_trip(bed: Testbed, tmp_path: Path) -> None:
    door = build_door(
        serial="GATE-7",
        kind="gate",
        keyring=bed.keyring,
        clock=bed.clock,
        door_key=DoorKey.generate(),
        synced=False,
    )
    save_door(door, tmp_path / "gate.json")
    loaded = load_door(tmp_path / "gate.json", bed.clock)
    assert isinstance(loaded, EntranceController)
    assert loaded.kind is DoorKind.GATE
    assert not loaded.time_known
    assert loaded.battery is None


def test_saving_is_atomic(lock: HomeLock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "door.json"
    save_door(lock, path)
    original = path.read_bytes()

    def crash(src: str, dst: str) -> None:
        raise OSError("power cut")

    lock.manual_turn(locked=False)  # a change that is never saved
    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="power cut"):
        save_door(lock, path)
    assert path.read_bytes() == original
    assert [p.name for p in tmp_path.iterdir()] == ["door.json"]


def _tamper(path: Path, change: str) -> None:
    state = json.loads(path.read_text())
    if change == "event":
        raw = bytearray.fromhex(state["ring"][0])
        raw[-1] ^= 1  # the signature no longer verifies
        state["ring"][0] = raw.hex()
    elif change == "chain":
        state["chain"]["next_seq"] += 1
    elif change == "dropped_event":
        del state["ring"][0]
        state["ring"].append(state["ring"][0])
    elif change == "key":
        state["door_key_seed"] = DoorKey.generate().signer.seed().hex()
    elif change == "format":
        state["version"] = 99
    elif change == "keyring":
        state["keyring"] = []
    path.write_text(json.dumps(state))


@pytest.mark.parametrize("change", ["event", "chain", "dropped_event", "key", "format", "keyring"])
def test_a_damaged_state_file_is_refused(
    bed: Testbed, lock: HomeLock, phone: Phone, tmp_path: Path, change: str
) -> None:
    bed.visit(phone, lock)
    bed.visit(phone, lock, Command.LOCK)
    path = tmp_path / "door.json"
    save_door(lock, path)
    _tamper(path, change)
    with pytest.raises(DoorStateError) as refused:
        load_door(path, bed.clock)
    assert "tilstandsfil" in str(refused.value)
    assert "state file" in str(refused.value)


def test_missing_and_non_json_state_files_are_refused(bed: Testbed, tmp_path: Path) -> None:
    with pytest.raises(DoorStateError):
        load_door(tmp_path / "nowhere.json", bed.clock)
    (tmp_path / "junk.json").write_bytes(b"\xff not json")
    with pytest.raises(DoorStateError, match="not JSON"):
        load_door(tmp_path / "junk.json", bed.clock)
