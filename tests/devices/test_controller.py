"""The entrance and gate controller: a relay pulse, the same protocol and the same rules."""

from __future__ import annotations

import datetime as dt

import pytest

from carekey.devices.controller import EntranceController
from carekey.devices.hardware import DoorState
from carekey.protocol.credential import DoorKind, SubjectType
from carekey.protocol.events import EventKind
from carekey.protocol.keys import DoorKey
from carekey.protocol.session import Command
from carekey.sim.testbed import Testbed

START = dt.datetime(2026, 3, 3, 3, 30, tzinfo=dt.UTC)  # 04:30 in Copenhagen
STAIRWELLS = b"group:vesterbro-12"


@pytest.fixture
def bed() -> Testbed:
    return Testbed(start=START)


@pytest.fixture
def entrance(bed: Testbed) -> EntranceController:
    return bed.controller(b"entrance-12", groups=[STAIRWELLS])


def test_unlock_pulses_the_relay_for_the_configured_time(
    bed: Testbed, entrance: EntranceController
) -> None:
    phone = bed.phone()
    bed.credential(phone, entrance.door_id, kinds=[DoorKind.ENTRANCE])
    result = bed.visit(phone, entrance, Command.UNLOCK)
    assert result.ok
    assert result.receipt is not None
    assert result.receipt.kind is EventKind.RELAY_PULSE
    assert entrance.relay_closed
    assert entrance.pulses == 1
    bed.clock.advance(dt.timedelta(milliseconds=2999))
    assert entrance.relay_closed
    bed.clock.advance(dt.timedelta(milliseconds=2))
    assert not entrance.relay_closed
    assert entrance.state is DoorState.LOCKED


def test_lock_releases_the_relay_early(bed: Testbed, entrance: EntranceController) -> None:
    phone = bed.phone()
    bed.credential(phone, entrance.door_id, kinds=[DoorKind.ENTRANCE])
    result = bed.visit(phone, entrance, Command.UNLOCK, then=((Command.LOCK, None),))
    assert result.ok
    assert result.extra[0].ok
    assert not entrance.relay_closed


def test_a_partner_opens_stairwells_by_door_group(
    bed: Testbed, entrance: EntranceController
) -> None:
    newspaper = bed.phone("avisbud-3")
    raw = bed.credential(
        newspaper,
        kinds=[DoorKind.ENTRANCE, DoorKind.GATE],
        subject_type=SubjectType.PARTNER,
        groups=[STAIRWELLS],
    )
    newspaper.credentials[entrance.door_id] = raw
    assert bed.visit(newspaper, entrance, Command.UNLOCK).ok


def test_a_home_only_credential_does_not_open_an_entrance(
    bed: Testbed, entrance: EntranceController
) -> None:
    phone = bed.phone()
    bed.credential(phone, entrance.door_id, kinds=[DoorKind.HOME])
    result = bed.visit(phone, entrance, Command.UNLOCK)
    assert result.response.result == "wrong_kind"
    assert entrance.pulses == 0
    assert entrance.events[-1].event.reason == "wrong_kind"


def test_a_gate_controller_needs_a_gate_credential(bed: Testbed) -> None:
    gate = bed.controller(b"gate-1", kind=DoorKind.GATE)
    phone = bed.phone()
    bed.credential(phone, gate.door_id, kinds=[DoorKind.ENTRANCE])
    assert bed.visit(phone, gate, Command.UNLOCK).response.result == "wrong_kind"
    bed.credential(phone, gate.door_id, kinds=[DoorKind.GATE])
    assert bed.visit(phone, gate, Command.UNLOCK).ok
    assert gate.pulses == 1


def test_status_has_no_battery_and_installer_sets_the_pulse(
    bed: Testbed, entrance: EntranceController
) -> None:
    installer = bed.phone("installer-1")
    bed.credential(installer, entrance.door_id, kinds=[DoorKind.ENTRANCE], admin=True)
    status = bed.visit(installer, entrance, Command.STATUS)
    assert status.response.data["battery"] == 100
    assert entrance.battery is None
    assert bed.visit(installer, entrance, Command.CONFIGURE, {"relay_pulse_ms": 5000}).ok
    worker = bed.phone()
    bed.credential(worker, entrance.door_id, kinds=[DoorKind.ENTRANCE])
    bed.visit(worker, entrance, Command.UNLOCK)
    bed.clock.advance(dt.timedelta(seconds=4))
    assert entrance.relay_closed


def test_a_controller_is_never_a_home_door(bed: Testbed) -> None:
    with pytest.raises(ValueError, match="home"):
        EntranceController(
            door_id=b"x",
            door_key=DoorKey.generate(),
            keyring=bed.keyring,
            clock=bed.clock,
            kind=DoorKind.HOME,
        )


def test_read_events_and_time_sync_on_a_controller(
    bed: Testbed, entrance: EntranceController
) -> None:
    phone = bed.phone()
    bed.credential(phone, entrance.door_id, kinds=[DoorKind.ENTRANCE])
    bed.visit(phone, entrance, Command.UNLOCK)
    entrance.power_loss()
    bed.clock.advance(dt.timedelta(minutes=1))
    result = bed.visit(phone, entrance, Command.READ_EVENTS)
    assert result.ok
    events = result.response.data["events"]
    assert isinstance(events, list)
    assert len(events) == 3  # RELAY_PULSE, POWER_RESTORED, TIME_SET
    assert entrance.time_known
