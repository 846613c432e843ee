"""Simulated doors for database rows."""

from __future__ import annotations

import datetime as dt

import pytest

from carekey.devices.controller import EntranceController
from carekey.devices.homelock import HomeLock
from carekey.protocol.keys import DoorKey, IssuerKeyring
from carekey.sim.day_doors import start_door
from carekey.sim.day_world import DoorMeta
from carekey.sim.doors import commission_from_row
from carekey.sim.testbed import Testbed

START = dt.datetime(2026, 3, 2, 7, 10, tzinfo=dt.UTC)


@pytest.fixture
def bed() -> Testbed:
    return Testbed(start=START)


def test_commission_from_row(bed: Testbed) -> None:
    seed = bytes(range(32))
    door, public = commission_from_row(
        serial="HL-000123",
        kind="home_lock",
        door_key_seed=seed,
        keyring=bed.keyring,
        clock=bed.clock,
    )
    assert isinstance(door, HomeLock)
    assert door.door_id == b"HL-000123"
    assert public == DoorKey.from_seed(seed).public.key.raw
    assert len(public) == 32
    assert door.time_known
    _, same = commission_from_row(
        serial="HL-000123", kind="home", door_key_seed=seed, keyring=bed.keyring, clock=bed.clock
    )
    assert same == public
    with pytest.raises(ValueError, match="32 bytes"):
        commission_from_row(
            serial="x", kind="home", door_key_seed=b"short", keyring=bed.keyring, clock=bed.clock
        )
    with pytest.raises(ValueError, match="unknown door kind"):
        commission_from_row(
            serial="x", kind="garage", door_key_seed=None, keyring=bed.keyring, clock=bed.clock
        )
    with pytest.raises(ValueError, match="1-32 bytes"):
        commission_from_row(
            serial="x" * 33, kind="gate", door_key_seed=None, keyring=bed.keyring, clock=bed.clock
        )


def test_a_controller_row_gets_a_controller_with_a_fresh_key(bed: Testbed) -> None:
    door, public = commission_from_row(
        serial="ENT-0042",
        kind="entrance_controller",
        door_key_seed=None,
        keyring=bed.keyring,
        clock=bed.clock,
    )
    assert isinstance(door, EntranceController)
    assert door.door_key.public.key.raw == public
    _, other = commission_from_row(
        serial="ENT-0042",
        kind="entrance_controller",
        door_key_seed=None,
        keyring=bed.keyring,
        clock=bed.clock,
    )
    assert other != public


def test_partner_keyrings_go_to_entrance_and_gate_rows_only(bed: Testbed) -> None:
    """The same keyrings for every row: controllers trust the partner key, home locks never."""
    doors = {
        kind: commission_from_row(
            serial=f"{kind}-1",
            kind=kind,
            door_key_seed=None,
            keyring=bed.keyring,
            clock=bed.clock,
            partner_keyring=bed.partner_keyring,
        )[0]
        for kind in ("home_lock", "entrance_controller", "gate_controller")
    }
    assert doors["home_lock"].flash.partner_keyring == IssuerKeyring()
    assert doors["entrance_controller"].flash.partner_keyring == bed.partner_keyring
    assert doors["gate_controller"].flash.partner_keyring == bed.partner_keyring
    for kind in ("home_lock", "gate_controller"):
        meta = DoorMeta(1, f"{kind}-2", kind, bytes(32), 80.0, 0, 0.0, dt.timedelta(hours=1))
        run = start_door(
            meta, keyring=bed.keyring, clock=bed.clock, partner_keyring=bed.partner_keyring
        )
        held = run.firmware.flash.partner_keyring
        assert held == (IssuerKeyring() if kind == "home_lock" else bed.partner_keyring)
