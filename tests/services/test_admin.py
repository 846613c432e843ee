"""Administration use cases, below the HTTP layer: partial changes, the log they leave, and the
rules that keep a change from breaking the key service."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from carekey.access import Actor
from carekey.domain import enums as e
from carekey.domain.errors import ConflictError, DomainError, ForbiddenError, NotFoundError
from carekey.keyservice.app_session import check_session, issue_session_token
from carekey.services import admin
from carekey.store import models as m
from tests.store.factories import World, make_world

NOW = dt.datetime(2026, 11, 26, 7, 0, tzinfo=dt.UTC)
SECRET = "test-secret-for-the-service-tests-012345"


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine) as db:
        yield db


def _admin(world: World, db: Session) -> Actor:
    employee = m.Employee(
        municipality_id=world.municipality.id,
        employee_number="A1",
        full_name="Anne Admin",
        roles=[m.EmployeeRole(role=e.Role.ADMINISTRATOR)],
    )
    db.add(employee)
    db.flush()
    return Actor(employee.id, world.municipality.id, frozenset({e.Role.ADMINISTRATOR}), "Anne")


def _actions(db: Session) -> list[m.AdminAction]:
    return list(db.execute(select(m.AdminAction).order_by(m.AdminAction.id)).scalars())


def test_changing_roles_and_districts_keeps_the_rest_and_logs_only_real_changes(
    session: Session,
) -> None:
    world = make_world(session)
    actor = _admin(world, session)
    second = admin.create_district(session, actor=actor, code="D02", name="Vesterbro", now=NOW)
    created = admin.create_employee(
        session,
        actor=actor,
        employee_number="E7",
        full_name="Mette Madsen",
        roles=[e.Role.CARE_WORKER, e.Role.INSTALLER],
        district_ids=[world.district.id],
        now=NOW,
    )
    employee_id = created.employee.id

    changed = admin.update_employee(
        session,
        actor=actor,
        employee_id=employee_id,
        roles=[e.Role.CARE_WORKER, e.Role.DISTRICT_LEAD],
        district_ids=[world.district.id, second.district.id],
        reason="ny funktion",
        now=NOW,
    )
    assert changed.roles == [e.Role.CARE_WORKER, e.Role.DISTRICT_LEAD]
    assert [d.code for d in changed.districts] == ["D01", "D02"]
    assert changed.employee.full_name == "Mette Madsen"

    admin.update_employee(
        session, actor=actor, employee_id=employee_id, full_name=" Mette Madsen ", now=NOW
    )
    log = [(a.action, a.reason) for a in _actions(session)]
    assert log == [
        ("district.created", None),
        ("employee.created", None),
        ("employee.changed", "ny funktion"),
    ]
    assert _actions(session)[-1].details == {
        "roles": {"from": ["care_worker", "installer"], "to": ["care_worker", "district_lead"]},
        "district_ids": {
            "from": [world.district.id],
            "to": [world.district.id, second.district.id],
        },
    }


def test_handing_a_phone_to_someone_else_wipes_the_previous_holders_keys(
    session: Session,
) -> None:
    world = make_world(session)
    actor = _admin(world, session)
    first = admin.create_employee(
        session,
        actor=actor,
        employee_number="E1",
        full_name="Ida",
        roles=[e.Role.CARE_WORKER],
        now=NOW,
    ).employee
    second = admin.create_employee(
        session,
        actor=actor,
        employee_number="E2",
        full_name="Ole",
        roles=[e.Role.CARE_WORKER],
        now=NOW,
    ).employee
    phone = admin.create_phone(session, actor=actor, label="T1", employee_id=first.id, now=NOW)
    token = issue_session_token(first, phone.phone, NOW + dt.timedelta(hours=8), SECRET)
    assert check_session(session, token=token, secret=SECRET, now=NOW).session is not None

    admin.update_phone(session, actor=actor, phone_id=phone.phone.id, model="iPhone", now=NOW)
    assert check_session(session, token=token, secret=SECRET, now=NOW).session is not None
    admin.update_phone(
        session, actor=actor, phone_id=phone.phone.id, employee_id=second.id, now=NOW
    )
    checked = check_session(session, token=token, secret=SECRET, now=NOW)
    assert checked.session is None
    assert checked.wipe_reason is not None


def test_citizens_are_removed_only_through_removal_and_addresses_must_be_our_own(
    session: Session,
) -> None:
    world = make_world(session)
    other = make_world(session, code="0147", name="Frederiksberg Kommune")
    actor = _admin(world, session)
    with pytest.raises(NotFoundError) as foreign:
        admin.create_citizen(
            session,
            actor=actor,
            given_name="Karen",
            family_name="Krog",
            district_id=world.district.id,
            dwelling_id=other.dwelling.id,
            now=NOW,
        )
    assert foreign.value.code == "dwelling.not_found"
    with pytest.raises(DomainError) as removal:
        admin.update_citizen(
            session,
            actor=actor,
            citizen_id=world.citizen.id,
            status=e.CitizenStatus.REMOVED,
            now=NOW,
        )
    assert removal.value.code == "citizen.use_remove"
    world.citizen.status = e.CitizenStatus.REMOVED
    with pytest.raises(ConflictError):
        admin.update_citizen(
            session,
            actor=actor,
            citizen_id=world.citizen.id,
            status=e.CitizenStatus.ACTIVE,
            now=NOW,
        )
    paused = admin.create_citizen(
        session,
        actor=actor,
        given_name="Karen",
        family_name="Krog",
        district_id=world.district.id,
        now=NOW,
    )
    assert paused.citizen.status is e.CitizenStatus.PENDING
    assert paused.address is None


def test_only_administrators_change_and_searches_take_wildcards_literally(
    session: Session,
) -> None:
    world = make_world(session)
    actor = _admin(world, session)
    for number, name in (("E_1", "Per Hansen"), ("E21", "Pia Hansen")):
        admin.create_employee(
            session,
            actor=actor,
            employee_number=number,
            full_name=name,
            roles=[e.Role.CARE_WORKER],
            now=NOW,
        )
    assert admin.list_employees(session, actor=actor, q="hansen").total == 2
    assert [
        v.employee.full_name for v in admin.list_employees(session, actor=actor, q="E_").items
    ] == ["Per Hansen"]
    auditor = Actor(actor.employee_id, actor.municipality_id, frozenset({e.Role.AUDITOR}), "R")
    assert admin.list_employees(session, actor=auditor, q="hansen").total == 2  # reads
    with pytest.raises(ForbiddenError):
        admin.create_district(session, actor=auditor, code="X", name="X", now=NOW)
    lead = Actor(actor.employee_id, actor.municipality_id, frozenset({e.Role.DISTRICT_LEAD}), "L")
    with pytest.raises(ForbiddenError):
        admin.create_district(session, actor=lead, code="X", name="X", now=NOW)
    with pytest.raises(DomainError) as page:
        admin.list_citizens(session, actor=actor, limit=500)
    assert page.value.code == "page.out_of_range"
