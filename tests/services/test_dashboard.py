"""The office's figures, below the HTTP layer: today's counts, the alerts, the doors that may
still accept a blocked phone's keys (and until when), and the home report's visits."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from carekey.access import Action, Actor, reach
from carekey.dashboard import service as dashboard
from carekey.domain import enums as e
from carekey.domain.errors import ForbiddenError
from carekey.protocol.keys import DevicePublicKey
from carekey.revocation import service as revocation
from carekey.store import models as m
from tests.store.factories import World, door, make_world

# 09:00 in Copenhagen (winter time): the local day began at 23:00 UTC the day before.
NOW = dt.datetime(2026, 11, 26, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine) as db:
        yield db


@dataclass
class Place:
    """A second district with its own citizen and home lock, next to ``make_world``'s."""

    world: World
    district: m.District
    citizen: m.Citizen
    home_lock: m.DoorDevice
    worker: m.Employee
    other_worker: m.Employee
    admin: Actor
    lead: Actor


def _employee(
    db: Session, world: World, number: str, name: str, role: e.Role, district: int | None
) -> m.Employee:
    employee = m.Employee(
        municipality_id=world.municipality.id,
        employee_number=number,
        full_name=name,
        roles=[m.EmployeeRole(role=role)],
    )
    db.add(employee)
    db.flush()
    if district is not None:
        db.add(
            m.EmployeeDistrict(
                employee_id=employee.id,
                district_id=district,
                municipality_id=world.municipality.id,
            )
        )
        db.flush()
    return employee


def _place(db: Session) -> Place:
    world = make_world(db)
    district = m.District(municipality_id=world.municipality.id, code="D02", name="Vesterbro")
    db.add(district)
    db.flush()
    dwelling = m.Dwelling(entrance_id=world.entrance.id, floor="3", side="th")
    db.add(dwelling)
    db.flush()
    citizen = m.Citizen(
        municipality_id=world.municipality.id,
        district_id=district.id,
        dwelling_id=dwelling.id,
        given_name="Poul",
        family_name="Jensen",
        status=e.CitizenStatus.ACTIVE,
    )
    db.add(citizen)
    lock = door(db, world.municipality, e.DoorKind.HOME_LOCK, dwelling_id=dwelling.id)
    worker = _employee(db, world, "W1", "Ali Hassan", e.Role.CARE_WORKER, world.district.id)
    other = _employee(db, world, "W2", "Bente Berg", e.Role.CARE_WORKER, district.id)
    admin = _employee(db, world, "A1", "Anne Admin", e.Role.ADMINISTRATOR, None)
    lead = _employee(db, world, "L2", "Lis Leder", e.Role.DISTRICT_LEAD, district.id)
    return Place(
        world,
        district,
        citizen,
        lock,
        worker,
        other,
        Actor(admin.id, world.municipality.id, frozenset({e.Role.ADMINISTRATOR}), "Anne"),
        Actor(
            lead.id,
            world.municipality.id,
            frozenset({e.Role.DISTRICT_LEAD}),
            "Lis",
            district_ids=frozenset({district.id}),
        ),
    )


def _event(
    db: Session,
    device: m.DoorDevice,
    action: e.AuditAction,
    at: dt.datetime,
    *,
    employee: m.Employee | None = None,
    citizen: m.Citizen | None = None,
    reason: str | None = None,
) -> None:
    device.last_event_seq += 1
    db.add(
        m.AuditEvent(
            municipality_id=device.municipality_id,
            source=e.AuditSource.DOOR,
            action=action,
            door_device_id=device.id,
            employee_id=employee.id if employee else None,
            citizen_id=citizen.id if citizen else None,
            reason_code=reason,
            occurred_at=at,
            received_at=at,
            door_seq=device.last_event_seq,
        )
    )
    db.flush()


def _credential(
    db: Session,
    employee: m.Employee,
    doors: list[m.DoorDevice],
    *,
    expires_at: dt.datetime,
    phone: m.Phone | None = None,
) -> m.IssuedCredential:
    credential = m.IssuedCredential(
        credential_id=secrets.token_bytes(16),
        municipality_id=employee.municipality_id,
        issuer_kid=bytes(16),
        subject_type=e.SubjectType.EMPLOYEE,
        employee_id=employee.id,
        phone_id=phone.id if phone else None,
        kind=e.CredentialKind.HOME,
        serial=secrets.randbelow(2**31),
        denylist_version=0,
        door_device_ids=[d.id for d in doors],
        not_before=expires_at - dt.timedelta(hours=9),
        expires_at=expires_at,
        issued_at=expires_at - dt.timedelta(hours=9),
    )
    db.add(credential)
    db.flush()
    return credential


def _phone(db: Session, employee: m.Employee, label: str) -> m.Phone:
    public = ec.generate_private_key(ec.SECP256R1()).public_key()
    phone = m.Phone(
        municipality_id=employee.municipality_id,
        employee_id=employee.id,
        label=label,
        public_key=DevicePublicKey.from_cryptography(public).compressed,
    )
    db.add(phone)
    db.flush()
    return phone


def test_todays_figures_and_alerts(session: Session) -> None:
    p = _place(session)
    world, minutes = p.world, dt.timedelta(minutes=1)
    # A visit this morning at Else's (district 1): opened and locked again.
    _event(session, world.entrance_controller, e.AuditAction.RELAY_PULSED, NOW - 60 * minutes)
    _event(session, world.home_lock, e.AuditAction.UNLOCKED, NOW - 59 * minutes, employee=p.worker)
    _event(session, world.home_lock, e.AuditAction.LOCKED, NOW - 40 * minutes, employee=p.worker)
    # Yesterday evening (before local midnight) does not count as today.
    _event(session, world.entrance_controller, e.AuditAction.RELAY_PULSED, NOW - 10 * 60 * minutes)
    # At Poul's (district 2) the door was opened 30 minutes ago and never locked again.
    _event(
        session, p.home_lock, e.AuditAction.UNLOCKED, NOW - 30 * minutes, employee=p.other_worker
    )
    _event(session, p.home_lock, e.AuditAction.REFUSED, NOW - 20 * minutes, reason="expired")
    world.home_lock.battery_pct = 12
    p.home_lock.battery_pct = 80
    world.entrance_controller.clock_offset_ms = -5_000
    p.home_lock.clock_offset_ms = 400
    _credential(session, p.worker, [world.home_lock], expires_at=NOW + dt.timedelta(hours=4))
    _credential(
        session, p.worker, [world.entrance_controller], expires_at=NOW + dt.timedelta(hours=4)
    )
    _credential(session, p.other_worker, [p.home_lock], expires_at=NOW - dt.timedelta(hours=1))
    _phone(session, p.other_worker, "TLF-2").status = e.PhoneStatus.LOST
    session.flush()

    d = dashboard.dashboard(session, actor=p.admin, now=NOW)

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
    assert mine.openings_today == 2
    assert mine.low_battery_count == 0
    assert mine.drifting_count == 1  # the stairwell door on the way to Poul's flat is shared
    assert [x.door_id for x in mine.left_unlocked] == [p.home_lock.id]
    assert mine.employees_with_live_keys == 0
    assert mine.blocked_phones == 1

    # Locked again: the alert goes away; an unlock only five minutes old is no alert yet.
    _event(session, p.home_lock, e.AuditAction.AUTO_RELOCKED, NOW - 10 * minutes)
    _event(session, world.home_lock, e.AuditAction.UNLOCKED, NOW - 5 * minutes, employee=p.worker)
    assert dashboard.dashboard(session, actor=p.admin, now=NOW).left_unlocked == []


def test_a_blocked_phone_lists_the_doors_that_may_still_accept_its_keys(session: Session) -> None:
    p = _place(session)
    world = p.world
    phone = _phone(session, p.worker, "TLF-1")
    early = _credential(
        session,
        p.worker,
        [world.home_lock, world.entrance_controller],
        expires_at=NOW + dt.timedelta(hours=2),
        phone=phone,
    )
    late = _credential(
        session,
        p.worker,
        [world.entrance_controller],
        expires_at=NOW + dt.timedelta(hours=5),
        phone=phone,
    )
    # Another employee's key names Poul's door but is not revoked: no exposure there.
    _credential(session, p.other_worker, [p.home_lock], expires_at=NOW + dt.timedelta(hours=5))
    assert (
        dashboard.exposed_doors(session, scope=reach(p.admin, Action.READ_DASHBOARD), now=NOW) == []
    )

    blocked = revocation.block_phone(
        session, actor=p.admin, phone_id=phone.id, reason="tabt i bussen", lost=True, now=NOW
    )
    assert blocked.denylist_version is not None
    scope = reach(p.admin, Action.READ_DASHBOARD)
    exposed = {x.door_id: x for x in dashboard.exposed_doors(session, scope=scope, now=NOW)}
    assert set(exposed) == {world.home_lock.id, world.entrance_controller.id}
    assert exposed[world.home_lock.id].until == early.expires_at
    assert (
        exposed[world.entrance_controller.id].until == late.expires_at
    )  # the latest of the two keys
    assert exposed[world.entrance_controller.id].version_needed == blocked.denylist_version
    assert exposed[world.home_lock.id].employee_names == ("Ali Hassan",)
    assert dashboard.dashboard(session, actor=p.admin, now=NOW).exposed[0].until == late.expires_at
    # On the dashboard the two doors are one line: the blocked phone, how many, how long.
    [line] = dashboard.dashboard(session, actor=p.admin, now=NOW).revocations
    assert line.kind == "phone"
    assert line.name == "Ali Hassan"
    assert line.employee_number == "W1"
    assert line.phone_labels == ("TLF-1",)
    assert line.revoked_at == NOW
    assert line.doors == 2
    assert line.until == late.expires_at

    # A colleague's phone carries the denylist to the home lock: it drops off the list.
    world.home_lock.denylist_version_seen = blocked.denylist_version
    session.flush()
    remaining = dashboard.exposed_doors(session, scope=scope, now=NOW)
    assert [x.door_id for x in remaining] == [world.entrance_controller.id]
    [line] = dashboard.exposure_by_revocation(session, scope=scope, now=NOW)
    assert (line.doors, line.until) == (1, late.expires_at)
    # The doors filter agrees with the dashboard.
    page = dashboard.list_doors(session, actor=p.admin, now=NOW, exposed=True)
    assert [x.id for x in page.items] == [world.entrance_controller.id]

    # Once the last revoked key has expired, nothing is exposed any more.
    later = late.expires_at + dt.timedelta(seconds=1)
    assert dashboard.exposed_doors(session, scope=scope, now=later) == []
    assert dashboard.exposure_by_revocation(session, scope=scope, now=later) == []


def test_each_revocation_is_one_line_with_its_own_doors_and_latest_time(
    session: Session,
) -> None:
    p = _place(session)
    world = p.world
    phone = _phone(session, p.worker, "TLF-1")
    _credential(
        session,
        p.worker,
        [world.home_lock, world.entrance_controller],
        expires_at=NOW + dt.timedelta(hours=2),
        phone=phone,
    )
    _credential(session, p.other_worker, [p.home_lock], expires_at=NOW + dt.timedelta(hours=7))
    revocation.block_phone(
        session, actor=p.admin, phone_id=phone.id, reason="tabt", lost=True, now=NOW
    )
    later = NOW + dt.timedelta(minutes=5)
    revocation.block_employee(
        session, actor=p.admin, employee_id=p.other_worker.id, reason="fratrådt", now=later
    )
    scope = reach(p.admin, Action.READ_DASHBOARD)

    lines = dashboard.exposure_by_revocation(session, scope=scope, now=later)

    assert [(x.kind, x.name, x.doors, x.until) for x in lines] == [
        ("employee", "Bente Berg", 1, NOW + dt.timedelta(hours=7)),  # lasts longest: first
        ("phone", "Ali Hassan", 2, NOW + dt.timedelta(hours=2)),
    ]
    assert [x.revoked_at for x in lines] == [later, NOW]
    assert len(dashboard.exposed_doors(session, scope=scope, now=later)) == 3
    # Poul's lead sees only the doors on the way to Poul: the employee's line, and the
    # shared stairwell on the phone's line.
    mine = dashboard.exposure_by_revocation(
        session, scope=reach(p.lead, Action.READ_DASHBOARD), now=later
    )
    assert [(x.name, x.doors) for x in mine] == [("Bente Berg", 1), ("Ali Hassan", 1)]


def test_doors_list_filters_and_scope(session: Session) -> None:
    p = _place(session)
    world = p.world
    world.home_lock.battery_pct = 9
    p.home_lock.battery_pct = 18
    world.entrance_controller.clock_offset_ms = 3_000
    world.entrance_controller.denylist_version_seen = 0
    session.add(m.DenylistVersion(municipality_id=world.municipality.id, version=1, created_at=NOW))
    p.home_lock.denylist_version_seen = 1
    _event(session, world.home_lock, e.AuditAction.UNLOCKED, NOW - dt.timedelta(hours=1))
    _event(session, world.home_lock, e.AuditAction.REFUSED, NOW - dt.timedelta(minutes=50))
    session.flush()

    low = dashboard.list_doors(session, actor=p.admin, now=NOW, low_battery=True)
    assert [d.id for d in low.items] == [world.home_lock.id, p.home_lock.id]  # weakest first
    assert low.items[0].events_stored == 2
    assert low.items[0].refusals == 1
    assert low.items[0].citizen_name == "Else Hansen"
    drifting = dashboard.list_doors(session, actor=p.admin, now=NOW, drifting=True)
    assert [d.id for d in drifting.items] == [world.entrance_controller.id]
    stale = dashboard.list_doors(session, actor=p.admin, now=NOW, stale_denylist=True)
    assert {d.id for d in stale.items} == {world.home_lock.id, world.entrance_controller.id}
    kind = dashboard.list_doors(session, actor=p.admin, now=NOW, kind=e.DoorKind.HOME_LOCK)
    assert kind.total == 2
    # The lead of district 2 sees Poul's home lock and the stairwell door on the way to it.
    mine = dashboard.list_doors(session, actor=p.lead, now=NOW)
    assert {d.id for d in mine.items} == {p.home_lock.id, world.entrance_controller.id}
    with pytest.raises(ForbiddenError):
        dashboard.get_door(session, actor=p.lead, door_id=world.home_lock.id, now=NOW)
    # An auditor reads the overview of the whole municipality; a care worker reads nothing.
    auditor = Actor(p.admin.employee_id, 1, frozenset({e.Role.AUDITOR}), "Revisor")
    assert dashboard.dashboard(session, actor=auditor, now=NOW).low_battery_count >= 0
    worker = Actor(p.worker.id, 1, frozenset({e.Role.CARE_WORKER}), "Ali")
    with pytest.raises(ForbiddenError):
        dashboard.dashboard(session, actor=worker, now=NOW)


def test_home_visits_pair_each_unlock_with_the_next_lock(session: Session) -> None:
    p = _place(session)
    lock, citizen = p.world.home_lock, p.world.citizen
    day = dt.datetime(2026, 11, 24, 7, 0, tzinfo=dt.UTC)
    hour, minute = dt.timedelta(hours=1), dt.timedelta(minutes=1)
    _event(session, lock, e.AuditAction.UNLOCKED, day, employee=p.worker, citizen=citizen)
    _event(
        session, lock, e.AuditAction.LOCKED, day + 25 * minute, employee=p.worker, citizen=citizen
    )
    _event(session, lock, e.AuditAction.MANUAL_TURN, day + 2 * hour, citizen=citizen)
    _event(
        session,
        lock,
        e.AuditAction.REFUSED,
        day + 5 * hour,
        employee=p.other_worker,
        citizen=citizen,
        reason="expired",
    )
    _event(
        session, lock, e.AuditAction.UNLOCKED, day + 6 * hour, employee=p.worker, citizen=citizen
    )
    _event(
        session, lock, e.AuditAction.AUTO_RELOCKED, day + 6 * hour + 40 * minute, citizen=citizen
    )
    _event(
        session, lock, e.AuditAction.UNLOCKED, day + 9 * hour, employee=p.worker, citizen=citizen
    )
    # Another week: not in the report.
    _event(session, lock, e.AuditAction.UNLOCKED, day - 7 * 24 * hour, citizen=citizen)

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
