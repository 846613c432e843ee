"""The SQL of commissioning doors."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from carekey.store import models as m

_CHUNK = 500  # ids per IN list: well inside every backend's parameter limit


def doors_by_id(db: Session, door_ids: Iterable[int]) -> dict[int, m.DoorDevice]:
    """The door devices with these ids (missing ids are simply absent)."""
    ids = sorted(set(door_ids))
    found: dict[int, m.DoorDevice] = {}
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        for door in db.execute(select(m.DoorDevice).where(m.DoorDevice.id.in_(chunk))).scalars():
            found[door.id] = door
    return found
