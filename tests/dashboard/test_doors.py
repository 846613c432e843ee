"""The door list: filters, counts, whose home, and the reach of each role."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session

from carekey.access import Actor
from carekey.dashboard import doors
from carekey.dashboard import service as dashboard
from carekey.domain import enums as e
from carekey.domain.errors import ForbiddenError
from carekey.store import models as m
from tests.dashboard.place import NOW, add_event, make_place


def test_doors_list_filters_and_scope(session: Session) -> None:
    p = make_place(session)
    world = p.world
    world.home_lock.battery_pct = 9
    p.home_lock.battery_pct = 18
    world.entrance_controller.clock_offset_ms = 3_000
    world.entrance_controller.denylist_version_seen = 0
    session.add(m.DenylistVersion(municipality_id=world.municipality.id, version=1, created_at=NOW))
    p.home_lock.denylist_version_seen = 1
    add_event(session, world.home_lock, e.AuditAction.UNLOCKED, NOW - dt.timedelta(hours=1))
    add_event(session, world.home_lock, e.AuditAction.REFUSED, NOW - dt.timedelta(minutes=50))
    session.flush()

    low = doors.list_doors(session, actor=p.admin, now=NOW, low_battery=True)
    assert [d.id for d in low.items] == [world.home_lock.id, p.home_lock.id]  # weakest first
    assert low.items[0].events_stored == 2
    assert low.items[0].refusals == 1
    assert low.items[0].citizen_name == "Else Hansen"
    drifting = doors.list_doors(session, actor=p.admin, now=NOW, drifting=True)
    assert [d.id for d in drifting.items] == [world.entrance_controller.id]
    stale = doors.list_doors(session, actor=p.admin, now=NOW, stale_denylist=True)
    assert {d.id for d in stale.items} == {world.home_lock.id, world.entrance_controller.id}
    kind = doors.list_doors(session, actor=p.admin, now=NOW, kind=e.DoorKind.HOME_LOCK)
    assert kind.total == 2
    # The lead of district 2 sees Poul's home lock and the stairwell door on the way to it.
    mine = doors.list_doors(session, actor=p.lead, now=NOW)
    assert {d.id for d in mine.items} == {p.home_lock.id, world.entrance_controller.id}
    with pytest.raises(ForbiddenError):
        doors.get_door(session, actor=p.lead, door_id=world.home_lock.id, now=NOW)
    # An auditor reads the overview of the whole municipality; a care worker reads nothing.
    auditor = Actor(p.admin.employee_id, 1, frozenset({e.Role.AUDITOR}), "Revisor")
    assert dashboard.dashboard(session, actor=auditor, now=NOW).low_battery_count >= 0
    worker = Actor(p.worker.id, 1, frozenset({e.Role.CARE_WORKER}), "Ali")
    with pytest.raises(ForbiddenError):
        dashboard.dashboard(session, actor=worker, now=NOW)
