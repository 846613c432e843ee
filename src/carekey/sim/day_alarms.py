"""The day's door alarms (issue 13), one scenario per alarm, and what reached the server.

Each scenario happens at a different citizen's home lock, chosen among the homes that care
workers who stay on duty all day (not the lost phones, not the blocked employee) visit, so a
phone reads the door's log (READ_EVENTS, when it leaves) and uploads it the normal way:

- **forced open**: before the first visit of the day (at night or at dawn), somebody pulls the
  locked door open and closes it a minute later: FORCED_OPEN, DOOR_CLOSED;
- **door ajar**: half an hour before a visit a relative leaves from inside (the thumb-turn) and
  does not pull the door shut; the worker finds it standing open and closes it: MANUAL_TURN,
  DOOR_AJAR (when the limit ran out), UNLOCKED, DOOR_CLOSED, and the auto-relock that waited;
- **jammed**: the bolt binds as the lock relocks behind the worker who just came in: JAMMED;
  the worker frees it, and the lock locks when they leave;
- **low battery**: a lock's battery is just above the low mark at a visit: the worker's unlock
  raises LOW_BATTERY;
- **unknown**: the motor current browns the lock out in the middle of the worker's unlock: the
  visit fails, the lock logs POWER_RESTORED ``interrupted=unlock`` and relocks at power-up; the
  next visitor reads the log.

:func:`alarms_raised` counts the alarms from the server's ``audit_event`` rows, so the figure
proves the whole path: door sensor or motor, signed log, phone, upload, ingest.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from carekey.devices.homelock import HomeLock
from carekey.domain import enums as e
from carekey.sim.day_world import SimPhone, Visit, local
from carekey.store import models as m

if TYPE_CHECKING:
    from carekey.sim.day import DaySimulation

ALARM_KINDS: Final = ("jammed", "forced_open", "door_ajar", "low_battery", "unknown")
_ACTIONS: Final = {
    e.AuditAction.JAMMED: "jammed",
    e.AuditAction.FORCED_OPEN: "forced_open",
    e.AuditAction.DOOR_AJAR: "door_ajar",
    e.AuditAction.LOW_BATTERY: "low_battery",
}
_SEED_OFFSET: Final = 13  # the scenarios' own random stream: the rest of the day is unchanged


def schedule_alarms(sim: DaySimulation) -> dict[str, str]:
    """Put one scenario per alarm kind on the simulation's queue; return the home lock each
    happens at (also recorded in the summary's ``scenario.alarms``)."""
    plan = sim.plan
    gone = {p.phone_id for p in (plan.lost, plan.lost_with_code, plan.blocked)}
    busy = {plan.power_lock, plan.empty_lock, plan.removed.home}
    # Per home, the visits of phones that stay on duty, in time order.
    visits: dict[str, list[tuple[Visit, SimPhone]]] = {}
    for phone in plan.phones:
        if phone.phone_id in gone:
            continue
        for visit in phone.visits:
            home = visit.citizen.home
            if home in plan.doors and home not in busy and visit.arrive >= local(6, 30):
                visits.setdefault(home, []).append((visit, phone))
    for found in visits.values():
        found.sort(key=lambda pair: pair[0].arrive)
    rng = random.Random(sim.options.seed + _SEED_OFFSET)  # noqa: S311 - a reproducible scenario
    twice = sorted(h for h, v in visits.items() if len(v) >= 2)
    homes = sorted(visits)
    chosen: dict[str, str] = {}
    if twice:  # the brown-out needs a second visitor to read the log
        chosen["unknown"] = rng.choice(twice)
    for kind in ("forced_open", "door_ajar", "jammed", "low_battery"):
        left = [h for h in homes if h not in chosen.values()]
        if left:
            chosen[kind] = rng.choice(left)
    steps: dict[str, Callable[[DaySimulation, str, Visit], None]] = {
        "forced_open": _forced_open,
        "door_ajar": _door_ajar,
        "jammed": _jammed,
        "low_battery": _low_battery,
        "unknown": _brown_out,
    }
    for kind, home in chosen.items():
        steps[kind](sim, home, visits[home][0][0])
    plan.scenario["alarms"] = dict(sorted(chosen.items()))
    return chosen


def _lock(sim: DaySimulation, serial: str) -> HomeLock:
    firmware = sim.run_door(serial).firmware
    assert isinstance(firmware, HomeLock)
    return firmware


def _forced_open(sim: DaySimulation, home: str, visit: Visit) -> None:
    when = max(local(6), visit.arrive - dt.timedelta(minutes=20))
    later = when + dt.timedelta(minutes=1)
    sim.at(when, "alarm_forced_open", lambda: _lock(sim, home).open_leaf())
    sim.at(later, "alarm_forced_open", lambda: _lock(sim, home).close_leaf())


def _door_ajar(sim: DaySimulation, home: str, visit: Visit) -> None:
    def relative_leaves() -> None:
        _lock(sim, home).open_leaf(from_inside=True)

    sim.at(visit.arrive - dt.timedelta(minutes=30), "alarm_door_ajar", relative_leaves)
    # The worker finds the door standing open and closes it behind them.
    found = visit.arrive + dt.timedelta(seconds=20)
    sim.at(found, "alarm_door_ajar", lambda: _lock(sim, home).close_leaf())


def _jammed(sim: DaySimulation, home: str, visit: Visit) -> None:
    def bolt_binds() -> None:
        _lock(sim, home).obstruct()

    def worker_frees_it() -> None:
        lock = _lock(sim, home)
        lock.tick()  # the relock that was due has jammed by now
        lock.obstruct(False)

    # The worker has opened; the bolt binds as the lock relocks behind them (10 s later).
    sim.at(visit.arrive + dt.timedelta(seconds=5), "alarm_jammed", bolt_binds)
    sim.at(visit.arrive + dt.timedelta(minutes=2), "alarm_jammed", worker_frees_it)


def _low_battery(sim: DaySimulation, home: str, visit: Visit) -> None:
    def battery_runs_down() -> None:
        battery = _lock(sim, home).battery
        if battery is not None:
            battery.percent = min(battery.percent, battery.low_percent + 0.01)

    sim.at(visit.arrive - dt.timedelta(minutes=1), "alarm_low_battery", battery_runs_down)


def _brown_out(sim: DaySimulation, home: str, visit: Visit) -> None:
    def weak_cells() -> None:
        _lock(sim, home).brown_out_next_turn = True

    sim.at(visit.arrive - dt.timedelta(minutes=1), "alarm_unknown", weak_cells)


def alarms_raised(engine: Engine) -> dict[str, int]:
    """The alarms the server has stored from the doors' signed logs, per kind: JAMMED,
    FORCED_OPEN, DOOR_AJAR, LOW_BATTERY events, and POWER_RESTORED ``interrupted=…`` (a movement
    cut off: the bolt's state was unknown)."""
    counts = dict.fromkeys(ALARM_KINDS, 0)
    with Session(engine) as s:
        rows = s.execute(
            select(m.AuditEvent.action, func.count())
            .where(m.AuditEvent.source == e.AuditSource.DOOR)
            .where(m.AuditEvent.action.in_(list(_ACTIONS)))
            .group_by(m.AuditEvent.action)
        ).all()
        for action, count in rows:
            counts[_ACTIONS[e.AuditAction(action)]] = int(count)
        counts["unknown"] = int(
            s.execute(
                select(func.count())
                .select_from(m.AuditEvent)
                .where(m.AuditEvent.source == e.AuditSource.DOOR)
                .where(m.AuditEvent.action == e.AuditAction.POWER_RESTORED)
                .where(m.AuditEvent.reason_code.like("interrupted=%"))
            ).scalar_one()
        )
    return counts
