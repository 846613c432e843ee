"""Which doors an employee may open now: the one rule behind every login, bundle and heartbeat.

The homes of the active citizens of the employee's districts, with those citizens' entrances
and gates, plus the doors of live emergency keys; nothing else. Checked against an independent
query in ``tests/api/test_key_service_e2e.py``. The SQL is ``queries.door_rows``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from carekey.domain import enums as e
from carekey.keyservice import queries
from carekey.keyservice.bundle import BundleDoor
from carekey.keyservice.credentials import Holder
from carekey.store import models as m


def current_doors(db: Session, *, employee: m.Employee, now: dt.datetime) -> list[BundleDoor]:
    """Every door the employee may open now: the homes of the active citizens of their districts
    with those citizens' entrances and gates, plus the doors of live emergency keys. Nothing else.
    """
    return doors_and_grants(db, employee=employee, now=now)[0]


def doors_and_grants(
    db: Session, *, employee: m.Employee | Holder, now: dt.datetime, grants_possible: bool = True
) -> tuple[list[BundleDoor], dict[int, m.EmergencyKeyGrant]]:
    """The employee's doors and the live emergency keys among them (by grant id);
    ``grants_possible=False`` when the caller already knows (in the same transaction) that the
    employee has no live emergency key, to skip that query."""
    employee_id = employee.id if isinstance(employee, m.Employee) else employee.employee_id
    doors = _citizen_doors(db, kind="district", params={"employee_id": employee_id})
    if not grants_possible:
        return doors, {}
    covered = {d.citizen_id for d in doors}
    live = queries.active_grants(db, employee_id=employee_id, now=now)
    grants = [g for g in live if g.citizen_id not in covered]
    if grants:
        doors += _citizen_doors(
            db,
            kind="grants",
            params={
                "citizen_ids": [g.citizen_id for g in grants],
                "municipality_id": employee.municipality_id,
            },
            grant_of={g.citizen_id: g.id for g in grants},
        )
    return doors, {g.id: g for g in grants}


def _citizen_doors(
    db: Session, *, kind: str, params: dict[str, Any], grant_of: dict[int, int] | None = None
) -> list[BundleDoor]:
    """Home lock, entrance controller and gate controllers of the selected active citizens
    (see ``queries.door_rows`` for ``kind`` and ``params``)."""
    return _doors_of_rows(queries.door_rows(db, kind=kind, params=params), grant_of)


def _doors_of_rows(rows: Any, grant_of: dict[int, int] | None) -> list[BundleDoor]:
    doors: list[BundleDoor] = []
    append = doors.append
    home, entrance, gate = (
        e.DoorKind.HOME_LOCK,
        e.DoorKind.ENTRANCE_CONTROLLER,
        e.DoorKind.GATE_CONTROLLER,
    )
    current: int | None = None
    name = address = ""
    grant: int | None = None
    # Rows unpacked positionally (the column order of ``queries._doors_select``): attribute
    # access on ~70 rows x 21 columns was a measurable part of every bundle.
    for (
        cid,
        given_name,
        family_name,
        floor,
        side,
        entrance_label,
        postal_code,
        city,
        home_id,
        home_serial,
        home_key,
        home_seq,
        entrance_door_id,
        entrance_serial,
        entrance_key,
        entrance_seq,
        gate_label,
        gate_door_id,
        gate_serial,
        gate_key,
        gate_seq,
    ) in rows:
        if cid != current:
            current = cid
            name = f"{given_name} {family_name}"
            address = f"{entrance_label}, {floor}. {side}., {postal_code} {city}"
            grant = grant_of.get(cid) if grant_of else None
            append(
                BundleDoor(
                    home_id,
                    home_serial.encode(),
                    home,
                    home_key,
                    cid,
                    name,
                    address,
                    "Hoveddør",
                    grant,
                    home_seq or 0,
                )
            )
            if entrance_door_id is not None:
                append(
                    BundleDoor(
                        entrance_door_id,
                        entrance_serial.encode(),
                        entrance,
                        entrance_key,
                        cid,
                        name,
                        address,
                        f"Opgang {entrance_label}",
                        grant,
                        entrance_seq or 0,
                    )
                )
        if gate_door_id is not None:
            append(
                BundleDoor(
                    gate_door_id,
                    gate_serial.encode(),
                    gate,
                    gate_key,
                    cid,
                    name,
                    address,
                    gate_label,
                    grant,
                    gate_seq or 0,
                )
            )
    return doors
