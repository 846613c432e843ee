"""The model's invariants, stated once. The store calls them before anything is written, and the
database repeats the structural ones as constraints so that no code path can skip them."""

from __future__ import annotations

from collections.abc import Iterable

from carekey.domain.enums import DoorKind, DoorStatus
from carekey.domain.errors import InvariantError

PLACED_STATUSES = frozenset(
    {DoorStatus.INSTALLED, DoorStatus.COMMISSIONED, DoorStatus.ACTIVE, DoorStatus.FAULTY}
)


def check_door_placement(
    *,
    kind: DoorKind,
    status: DoorStatus,
    dwelling_id: int | None,
    entrance_id: int | None,
    gate_id: int | None,
) -> None:
    """A home lock belongs to exactly one dwelling and nothing else; an entrance controller to one
    entrance; a gate controller to one gate. A device in stock or decommissioned may be unplaced,
    but never placed at the wrong kind of place."""
    placements = {
        DoorKind.HOME_LOCK: ("dwelling", dwelling_id),
        DoorKind.ENTRANCE_CONTROLLER: ("entrance", entrance_id),
        DoorKind.GATE_CONTROLLER: ("gate", gate_id),
    }
    own_place, own_id = placements[kind]
    others = [name for k, (name, value) in placements.items() if k != kind and value is not None]
    if others:
        raise InvariantError(
            "door.wrong_placement",
            f"En {kind.value} kan kun sidde ved en {own_place}, ikke ved {', '.join(others)}",
            f"A {kind.value} can only be placed at a {own_place}, not at {', '.join(others)}",
        )
    if status in PLACED_STATUSES and own_id is None:
        raise InvariantError(
            "door.unplaced",
            f"En installeret {kind.value} skal høre til præcis én {own_place}",
            f"An installed {kind.value} must belong to exactly one {own_place}",
        )


def check_partner_door(kind: DoorKind) -> None:
    """A partner company's agreement can only ever cover stairwell doors and gates."""
    if kind is DoorKind.HOME_LOCK:
        raise InvariantError(
            "agreement.home_lock",
            "En samarbejdspartner kan aldrig få adgang til en borgers hoveddør",
            "A partner company can never be given access to a citizen's front door",
        )


def check_same_municipality(what: str, owner: int, others: Iterable[int | None]) -> None:
    """Everything an employee or citizen is linked to belongs to the same municipality."""
    foreign = sorted({m for m in others if m is not None and m != owner})
    if foreign:
        raise InvariantError(
            "tenant.cross_municipality",
            f"{what} kan ikke knyttes til en anden kommunes data",
            f"{what} cannot be linked to another municipality's data",
        )
