"""Commissioning a door: the server learns the door's own public key (and its firmware), and
the door goes live for keys.

A door signs its events and receipts with its own Ed25519 key, generated on the device; phones
get the public key in their bundles to check the door's answers, and ingest checks every
uploaded event against it. Commissioning writes it: for a door just installed (``installed``
→ ``commissioned``), or again for a live door whose key changed (a new board, a reset, a
simulator), which keeps its status. A door in stock is not placed yet and a decommissioned one
is gone; neither can be commissioned. Commissioning again with the same key and firmware
changes nothing and records nothing; every real change is recorded as a ``door.commissioned``
admin action in the same transaction.

There is no endpoint yet: the callers are the simulation and the demo, acting as the system
(``actor=None``) or on behalf of their administrator. An endpoint for installers would ask
``carekey.access`` which roles may commission before calling this.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from sqlalchemy.orm import Session

from carekey.access import Actor
from carekey.audit.actions import record_admin_action
from carekey.domain import enums as e
from carekey.domain.errors import ConflictError, DomainError, not_found
from carekey.doors import commissioning_queries as q
from carekey.protocol.keys import Ed25519Public
from carekey.store import models as m

PUBLIC_KEY_BYTES: Final = 32
FIRMWARE_VERSION_MAX: Final = 32  # door_device.firmware_version is a String(32)

COMMISSIONED_STATUS: Final[dict[e.DoorStatus, e.DoorStatus]] = {
    e.DoorStatus.INSTALLED: e.DoorStatus.COMMISSIONED,
    e.DoorStatus.COMMISSIONED: e.DoorStatus.COMMISSIONED,
    e.DoorStatus.ACTIVE: e.DoorStatus.ACTIVE,
    e.DoorStatus.FAULTY: e.DoorStatus.FAULTY,
}
"""The status a door has after commissioning, by its status before; others are refused."""


@dataclass(frozen=True)
class DoorKeyReport:
    """What an installer's phone (or a simulator) reports for one door."""

    door_id: int
    public_key: bytes
    firmware_version: str | None = None


@dataclass(frozen=True)
class Commissioned:
    """One door after commissioning; ``changed`` is False when it already held all of it."""

    door_id: int
    serial: str
    status: e.DoorStatus
    previous_status: e.DoorStatus
    changed: bool


def commission_door(
    db: Session,
    *,
    door_id: int,
    public_key: bytes,
    now: dt.datetime,
    firmware_version: str | None = None,
    actor: Actor | None = None,
    reason: str | None = None,
) -> Commissioned:
    """Record ``public_key`` (32 raw Ed25519 bytes) and, if given, ``firmware_version`` for
    one door, moving an installed door to ``commissioned``. ``actor`` None is the system."""
    report = DoorKeyReport(door_id, public_key, firmware_version)
    return commission_doors(db, doors=[report], now=now, actor=actor, reason=reason)[0]


def commission_doors(
    db: Session,
    *,
    doors: Sequence[DoorKeyReport],
    now: dt.datetime,
    actor: Actor | None = None,
    reason: str | None = None,
) -> list[Commissioned]:
    """Commission many doors at once (a simulation, a batch from an installer's day), in the
    order given. Every door is checked before any is changed: one refusal changes nothing.

    Refused: a door that does not exist (or, for an actor, belongs to another municipality),
    a key that is not 32 bytes, a firmware version that is empty or longer than 32
    characters, a door in stock or decommissioned, and the same door twice.
    """
    found = q.doors_by_id(db, (d.door_id for d in doors))
    seen: set[int] = set()
    plan: list[tuple[DoorKeyReport, str | None, e.DoorStatus]] = []
    for report in doors:
        door = found.get(report.door_id)
        if door is None or (actor is not None and door.municipality_id != actor.municipality_id):
            raise not_found("Døren", "door")
        if report.door_id in seen:
            raise DomainError(
                "door.listed_twice",
                f"Døren {door.serial} står der to gange",
                f"The door {door.serial} is listed twice",
            )
        seen.add(report.door_id)
        _check_key(report.public_key)
        plan.append((report, _firmware(report.firmware_version), _next_status(door)))

    results: list[Commissioned] = []
    for report, firmware, status in plan:
        door = found[report.door_id]
        before = e.DoorStatus(door.status)
        previous_key = door.public_key
        changed = (
            previous_key != report.public_key
            or status is not before
            or (firmware is not None and firmware != door.firmware_version)
        )
        if changed:
            door.public_key = report.public_key
            door.status = status
            if firmware is not None:
                door.firmware_version = firmware
            record_admin_action(
                db,
                actor=actor,
                municipality_id=door.municipality_id,
                action="door.commissioned",
                target_type="door_device",
                target_id=door.id,
                reason=reason,
                now=now,
                details={
                    "serial": door.serial,
                    "key_id": Ed25519Public(report.public_key).kid.hex(),
                    "previous_key_id": _key_id(previous_key),
                    "status": status.value,
                    "previous_status": before.value,
                    "firmware_version": door.firmware_version,
                },
            )
        results.append(Commissioned(door.id, door.serial, status, before, changed))
    db.flush()
    return results


def _check_key(public_key: bytes) -> None:
    if not isinstance(public_key, bytes) or len(public_key) != PUBLIC_KEY_BYTES:
        raise DomainError(
            "door.public_key_invalid",
            "Dørens offentlige nøgle skal være 32 byte (Ed25519)",
            "The door's public key must be 32 bytes (Ed25519)",
        )


def _firmware(version: str | None) -> str | None:
    if version is None:
        return None
    text = version.strip()
    if not 0 < len(text) <= FIRMWARE_VERSION_MAX:
        raise DomainError(
            "door.firmware_version_invalid",
            f"Firmwareversionen skal være 1-{FIRMWARE_VERSION_MAX} tegn",
            f"The firmware version must be 1-{FIRMWARE_VERSION_MAX} characters",
        )
    return text


def _next_status(door: m.DoorDevice) -> e.DoorStatus:
    status = e.DoorStatus(door.status)
    after = COMMISSIONED_STATUS.get(status)
    if after is not None:
        return after
    if status is e.DoorStatus.STOCK:
        raise ConflictError(
            "door.not_installed",
            f"Døren {door.serial} er ikke monteret endnu og kan ikke idriftsættes",
            f"The door {door.serial} is not installed yet and cannot be commissioned",
        )
    raise ConflictError(
        "door.decommissioned",
        f"Døren {door.serial} er taget ned og kan ikke idriftsættes igen",
        f"The door {door.serial} is decommissioned and cannot be commissioned again",
    )


def _key_id(raw: bytes | None) -> str | None:
    return Ed25519Public(raw).kid.hex() if raw is not None and len(raw) == 32 else None
