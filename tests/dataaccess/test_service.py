"""The right of access below the HTTP layer: the citizen's report (who opened the home lock,
with names and roles; the period; only the home; emergency keys and keys issued) and the
employee's own data; each report is logged."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from carekey.dataaccess import service
from carekey.domain import enums as e
from carekey.domain.errors import ForbiddenError, NotFoundError
from carekey.store import models as m
from tests.dashboard.place import NOW, Place, add_credential, add_event, add_phone, make_place

DAY = dt.datetime(2026, 11, 24, 7, 0, tzinfo=dt.UTC)  # 08:00 in Copenhagen
HOUR = dt.timedelta(hours=1)


def _asked(first: str = "2026-11-01", last: str = "2026-11-30", **kw: str) -> service.AccessRequest:
    return service.access_request(
        basis=kw.get("basis", "attorney"),
        requested_by=kw.get("requested_by", "Karen Jensen"),
        reference=kw.get("reference", "J.nr. 27.00.00-2026-42"),
        first=dt.date.fromisoformat(first),
        last=dt.date.fromisoformat(last),
        citizen_name="Poul Jensen",
    )


def _visits(session: Session, p: Place) -> None:
    """Two visits to Poul's home in November, one in October, and the stairwell door."""
    lock, poul = p.home_lock, p.citizen
    add_event(session, lock, e.AuditAction.UNLOCKED, DAY, employee=p.other_worker, citizen=poul)
    add_event(
        session, lock, e.AuditAction.LOCKED, DAY + HOUR / 2, employee=p.other_worker, citizen=poul
    )
    add_event(
        session, lock, e.AuditAction.UNLOCKED, DAY + 5 * HOUR, employee=p.worker, citizen=poul
    )
    add_event(session, lock, e.AuditAction.AUTO_RELOCKED, DAY + 6 * HOUR, citizen=poul)
    add_event(session, lock, e.AuditAction.LOW_BATTERY, DAY + 7 * HOUR, citizen=poul)
    add_event(
        session,
        lock,
        e.AuditAction.UNLOCKED,
        dt.datetime(2026, 10, 10, 9, tzinfo=dt.UTC),
        employee=p.worker,
        citizen=poul,
    )
    # The stairwell on the way to Poul's flat: not the home, not in the report.
    add_event(
        session,
        p.world.entrance_controller,
        e.AuditAction.RELAY_PULSED,
        DAY - HOUR / 6,
        employee=p.other_worker,
        citizen=poul,
    )


def test_the_report_names_who_opened_the_home_with_their_role(session: Session) -> None:
    p = make_place(session)
    _visits(session, p)
    report = service.citizen_report(
        session, actor=p.admin, citizen_id=p.citizen.id, request=_asked(), now=NOW
    )
    assert report.citizen_name == "Poul Jensen"
    assert [(x.action, x.employee_name) for x in report.entries] == [
        (e.AuditAction.UNLOCKED, "Bente Berg"),
        (e.AuditAction.LOCKED, "Bente Berg"),
        (e.AuditAction.UNLOCKED, "Ali Hassan"),
        (e.AuditAction.AUTO_RELOCKED, None),
    ]  # oldest first; the battery report and the stairwell door are not there
    assert report.entries[0].roles == [e.Role.CARE_WORKER]
    assert report.openings == 2
    assert report.people == [
        ("Ali Hassan", [e.Role.CARE_WORKER], 1),
        ("Bente Berg", [e.Role.CARE_WORKER], 1),
    ]
    body = report.to_json()
    assert body["scope"] == "home_lock"
    assert body["request"]["basis"] == "attorney"
    assert body["request"]["requested_by"] == "Karen Jensen"
    assert body["door_events"][0]["employee"] == {
        "name": "Bente Berg",
        "roles": ["care_worker"],
        "role_text": "Plejemedarbejder",
        "company": None,
    }
    assert body["door_events"][0]["occurred_at_local"].startswith("2026-11-24T08:00:00+01:00")
    csv_text = report.to_csv()
    assert csv_text.startswith("\ufeffTidspunkt (dansk tid);")
    assert "2026-11-24 08:00:00;" in csv_text
    assert ";Bente Berg;Plejemedarbejder;" in csv_text


def test_the_period_bounds_the_report(session: Session) -> None:
    p = make_place(session)
    _visits(session, p)
    october = service.citizen_report(
        session,
        actor=p.admin,
        citizen_id=p.citizen.id,
        request=_asked("2026-10-01", "2026-10-31"),
        now=NOW,
    )
    assert [(x.at, x.employee_name) for x in october.entries] == [
        (dt.datetime(2026, 10, 10, 9, tzinfo=dt.UTC), "Ali Hassan")
    ]
    # The last day is included, in Danish time: 24 November 00:00-24:00 local.
    one_day = service.citizen_report(
        session,
        actor=p.admin,
        citizen_id=p.citizen.id,
        request=_asked("2026-11-24", "2026-11-24"),
        now=NOW,
    )
    assert one_day.openings == 2
    none = service.citizen_report(
        session,
        actor=p.admin,
        citizen_id=p.citizen.id,
        request=_asked("2026-11-25", "2026-11-30"),
        now=NOW,
    )
    assert none.entries == []
    assert none.openings == 0


def test_emergency_keys_and_keys_issued_to_the_home_lock(session: Session) -> None:
    p = make_place(session)
    grant = m.EmergencyKeyGrant(
        municipality_id=p.citizen.municipality_id,
        employee_id=p.worker.id,
        citizen_id=p.citizen.id,
        granted_by_employee_id=p.admin.employee_id,
        reason="Vikar for distrikt 2",
        starts_at=DAY,
        ends_at=DAY + 8 * HOUR,
        created_at=DAY,
    )
    session.add(grant)
    add_credential(
        session, p.other_worker, [p.world.home_lock, p.home_lock], expires_at=DAY + 9 * HOUR
    )
    add_credential(session, p.worker, [p.world.home_lock], expires_at=DAY + 9 * HOUR)  # Else's only
    add_credential(session, p.other_worker, [p.home_lock], expires_at=DAY - 40 * 24 * HOUR)  # Oct.
    session.flush()
    report = service.citizen_report(
        session, actor=p.admin, citizen_id=p.citizen.id, request=_asked(), now=NOW
    )
    [key] = report.emergency_keys
    assert (key.employee_name, key.granted_by, key.reason) == (
        "Ali Hassan",
        "Anne Admin",
        "Vikar for distrikt 2",
    )
    assert [(k.employee_name, k.kind) for k in report.issued_keys] == [("Bente Berg", "home")]


def test_each_report_is_logged_with_who_asked_and_why(session: Session) -> None:
    p = make_place(session)
    service.citizen_report(
        session, actor=p.admin, citizen_id=p.citizen.id, request=_asked(), now=NOW
    )
    session.flush()
    [row] = session.execute(
        select(m.AdminAction).where(m.AdminAction.action == "privacy.citizen_report")
    ).scalars()
    assert (row.target_type, row.target_id, row.actor_employee_id) == (
        "citizen",
        str(p.citizen.id),
        p.admin.employee_id,
    )
    assert row.reason == "J.nr. 27.00.00-2026-42"
    assert row.details is not None
    assert row.details["from"] == "2026-11-01"
    assert row.details["to"] == "2026-11-30"
    assert (row.details["basis"], row.details["requested_by"]) == ("attorney", "Karen Jensen")


def test_who_may_make_a_citizens_report(session: Session) -> None:
    p = make_place(session)
    # Poul is in D02, the lead's own district; Else (make_world's) is not.
    assert (
        service.citizen_report(
            session, actor=p.lead, citizen_id=p.citizen.id, request=_asked(), now=NOW
        ).citizen_id
        == p.citizen.id
    )
    with pytest.raises(ForbiddenError):
        service.citizen_report(
            session, actor=p.lead, citizen_id=p.world.citizen.id, request=_asked(), now=NOW
        )
    auditor = type(p.admin)(
        p.admin.employee_id, p.admin.municipality_id, frozenset({e.Role.AUDITOR}), "R"
    )
    with pytest.raises(ForbiddenError):
        service.citizen_report(
            session, actor=auditor, citizen_id=p.citizen.id, request=_asked(), now=NOW
        )
    other = type(p.admin)(p.admin.employee_id, 999, frozenset({e.Role.ADMINISTRATOR}), "X")
    with pytest.raises(NotFoundError):
        service.citizen_report(
            session, actor=other, citizen_id=p.citizen.id, request=_asked(), now=NOW
        )


def test_a_request_that_cannot_be_used_says_what_to_fix() -> None:
    with pytest.raises(service.AccessRequestError) as unknown:
        _asked(basis="neighbour")
    assert unknown.value.code == "privacy.basis_unknown"
    with pytest.raises(service.AccessRequestError) as nameless:
        _asked(basis="guardian", requested_by="  ")
    assert nameless.value.code == "privacy.requested_by_missing"
    assert _asked(basis="citizen", requested_by="").requested_by == "Poul Jensen"
    with pytest.raises(service.AccessRequestError) as long:
        _asked("2020-01-01", "2026-01-01")
    assert long.value.code == "privacy.period_too_long"
    swapped = _asked("2026-11-30", "2026-11-01")
    assert (swapped.first.isoformat(), swapped.last.isoformat()) == ("2026-11-01", "2026-11-30")


def test_the_employees_export_holds_their_events_and_what_was_done_to_them(
    session: Session,
) -> None:
    p = make_place(session)
    _visits(session, p)
    add_phone(session, p.other_worker, "TLF-77")
    add_credential(session, p.other_worker, [p.home_lock], expires_at=DAY + 9 * HOUR)
    session.add(
        m.AdminAction(
            municipality_id=p.citizen.municipality_id,
            actor_employee_id=p.admin.employee_id,
            actor_label="Anne",
            action="employee.changed",
            target_type="employee",
            target_id=str(p.other_worker.id),
            at=DAY,
        )
    )
    session.flush()
    report = service.employee_report(
        session, actor=p.admin, employee_id=p.other_worker.id, now=NOW, reason="Anmodning"
    )
    data = report.to_json()
    assert data["employee"]["name"] == "Bente Berg"
    assert data["employee"]["employee_number"] == "W2"
    assert data["roles"] == ["care_worker"]
    assert [d["code"] for d in data["districts"]] == ["D02"]
    assert [x["label"] for x in data["phones"]] == ["TLF-77"]
    actions = sorted(x["action"] for x in data["door_events"])
    assert actions == ["locked", "relay_pulsed", "unlocked"]  # hers, at the home and stairwell
    assert all(x["who"]["name"] == "Bente Berg" for x in data["door_events"])
    assert [a["action"] for a in data["admin_actions_about"]] == ["employee.changed"]
    assert [k["kind"] for k in data["issued_keys"]] == ["home"]
    assert "password_hash" not in str(data)
    assert "totp_secret" not in str(data)
    session.flush()
    logged = session.execute(
        select(m.AdminAction).where(m.AdminAction.action == "privacy.employee_report")
    ).scalar_one()
    assert (logged.target_id, logged.reason) == (str(p.other_worker.id), "Anmodning")


def test_an_employees_export_is_an_administrators_or_ones_own(session: Session) -> None:
    p = make_place(session)
    with pytest.raises(ForbiddenError):
        service.employee_report(session, actor=p.lead, employee_id=p.other_worker.id, now=NOW)
    own = service.employee_report(session, actor=p.lead, employee_id=p.lead.employee_id, now=NOW)
    assert own.data["employee"]["name"] == "Lis Leder"
    assert own.data["admin_actions_by"] == []
