"""The model's structural invariants, at the domain level."""

from __future__ import annotations

import pytest

from carekey.domain.enums import DoorKind, DoorStatus
from carekey.domain.errors import InvariantError
from carekey.domain.rules import (
    check_door_placement,
    check_partner_door,
    check_same_municipality,
)


def test_home_lock_belongs_to_exactly_one_dwelling() -> None:
    check_door_placement(
        kind=DoorKind.HOME_LOCK,
        status=DoorStatus.ACTIVE,
        dwelling_id=1,
        entrance_id=None,
        gate_id=None,
    )
    with pytest.raises(InvariantError) as info:
        check_door_placement(
            kind=DoorKind.HOME_LOCK,
            status=DoorStatus.ACTIVE,
            dwelling_id=None,
            entrance_id=None,
            gate_id=None,
        )
    assert info.value.code == "door.unplaced"
    with pytest.raises(InvariantError) as info:
        check_door_placement(
            kind=DoorKind.HOME_LOCK,
            status=DoorStatus.ACTIVE,
            dwelling_id=1,
            entrance_id=2,
            gate_id=None,
        )
    assert info.value.code == "door.wrong_placement"


@pytest.mark.parametrize(
    ("kind", "place"),
    [
        (DoorKind.ENTRANCE_CONTROLLER, {"dwelling_id": 1}),
        (DoorKind.ENTRANCE_CONTROLLER, {"gate_id": 1}),
        (DoorKind.GATE_CONTROLLER, {"entrance_id": 1}),
        (DoorKind.HOME_LOCK, {"gate_id": 1}),
    ],
)
def test_a_device_is_never_placed_at_another_kind_of_place(
    kind: DoorKind, place: dict[str, int]
) -> None:
    args: dict[str, int | None] = {"dwelling_id": None, "entrance_id": None, "gate_id": None}
    args.update(place)
    with pytest.raises(InvariantError):
        check_door_placement(kind=kind, status=DoorStatus.STOCK, **args)


def test_stock_devices_may_be_unplaced() -> None:
    for kind in DoorKind:
        check_door_placement(
            kind=kind, status=DoorStatus.STOCK, dwelling_id=None, entrance_id=None, gate_id=None
        )


def test_partner_can_never_be_linked_to_a_home_lock() -> None:
    check_partner_door(DoorKind.ENTRANCE_CONTROLLER)
    check_partner_door(DoorKind.GATE_CONTROLLER)
    with pytest.raises(InvariantError) as info:
        check_partner_door(DoorKind.HOME_LOCK)
    assert info.value.code == "agreement.home_lock"
    assert "hoveddør" in info.value.message_da


def test_links_stay_inside_one_municipality() -> None:
    check_same_municipality("Medarbejder", 1, [1, 1, None])
    with pytest.raises(InvariantError) as info:
        check_same_municipality("Medarbejder", 1, [1, 2])
    assert info.value.code == "tenant.cross_municipality"
