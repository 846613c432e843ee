"""The plan of the simulated day, drawn from the seeded world with one seeded random source:
who works which shift, whose route is walked and which citizens it visits, the incidents
(lost phone, removed citizen, emergency key, power loss, flat batteries), and the doors all of
that reaches. The partners' part of the plan is :mod:`carekey.sim.day_partners`'s (its own
random stream, drawn after this one).

The draws happen in one fixed order, so a seed gives the same day every time.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from carekey.sim.day_world import (
    SHIFTS,
    CitizenDoors,
    DoorMeta,
    Network,
    SimPhone,
    Visit,
    World,
    local,
)


@dataclass
class DayPlan:
    """The day as planned."""

    on_duty: int
    phones: list[SimPhone]
    doors: dict[str, DoorMeta]  # every door some route, incident or partner reaches
    lost: SimPhone
    lost_with_code: SimPhone
    blocked: SimPhone
    removed: CitizenDoors
    emergency: tuple[SimPhone, CitizenDoors]
    empty_lock: str
    power_lock: str
    scenario: dict[str, Any]


def plan_day(
    world: World,
    *,
    rng: random.Random,
    seed: int,
    network: Callable[[], Network],
    on_duty_share: float,
    employees_fraction: float,
    route_fraction: float,
) -> DayPlan:
    """Plan the day. ``network`` gives each simulated phone its mobile connection; door keys
    are derived from ``seed`` and the serial."""
    return _Planner(world, rng, seed, network).plan(
        on_duty_share=on_duty_share,
        employees_fraction=employees_fraction,
        route_fraction=route_fraction,
    )


def plan_door(world: World, serial: str, *, seed: int, rng: random.Random) -> DoorMeta:
    """A door to simulate: its key derived from ``seed`` and the serial, its drift (10 % of
    doors, up to ±400 ppm) and the age of its last time sync (1–40 hours) drawn from ``rng``,
    its battery and clock offset as seeded."""
    row = world.device_rows[serial]
    key_seed = hashlib.sha256(f"carekey-sim-door\0{seed}\0{serial}".encode()).digest()
    drift = rng.uniform(-400, 400) if rng.random() < 0.1 else 0.0
    return DoorMeta(
        device_id=row.id,
        serial=serial,
        kind=row.kind.value,
        key_seed=key_seed,
        battery=float(row.battery_pct or 100),
        offset_ms=int(row.clock_offset_ms or 0),
        drift_ppm=drift,
        token_age=dt.timedelta(hours=rng.uniform(1, 40)),
    )


class _Planner:
    def __init__(
        self, world: World, rng: random.Random, seed: int, network: Callable[[], Network]
    ) -> None:
        self.world = world
        self.rng = rng
        self.seed = seed
        self.network = network
        self.doors: dict[str, DoorMeta] = {}

    def door(self, serial: str) -> DoorMeta:
        """The planned door with this serial, drawn (drift, last time sync) when first named."""
        meta = self.doors.get(serial)
        if meta is None:
            meta = plan_door(self.world, serial, seed=self.seed, rng=self.rng)
            self.doors[serial] = meta
        return meta

    def plan(
        self, *, on_duty_share: float, employees_fraction: float, route_fraction: float
    ) -> DayPlan:
        """Who works which shift, whose route is walked, and the day's incidents."""
        rng = self.rng
        phones: list[SimPhone] = []
        ids = sorted(self.world.staff)
        duty = max(1, round(len(ids) * on_duty_share))
        simulated = max(3, round(duty * employees_fraction))
        on_duty = sorted(rng.sample(ids, min(simulated, len(ids))))
        rng.shuffle(on_duty)
        start = 0
        for index, shift in enumerate(SHIFTS):
            count = (
                len(on_duty) - start
                if index == len(SHIFTS) - 1
                else max(1, round(len(on_duty) * shift.share))
            )
            for employee_id in sorted(on_duty[start : start + count]):
                number, phone_id, district = self.world.staff[employee_id]
                phone = SimPhone(
                    employee_id,
                    phone_id,
                    number,
                    district,
                    shift,
                    walker=rng.random() < route_fraction,
                    net=self.network(),
                )
                phones.append(phone)
            start += count
        for phone in phones:
            if not phone.walker:
                continue
            citizens = self.world.by_district[phone.district_id]
            chosen = rng.sample(citizens, min(phone.shift.visits, len(citizens)))
            begin = local(phone.shift.start_hour) + dt.timedelta(minutes=20)
            slot = dt.timedelta(hours=7) / max(1, len(chosen))
            for i, citizen in enumerate(chosen):
                arrive = begin + slot * i + dt.timedelta(minutes=rng.uniform(0, 20))
                leave = arrive + dt.timedelta(minutes=rng.uniform(10, 35))
                phone.visits.append(Visit(citizen, arrive, leave))
        walkers = [p for p in phones if p.walker and p.visits]
        morning = [p for p in walkers if p.shift.name == "morning"]
        # Some phones lose coverage for an hour and upload later.
        for phone in rng.sample(walkers, max(1, len(walkers) // 20)):
            begin = phone.visits[0].arrive + dt.timedelta(minutes=rng.uniform(0, 120))
            phone.offline = (begin, begin + dt.timedelta(hours=1))
        # The lost phone: a morning walker with visits before and after 10:00.
        candidates = [
            p
            for p in morning
            if any(v.arrive < local(10) for v in p.visits)
            and any(v.arrive > local(10, 30) for v in p.visits)
        ]
        lost = rng.choice(candidates or morning)
        lost.offline = None
        # The removed citizen: on a morning route before noon (so keys to it are out there).
        before_noon = [v.citizen for p in morning for v in p.visits if v.arrive < local(12)]
        removed = rng.choice(before_noon)
        # A later visit to the removed citizen by a morning phone, after the removal.
        late = [p for p in morning if p is not lost and p.district_id == removed.district_id]
        if late:
            phone = rng.choice(late)
            phone.visits.append(Visit(removed, local(13, 30), local(13, 50)))
            phone.visits.sort(key=lambda v: v.arrive)
        # The emergency key: a morning walker, one citizen in another district, at 11:30.
        helper = rng.choice([p for p in morning if p is not lost])
        if helper.employee_id not in self.world.care_workers:
            # Only care workers may get an emergency key (a district lead drawn: draw again, so
            # the seeds whose first draw was a care worker keep their day).
            helper = rng.choice(
                [p for p in morning if p is not lost and p.employee_id in self.world.care_workers]
            )
        others = [
            c
            for d, cs in self.world.by_district.items()
            if d != helper.district_id
            for c in cs
            if c is not removed
        ]
        emergency = (helper, rng.choice(others))
        helper.visits.append(Visit(emergency[1], local(11, 45), local(12, 5), emergency=True))
        helper.visits.sort(key=lambda v: v.arrive)
        # A second phone lost at 13:00, whose finder knows the personal code; and an employee
        # blocked at 14:00 mid-route: morning walkers with visits around then.
        taken = {lost.phone_id, helper.phone_id}
        busy = [
            p
            for p in morning
            if p.phone_id not in taken
            and any(local(11) < v.arrive < local(13) for v in p.visits)
            and any(v.arrive > local(13, 30) for v in p.visits)
        ]
        rest = [p for p in morning if p.phone_id not in taken] or morning
        lost_with_code = rng.choice(busy or rest)
        lost_with_code.offline = None
        taken.add(lost_with_code.phone_id)
        blocked = rng.choice([p for p in busy if p.phone_id not in taken] or rest)
        for phone in walkers:
            for visit in phone.visits:
                for serial in [visit.citizen.home, visit.citizen.entrance, *visit.citizen.gates]:
                    if serial:
                        self.door(serial)
        # Batteries: a few locks start just above the low mark, one just above the reserve.
        homes = sorted(s for s, d in self.doors.items() if d.kind == "home_lock")
        for serial in rng.sample(homes, max(2, len(homes) // 100)):
            self.doors[serial].battery = 20.02
        empty_lock = rng.choice(homes)
        self.doors[empty_lock].battery = 3.02
        # One lock loses power at 09:00: one visited later in the morning.
        later = [v.citizen.home for p in morning for v in p.visits if v.arrive > local(9, 30)]
        power_lock = rng.choice(later or homes)
        scenario: dict[str, Any] = {
            "lost_phone": lost.phone_id,
            "lost_phone_finder_knows_code": lost_with_code.phone_id,
            "blocked_employee": blocked.employee_id,
            "removed_citizen": removed.citizen_id,
            "emergency_key": [emergency[0].employee_id, emergency[1].citizen_id],
            "power_loss_lock": power_lock,
            "empty_battery_lock": empty_lock,
        }
        return DayPlan(
            on_duty=duty,
            phones=phones,
            doors=self.doors,
            lost=lost,
            lost_with_code=lost_with_code,
            blocked=blocked,
            removed=removed,
            emergency=emergency,
            empty_lock=empty_lock,
            power_lock=power_lock,
            scenario=scenario,
        )
