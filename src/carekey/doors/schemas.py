"""The API's shapes of door devices."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import Field

from carekey.domain import enums as e
from carekey.doors.service import DoorView
from carekey.http.schemas import AddressOut, DoorSummary, address_out
from carekey.store import models as m


class DoorOut(DoorSummary):
    firmware_version: str
    clock_offset_ms: int | None
    denylist_version_seen: int
    last_event_seq: int
    events_dropped: int = Field(
        default=0,
        description="Hændelser tabt i døren (dørens egen, usignerede optælling) / events dropped "
        "by the door's ring (the door's own unsigned count, as a phone reported it)",
    )
    installed_at: dt.datetime | None
    placement: Literal["dwelling", "entrance", "gate"] | None
    address: AddressOut | None
    citizen_id: int | None
    lock_state: e.LockState | None = Field(
        description="Låsen ifølge dørens seneste hændelser / the bolt as the door's newest "
        "signed events show it (unknown: a movement was cut off by a power loss)"
    )
    door_state: e.DoorSensorState | None = Field(
        description="Døren (dørføler) / the door leaf as the door sensor last reported it"
    )
    online_status: Literal["online", "offline"] | None = Field(
        default=None,
        description="Online over MQTT ifølge dørens signerede meldinger (None: kun telefoner) / "
        "online over MQTT by the door's signed reports (None: phones only); a door not heard "
        "for CAREKEY_ONLINE_OFFLINE_AFTER_S is offline",
    )
    last_heard_at: dt.datetime | None = Field(
        default=None, description="Sidst hørt over MQTT / last heard over MQTT"
    )


class DoorDetail(DoorOut):
    denylist_version_current: int = Field(
        description="Kommunens nyeste spærreliste / the municipality's newest denylist version"
    )


def _placement(door: m.DoorDevice) -> Literal["dwelling", "entrance", "gate"] | None:
    if door.dwelling_id is not None:
        return "dwelling"
    if door.entrance_id is not None:
        return "entrance"
    if door.gate_id is not None:
        return "gate"
    return None


def _door_fields(view: DoorView) -> dict[str, Any]:
    d = view.door
    return {
        "id": d.id,
        "kind": d.kind,
        "serial": d.serial,
        "status": d.status,
        "battery_pct": d.battery_pct,
        "last_seen_at": d.last_seen_at,
        "firmware_version": d.firmware_version,
        "clock_offset_ms": d.clock_offset_ms,
        "denylist_version_seen": d.denylist_version_seen,
        "last_event_seq": d.last_event_seq,
        "events_dropped": d.events_dropped or 0,
        "installed_at": d.installed_at,
        "placement": _placement(d),
        "address": address_out(view.address),
        "citizen_id": view.citizen_id,
        "lock_state": d.lock_state,
        "door_state": d.door_state,
        "online_status": d.online_status,
        "last_heard_at": d.last_heard_at,
    }


def door_out(view: DoorView) -> DoorOut:
    """A door in a list: state and placement."""
    return DoorOut(**_door_fields(view))


def door_detail(view: DoorView) -> DoorDetail:
    """One door, with the municipality's newest denylist version to compare against."""
    return DoorDetail(
        **_door_fields(view), denylist_version_current=view.denylist_version_current or 0
    )
