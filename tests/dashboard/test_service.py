"""The office's figures, below the HTTP layer: today's counts and alerts, and the home
report's visits."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from carekey.dashboard import service as dashboard
from carekey.domain import enums as e
from tests.dashboard.place import NOW, add_credential, add_event, add_phone, make_place


def test_todays_figures_and_alerts(session: Session) -> None:
    p = make_place(session)
    world, minutes = p.world, dt.timedelta(minutes=1)
    # A visit this morning at Else's (district 1): opened and locked again.
    add_event(session, world.entrance_controller, e.AuditAction.RELAY_PULSED, NOW - 60 * minutes)
    add_event(
        session, world.home_lock, e.AuditAction.UNLOCKED, NOW - 59 * minutes, employee=p.worker
    )
    add_event(session, world.home_lock, e.AuditAction.LOCKED, NOW - 40 * minutes, employee=p.worker)
    # Yesterday evening (before local midnight) does not count as today.
    add_event(
        session, world.entrance_controller, e.AuditAction.RELAY_PULSED, NOW - 10 * 60 * minutes
    )
    # At Poul's (district 2) the door was opened 30 minutes ago and never locked again.
    add_event(
        session, p.home_lock, e.AuditAction.UNLOCKED, NOW - 30 * minutes, employee=p.other_worker
    )
    add_event(session, p.home_lock, e.AuditAction.REFUSED, NOW - 20 * minutes, reason="expired")
    world.home_lock.battery_pct = 12
    p.home_lock.battery_pct = 80
    world.entrance_controller.clock_offset_ms = -5_000
    p.home_lock.clock_offset_ms = 400
    add_credential(session, p.worker, [world.home_lock], expires_at=NOW + dt.timedelta(hours=4))
    add_credential(
        session, p.worker, [world.entrance_controller], expires_at=NOW + dt.timedelta(hours=4)
    )
    add_credential(session, p.other_worker, [p.home_lock], expires_at=NOW - dt.timedelta(hours=1))
    add_phone(session, p.other_worker, "TLF-2").status = e.PhoneStatus.LOST
    session.flush()

    d = dashboard.dashboard(session, actor=p.admin, now=NOW)

    assert d.whole_municipality
    assert d.openings_today == 3  # relay + unlock at Else's, unlock at Poul's
    assert d.refusals_today == 1
    assert d.employees_with_live_keys == 1  # Bente's key has expired
    assert d.blocked_phones == 1
    assert d.blocked_employees == 0
    assert [x.serial for x in d.low_battery] == [world.home_lock.serial]
    assert d.low_battery_count == 1
    assert [x.serial for x in d.drifting] == [world.entrance_controller.serial]
    [left] = d.left_unlocked
    assert d.left_unlocked_count == 1
    assert left.door_id == p.home_lock.id
    assert left.employee_name == "Bente Berg"
    assert left.citizen_name == "Poul Jensen"
    assert left.unlocked_at == NOW - 30 * minutes

    # Poul's lead sees her district only: his door and the shared stairwell, not Else's door.
    mine = dashboard.dashboard(session, actor=p.lead, now=NOW)
    assert not mine.whole_municipality
    assert mine.openings_today == 2
    assert mine.low_battery_count == 0
    assert mine.drifting_count == 1  # the stairwell door on the way to Poul's flat is shared
    assert [x.door_id for x in mine.left_unlocked] == [p.home_lock.id]
    assert mine.employees_with_live_keys == 0
    assert mine.blocked_phones == 1

    # Locked again: the alert goes away; an unlock only five minutes old is no alert yet.
    add_event(session, p.home_lock, e.AuditAction.AUTO_RELOCKED, NOW - 10 * minutes)
    add_event(
        session, world.home_lock, e.AuditAction.UNLOCKED, NOW - 5 * minutes, employee=p.worker
    )
    assert dashboard.dashboard(session, actor=p.admin, now=NOW).left_unlocked == []


def test_home_visits_pair_each_unlock_with_the_next_lock(session: Session) -> None:
    p = make_place(session)
    lock, citizen = p.world.home_lock, p.world.citizen
    day = dt.datetime(2026, 11, 24, 7, 0, tzinfo=dt.UTC)
    hour, minute = dt.timedelta(hours=1), dt.timedelta(minutes=1)
    add_event(session, lock, e.AuditAction.UNLOCKED, day, employee=p.worker, citizen=citizen)
    add_event(
        session, lock, e.AuditAction.LOCKED, day + 25 * minute, employee=p.worker, citizen=citizen
    )
    add_event(session, lock, e.AuditAction.MANUAL_TURN, day + 2 * hour, citizen=citizen)
    add_event(
        session,
        lock,
        e.AuditAction.REFUSED,
        day + 5 * hour,
        employee=p.other_worker,
        citizen=citizen,
        reason="expired",
    )
    add_event(
        session, lock, e.AuditAction.UNLOCKED, day + 6 * hour, employee=p.worker, citizen=citizen
    )
    add_event(
        session, lock, e.AuditAction.AUTO_RELOCKED, day + 6 * hour + 40 * minute, citizen=citizen
    )
    add_event(
        session, lock, e.AuditAction.UNLOCKED, day + 9 * hour, employee=p.worker, citizen=citizen
    )
    # Another week: not in the report.
    add_event(session, lock, e.AuditAction.UNLOCKED, day - 7 * 24 * hour, citizen=citizen)

    first, last = dashboard.this_week(NOW)
    assert (first.isoformat(), last.isoformat()) == ("2026-11-23", "2026-11-29")
    since, until = dashboard.local_range(first, last)
    entries = dashboard.home_visits(
        session, actor=p.admin, citizen_id=citizen.id, since=since, until=until
    )
    assert [(x.kind, x.at, x.out_at, x.who) for x in entries] == [
        ("visit", day, day + 25 * minute, "Ali Hassan"),
        ("manual_turn", day + 2 * hour, None, None),
        ("refused", day + 5 * hour, None, "Bente Berg"),
        ("visit", day + 6 * hour, day + 6 * hour + 40 * minute, "Ali Hassan"),
        ("visit", day + 9 * hour, None, "Ali Hassan"),
    ]
    assert entries[3].out_action is e.AuditAction.AUTO_RELOCKED
    assert entries[0].duration == 25 * minute
    assert entries[2].reason is not None
