"""The seed's spread of work orders (issue 16): orders in every state and of every kind, next
to the signed-off install of every device."""

from __future__ import annotations

import datetime as dt
import itertools
import random
from collections.abc import Callable
from typing import Any, Final

from carekey.domain import enums as e

LOW_BATTERY_PCT: Final = 20  # as doors.service: below it a lock gets a battery service order
_DONE: Final = frozenset({e.WorkOrderStatus.DONE, e.WorkOrderStatus.SIGNED_OFF})


def order_spread(
    rng: random.Random,
    when: Callable[[int], dt.datetime],
    *,
    employees: int,
    municipality_id: int,
    devices: list[dict[str, Any]],
    entrances: list[dict[str, Any]],
    properties: list[dict[str, Any]],
    citizens: list[dict[str, Any]],
    first_id: int,
) -> list[dict[str, Any]]:
    """Work orders in every state and of every kind besides the installs (issue 16): a
    battery service for each low-battery lock, jam and firmware services, module orders at
    some entrances (on the association's permission), restores (only in a municipality of
    some size: the small profile's tests count restores) and cancelled ones, assigned to
    the seed's installers with material and labour."""
    installers = [i + 1 for i in range(employees) if i % 150 == 3]
    permission_of = {
        prop["id"]: n + 1
        for n, prop in enumerate(q for q in properties if q["housing_association_id"])
    }
    property_of = {x["id"]: x["property_id"] for x in entrances}
    spread = itertools.cycle(list(e.WorkOrderStatus))
    orders: list[dict[str, Any]] = []

    def add(status: e.WorkOrderStatus, **values: Any) -> None:
        ordered = when(120)
        material = rng.randrange(0, 2000) * 100 if status in _DONE else 0
        labour = rng.randrange(3, 12) * 45_000 // 2 if status in _DONE else 0
        done_at = ordered + dt.timedelta(days=rng.randrange(3, 20))
        installer = rng.choice(installers) if installers else None
        orders.append(
            {
                "id": first_id + len(orders) + 1,
                "municipality_id": municipality_id,
                "status": status,
                "trigger": e.WorkOrderTrigger.OFFICE,
                "service_kind": None,
                "citizen_id": None,
                "dwelling_id": None,
                "entrance_id": None,
                "gate_id": None,
                "door_device_id": None,
                "permission_request_id": None,
                "created_by_employee_id": 1,
                "assigned_to_employee_id": installer,
                "supplier": rng.choice((None, None, "Låsesmeden A/S", "Dørtelefon-Service ApS")),
                "material_ore": material,
                "labour_ore": labour,
                "cost_ore": material + labour,
                "ordered_at": ordered,
                "scheduled_for": done_at if status is not e.WorkOrderStatus.ORDERED else None,
                "completed_at": done_at if status in _DONE else None,
                "performed_by_employee_id": installer if status in _DONE else None,
                "checklist": {"serviced": True, "tested": True} if status in _DONE else None,
                "photo_ref": f"FOTO-{first_id + len(orders) + 1:06d}" if status in _DONE else None,
                "signed_off_at": done_at + dt.timedelta(days=2)
                if status is e.WorkOrderStatus.SIGNED_OFF
                else None,
                "signed_off_by_employee_id": 1 if status is e.WorkOrderStatus.SIGNED_OFF else None,
                "notes": "Annulleret: dobbeltbestilling"
                if status is e.WorkOrderStatus.CANCELLED
                else None,
                **values,
            }
        )

    for n, device in enumerate(devices):
        place = {
            "dwelling_id": device["dwelling_id"],
            "entrance_id": device["entrance_id"],
            "gate_id": device["gate_id"],
            "door_device_id": device["id"],
            "citizen_id": device["dwelling_id"],  # citizen n lives in dwelling n
        }
        battery = device["battery_pct"]
        if battery is not None and battery < LOW_BATTERY_PCT:
            add(
                rng.choice((e.WorkOrderStatus.ORDERED, e.WorkOrderStatus.SCHEDULED)),
                kind=e.WorkOrderKind.SERVICE,
                service_kind=e.ServiceKind.BATTERY,
                trigger=e.WorkOrderTrigger.LOW_BATTERY,
                **place,
            )
        elif n % 11 == 5:
            add(
                next(spread),
                kind=e.WorkOrderKind.SERVICE,
                service_kind=rng.choice((e.ServiceKind.JAM, e.ServiceKind.FIRMWARE)),
                **place,
            )
    for n, entrance in enumerate(entrances):
        permission = permission_of.get(property_of[entrance["id"]])
        if permission is not None and n % 17 == 3:
            add(
                next(spread),
                kind=e.WorkOrderKind.INSTALL,
                entrance_id=entrance["id"],
                permission_request_id=permission,
            )
    if len(citizens) >= 200:
        for citizen in citizens[::40]:
            status = next(spread)
            add(
                status,
                kind=e.WorkOrderKind.RESTORE,
                trigger=rng.choice(
                    (e.WorkOrderTrigger.OFFICE, e.WorkOrderTrigger.CONSENT_WITHDRAWN)
                ),
                citizen_id=citizen["id"],
                dwelling_id=citizen["dwelling_id"],
                door_device_id=citizen["dwelling_id"],  # the lock of dwelling n is device n
                checklist={
                    "cylinder_restored": True,
                    "screw_holes": True,
                    "device_removed": True,
                }
                if status in _DONE
                else None,
            )
    return orders
