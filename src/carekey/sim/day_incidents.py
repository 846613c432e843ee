"""The day's incidents around lost phones and revocations, as the simulation drives them.

- 10:00 a phone is lost (in the pocket: the app goes to the background and seals its keys); it
  is blocked at 10:05, and whoever found it, **without the personal code**, tries the doors it
  has keys to;
- 13:00 a second phone is lost, and its finder **knows the code**: blocked at 13:05, the finder
  keeps it offline and tries its doors every few minutes until 15:30. Doors may open for it until
  its last proof of freshness runs out (the offline bound), never after;
- 12:00 a citizen's address is removed; 14:00 an employee on a route is blocked (suspended).

Each revocation records the newest proof of freshness the phones concerned held (read from the
phones' own state), which bounds what any door can still accept for them; the doors' own logs
then show whether any opening broke that bound (``day_check.count_openings``).
"""

from __future__ import annotations

import datetime as dt
from functools import partial
from typing import TYPE_CHECKING

from carekey.app.client import AppError
from carekey.app.service import KeyApp
from carekey.protocol.timetoken import drift_tolerance
from carekey.sim.day_check import Revoked
from carekey.sim.day_world import SimPhone, local

if TYPE_CHECKING:
    from carekey.sim.day import DaySimulation

FINDER_WITH_CODE_UNTIL = (15, 30)
FINDER_EVERY = dt.timedelta(minutes=6)
MAX_TOKEN_AGE = dt.timedelta(hours=40)  # the oldest time token a simulated door starts with


def door_tolerance() -> dt.timedelta:
    """The largest clock tolerance a simulated door applies during the day (its last time token
    at most 40 hours before 06:00, plus the day)."""
    return drift_tolerance(MAX_TOKEN_AGE + dt.timedelta(hours=25))


def proof_until(app: KeyApp | None) -> dt.datetime | None:
    """The latest a door could accept this phone's newest proof of freshness."""
    if app is None:
        return None
    expires = app.status().freshness_expires_at
    return None if expires is None else expires + door_tolerance()


def _exposed(result: dict[str, object]) -> dict[int, dt.datetime]:
    doors = result["exposed_doors"]
    assert isinstance(doors, list)
    return {int(d["door_device_id"]): dt.datetime.fromisoformat(d["until"]) for d in doors}


def lose_phone(sim: DaySimulation, phone: SimPhone) -> None:
    """The phone is lost: it goes offline, and in the finder's pocket the app seals."""
    phone.lost = True
    phone.net.online = False
    if phone.app is not None:
        phone.app.background()


def block_phone(sim: DaySimulation, phone: SimPhone, *, with_code: bool) -> None:
    """The office blocks the lost phone; the finder starts trying its doors."""
    until = proof_until(phone.app)
    result = sim._admin(
        f"/phones/{phone.phone_id}/block",
        {"reason": "Mistet i bussen / lost on the bus", "lost": True},
    )
    blocked_at = sim.clock.now()
    sim.revocations.append(
        Revoked(
            "phone_lost",
            blocked_at,
            int(result["denylist_version"]),
            _exposed(result),
            subject=f"e{phone.employee_id}",
            proof_until=until,
        )
    )
    serials = [
        serial
        for visit in phone.visits
        for serial in (visit.citizen.entrance, visit.citizen.home)
        if serial
    ]
    if not with_code:
        when = local(10, 15)
        for serial in serials:
            sim.at(when, "finder", partial(finder_try, sim, phone, serial, code=None))
            when += dt.timedelta(minutes=7)
        return
    sim.blocked_with_code_at = blocked_at
    when, end, i = blocked_at + dt.timedelta(minutes=5), local(*FINDER_WITH_CODE_UNTIL), 0
    while when <= end and serials:
        serial = serials[i % len(serials)]
        sim.at(when, "finder_code", partial(finder_try, sim, phone, serial, code="known"))
        when += FINDER_EVERY
        i += 1


def finder_try(sim: DaySimulation, phone: SimPhone, serial: str, *, code: str | None) -> None:
    """The finder taps open (typing the personal code, if they know it)."""
    app = phone.app
    assert app is not None
    label = "finder_with_code" if code else "finder"
    sim.tally[f"{label}_attempts"] += 1
    try:
        outcome = app.open(serial, code=sim.personal_code if code else None)
    except AppError as exc:
        sim.refusals[f"{label}:{exc.code}"] += 1
        return
    if outcome.ok:
        sim.tally[f"{label}_openings_reported_by_app"] += 1
    else:
        sim.refusals[f"{label}:{outcome.code}"] += 1


def remove_citizen(sim: DaySimulation) -> None:
    """The citizen's address is removed; the phones holding keys to the door are bounded by
    their newest proofs (a newer proof makes the door demand the list with its withdrawal)."""
    removed = sim.plan.removed
    holders = [
        p for p in sim.plan.phones if p.app is not None and p.district_id == removed.district_id
    ]
    bounds = [b for b in (proof_until(p.app) for p in holders) if b is not None]
    result = sim._admin(
        f"/citizens/{removed.citizen_id}/remove",
        {"reason": "Flyttet på plejehjem / moved to a nursing home"},
    )
    sim.revocations.append(
        Revoked(
            "citizen_removed",
            sim.clock.now(),
            int(result["denylist_version"]),
            _exposed(result),
            door=removed.home,
            proof_until=max(bounds) if bounds else None,
        )
    )


def block_employee(sim: DaySimulation, phone: SimPhone) -> None:
    """The office suspends an employee mid-route: WIPE at the next check-in, no more proofs."""
    until = proof_until(phone.app)
    result = sim._admin(
        f"/employees/{phone.employee_id}/block",
        {"reason": "Suspenderet / suspended"},
    )
    sim.revocations.append(
        Revoked(
            "employee_blocked",
            sim.clock.now(),
            int(result["denylist_version"]),
            _exposed(result),
            subject=f"e{phone.employee_id}",
            proof_until=until,
        )
    )
