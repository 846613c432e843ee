"""Simulated doors for the database's door rows: the demo, the live traffic and the benchmarks.

A ``door_device`` row names a door by serial and kind; :func:`commission_from_row` builds the
firmware for it with a fresh or a reproducible door key and returns the public key, which the
caller hands to :func:`carekey.doors.commissioning.commission_doors` so that phones get it in
their bundles.
"""

from __future__ import annotations

from carekey.clock import Clock
from carekey.devices.firmware import DoorFirmware
from carekey.devices.kinds import build_door
from carekey.protocol.keys import DoorKey, IssuerKeyring


def commission_from_row(
    *,
    serial: str,
    kind: str,
    door_key_seed: bytes | None,
    keyring: IssuerKeyring,
    clock: Clock,
    partner_keyring: IssuerKeyring | None = None,
) -> tuple[DoorFirmware, bytes]:
    """Build a simulated door for a ``door_device`` row; return it and its public key.

    ``door_key_seed`` (32 bytes) makes the door key reproducible; None draws a fresh one. The
    returned 32 raw bytes (Ed25519) are what commissioning writes to ``door_device.public_key``.
    ``kind`` may be the database's (``home_lock`` …) or the protocol's (``home`` …). The door
    knows the time, as after an installer's visit. Save it with
    :func:`carekey.devices.statefile.save_door` to serve it with ``carekey door serve``.
    ``partner_keyring`` (partner issuer keys) is trusted by entrances and gates only.
    """
    if door_key_seed is None:
        door_key = DoorKey.generate()
    elif len(door_key_seed) == 32:
        door_key = DoorKey.from_seed(door_key_seed)
    else:
        raise ValueError("door_key_seed must be 32 bytes")
    door = build_door(
        serial=serial,
        kind=kind,
        keyring=keyring,
        clock=clock,
        door_key=door_key,
        partner_keyring=partner_keyring,
    )
    return door, door_key.public.key.raw
