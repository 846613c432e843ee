"""Which firmware a door kind runs, and building a simulated door of a kind.

The database names kinds ``home_lock``/``entrance_controller``/``gate_controller``, the
protocol ``home``/``entrance``/``gate``; both are accepted. A home door runs a
:class:`~carekey.devices.homelock.HomeLock`, an entrance or a gate an
:class:`~carekey.devices.controller.EntranceController`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from carekey.clock import Clock
from carekey.devices.controller import EntranceController
from carekey.devices.firmware import DoorFirmware
from carekey.devices.flash import DoorConfig
from carekey.devices.homelock import HomeLock
from carekey.link.socket import check_mtu
from carekey.protocol.credential import DoorKind
from carekey.protocol.keys import DoorKey, IssuerKeyring

_KINDS: Final[dict[str, DoorKind]] = {
    "home": DoorKind.HOME,
    "home_lock": DoorKind.HOME,
    "entrance": DoorKind.ENTRANCE,
    "entrance_controller": DoorKind.ENTRANCE,
    "gate": DoorKind.GATE,
    "gate_controller": DoorKind.GATE,
}


def parse_door_kind(kind: str | DoorKind) -> DoorKind:
    """The protocol door kind for ``home``/``entrance``/``gate`` or the database's
    ``home_lock``/``entrance_controller``/``gate_controller``."""
    try:
        return _KINDS[str(kind)]
    except KeyError:
        raise ValueError(
            f"ukendt dørtype / unknown door kind {kind!r} (expected one of {sorted(_KINDS)})"
        ) from None


def firmware_class(kind: DoorKind) -> type[DoorFirmware]:
    """The firmware a door of this kind runs."""
    return HomeLock if kind is DoorKind.HOME else EntranceController


def door_id_of(serial: str) -> bytes:
    """The door id on the wire: the serial's UTF-8 bytes, as the key service names doors."""
    door_id = serial.encode("utf-8")
    if not 0 < len(door_id) <= 32:
        raise ValueError("a door serial is 1-32 bytes of UTF-8 (it is the door id on the wire)")
    return door_id


def build_door(
    *,
    serial: str,
    kind: str | DoorKind,
    keyring: IssuerKeyring,
    clock: Clock,
    door_key: DoorKey,
    synced: bool = True,
    door_groups: Iterable[bytes] = (),
    drift_ppm: float = 0.0,
    mtu: int = 247,
    config: DoorConfig | None = None,
    partner_keyring: IssuerKeyring | None = None,
) -> DoorFirmware:
    """A simulated door: a :class:`HomeLock` for ``home`` doors, an
    :class:`EntranceController` for entrances and gates.

    The door id is the serial's UTF-8 bytes (:func:`door_id_of`). ``synced`` (default)
    commissions the door with the time, as the installer's phone does, so phones need no
    challenge-bound time token on the first visit. ``partner_keyring`` (the municipality's
    partner issuer keys) goes to entrances and gates only: a home door is built without it, so
    callers may pass the same keyrings for every door.
    """
    door_kind = parse_door_kind(kind)
    partners = None if door_kind is DoorKind.HOME else partner_keyring
    door = firmware_class(door_kind)(
        door_id=door_id_of(serial),
        door_key=door_key,
        keyring=keyring,
        clock=clock,
        door_groups=door_groups,
        drift_ppm=drift_ppm,
        mtu=check_mtu(mtu),
        config=config,
        kind=door_kind,
        partner_keyring=partners,
    )
    if synced:
        now = clock.now()
        door.clock.set(now)
        door.flash.last_token_time = now
    return door
