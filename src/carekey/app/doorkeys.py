"""Door ids as people type them, and the key to a door in the bundle.

A door id is typed by hand (``carekey app open hl-000002``) or copied from a list; case and
stray spaces must not matter. :func:`door_key` is the one normal form the app compares door ids
in; the door itself is always addressed with the id exactly as the keys spell it (the id is
signed into the credential), which :func:`door_entry` returns.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from carekey.app.client import AppError
from carekey.link.driver import DoorEntry
from carekey.protocol.credential import BundleLeaf, bundle_presenter
from carekey.protocol.keys import DoorPublicKey, Ed25519Public


def door_key(door_id: str) -> str:
    """The form door ids are compared in: no surrounding spaces, case folded
    (``" hl-000002 "``, ``"HL-000002"`` and ``"Hl-000002"`` are the same door)."""
    return door_id.strip().casefold()


def unknown_door() -> AppError:
    """The door is not in today's keys."""
    return AppError(
        "app.unknown_door",
        "Døren er ikke i dine nøgler i dag",
        "The door is not in your keys today",
    )


def door_entry(
    bundle: dict[str, Any],
    door_id: str,
    presenters: dict[str, Callable[[bytes], bytes]],
) -> DoorEntry:
    """The door ``door_id`` (in any case) as the keys hold it: its id as the keys spell it, its
    public key and the credential to present. ``presenters`` caches a bundle credential's tree
    (built once per opening of the keys, for all its doors)."""
    wanted = door_key(door_id)
    door = next((d for d in bundle["doors"] if door_key(str(d["door_id"])) == wanted), None)
    if door is None:
        raise unknown_door()
    door_id = str(door["door_id"])
    public = DoorPublicKey(Ed25519Public(base64.b64decode(door["door_public_key"])))
    for credential in bundle["credentials"]:
        raw = base64.b64decode(credential["credential"])
        if credential["type"] == "single" and door_id in credential["doors"]:
            return DoorEntry(door_id.encode(), public, raw)
        if credential["type"] == "bundle":
            ids = [leaf[0] for leaf in credential["leaves"]]
            if door_id in ids:
                presenter = presenters.get(credential["credential"])
                if presenter is None:
                    leaves = [
                        BundleLeaf.from_bits(str(leaf[0]).encode(), int(leaf[1]))
                        for leaf in credential["leaves"]
                    ]
                    presenter = bundle_presenter(raw, leaves)
                    presenters[credential["credential"]] = presenter
                return DoorEntry(door_id.encode(), public, presenter(door_id.encode()))
    raise unknown_door()


__all__ = ["door_entry", "door_key", "unknown_door"]
