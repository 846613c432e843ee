"""The doors that may still accept a revoked key, and until when: per door and per revocation."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from carekey.access import Action, reach
from carekey.dashboard import doors, exposure
from carekey.dashboard import service as dashboard
from carekey.protocol.timetoken import BASE_TOLERANCE, MAX_TOLERANCE
from carekey.revocation import service as revocation
from tests.dashboard.place import NOW, add_credential, add_phone, make_place

# The doors of these places were never heard from: the server assumes the largest tolerance.
T = MAX_TOLERANCE


def test_a_blocked_phone_lists_the_doors_that_may_still_accept_its_keys(session: Session) -> None:
    p = make_place(session)
    world = p.world
    phone = add_phone(session, p.worker, "TLF-1")
    early = add_credential(
        session,
        p.worker,
        [world.home_lock, world.entrance_controller],
        expires_at=NOW + dt.timedelta(hours=2),
        phone=phone,
    )
    late = add_credential(
        session,
        p.worker,
        [world.entrance_controller],
        expires_at=NOW + dt.timedelta(hours=5),
        phone=phone,
    )
    # Another employee's key names Poul's door but is not revoked: no exposure there.
    add_credential(session, p.other_worker, [p.home_lock], expires_at=NOW + dt.timedelta(hours=5))
    assert (
        exposure.exposed_doors(session, scope=reach(p.admin, Action.READ_DASHBOARD), now=NOW) == []
    )

    blocked = revocation.block_phone(
        session, actor=p.admin, phone_id=phone.id, reason="tabt i bussen", lost=True, now=NOW
    )
    assert blocked.denylist_version is not None
    scope = reach(p.admin, Action.READ_DASHBOARD)
    exposed = {x.door_id: x for x in exposure.exposed_doors(session, scope=scope, now=NOW)}
    assert set(exposed) == {world.home_lock.id, world.entrance_controller.id}
    assert exposed[world.home_lock.id].until == early.expires_at + T
    assert (
        exposed[world.entrance_controller.id].until == late.expires_at + T
    )  # the latest of the two keys
    assert exposed[world.entrance_controller.id].version_needed == blocked.denylist_version
    assert exposed[world.home_lock.id].employee_names == ("Ali Hassan",)
    assert (
        dashboard.dashboard(session, actor=p.admin, now=NOW).exposed[0].until == late.expires_at + T
    )
    # On the dashboard the two doors are one line: the blocked phone, how many, how long.
    [line] = dashboard.dashboard(session, actor=p.admin, now=NOW).revocations
    assert line.kind == "phone"
    assert line.name == "Ali Hassan"
    assert line.employee_number == "W1"
    assert line.phone_labels == ("TLF-1",)
    assert line.revoked_at == NOW
    assert line.doors == 2
    assert line.until == late.expires_at + T

    # A colleague's phone carries the denylist to the home lock: it drops off the list.
    world.home_lock.denylist_version_seen = blocked.denylist_version
    session.flush()
    remaining = exposure.exposed_doors(session, scope=scope, now=NOW)
    assert [x.door_id for x in remaining] == [world.entrance_controller.id]
    [line] = exposure.exposure_by_revocation(session, scope=scope, now=NOW)
    assert (line.doors, line.until) == (1, late.expires_at + T)
    # The doors filter agrees with the dashboard.
    page = doors.list_doors(session, actor=p.admin, now=NOW, exposed=True)
    assert [x.id for x in page.items] == [world.entrance_controller.id]

    # Once the last revoked key has expired, nothing is exposed any more.
    later = late.expires_at + T + dt.timedelta(seconds=1)
    assert exposure.exposed_doors(session, scope=scope, now=later) == []
    assert exposure.exposure_by_revocation(session, scope=scope, now=later) == []


def test_each_revocation_is_one_line_with_its_own_doors_and_latest_time(
    session: Session,
) -> None:
    p = make_place(session)
    world = p.world
    phone = add_phone(session, p.worker, "TLF-1")
    add_credential(
        session,
        p.worker,
        [world.home_lock, world.entrance_controller],
        expires_at=NOW + dt.timedelta(hours=2),
        phone=phone,
    )
    add_credential(session, p.other_worker, [p.home_lock], expires_at=NOW + dt.timedelta(hours=7))
    revocation.block_phone(
        session, actor=p.admin, phone_id=phone.id, reason="tabt", lost=True, now=NOW
    )
    later = NOW + dt.timedelta(minutes=5)
    revocation.block_employee(
        session, actor=p.admin, employee_id=p.other_worker.id, reason="fratrådt", now=later
    )
    scope = reach(p.admin, Action.READ_DASHBOARD)

    lines = exposure.exposure_by_revocation(session, scope=scope, now=later)

    assert [(x.kind, x.name, x.doors, x.until) for x in lines] == [
        ("employee", "Bente Berg", 1, NOW + dt.timedelta(hours=7) + T),  # lasts longest: first
        ("phone", "Ali Hassan", 2, NOW + dt.timedelta(hours=2) + T),
    ]
    assert [x.revoked_at for x in lines] == [later, NOW]
    assert len(exposure.exposed_doors(session, scope=scope, now=later)) == 3
    # Poul's lead sees only the doors on the way to Poul: the employee's line, and the
    # shared stairwell on the phone's line.
    mine = exposure.exposure_by_revocation(
        session, scope=reach(p.lead, Action.READ_DASHBOARD), now=later
    )
    assert [(x.name, x.doors) for x in mine] == [("Bente Berg", 1), ("Ali Hassan", 1)]


def test_a_blocked_phone_is_exposed_until_its_last_proof_of_freshness_and_the_tolerance(
    session: Session,
) -> None:
    """No proof is issued after a block: a door opens for the phone at the latest when its last
    proof runs out, plus the door's clock tolerance (base + drift since its last contact)."""
    p = make_place(session)
    world = p.world
    phone = add_phone(session, p.worker, "TLF-1")
    add_credential(
        session,
        p.worker,
        [world.home_lock, world.entrance_controller],
        expires_at=NOW + dt.timedelta(hours=5),
        phone=phone,
    )
    phone.freshness_expires_at = NOW + dt.timedelta(minutes=40)
    world.home_lock.last_seen_at = NOW - dt.timedelta(days=1)
    session.flush()

    blocked = revocation.block_phone(
        session, actor=p.admin, phone_id=phone.id, reason="tabt", lost=True, now=NOW
    )

    proof_end = NOW + dt.timedelta(minutes=40)
    drift = dt.timedelta(days=1, minutes=40) * 20e-6
    assert blocked.exposed_doors == {
        world.home_lock.id: proof_end + BASE_TOLERANCE + drift,
        world.entrance_controller.id: proof_end + MAX_TOLERANCE,  # never heard from
    }
    scope = reach(p.admin, Action.READ_DASHBOARD)
    exposed = {x.door_id: x.until for x in exposure.exposed_doors(session, scope=scope, now=NOW)}
    assert exposed == blocked.exposed_doors
    after = proof_end + BASE_TOLERANCE + drift + dt.timedelta(seconds=1)
    assert [x.door_id for x in exposure.exposed_doors(session, scope=scope, now=after)] == [
        world.entrance_controller.id
    ]
