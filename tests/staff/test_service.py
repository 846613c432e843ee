"""Employee use cases, below the HTTP layer: partial changes, the log they leave, who may change,
and searches that take what was typed literally."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from carekey.access import Actor
from carekey.districts import service as districts
from carekey.domain import enums as e
from carekey.domain.errors import ForbiddenError
from carekey.staff import service as staff
from carekey.staff.service import EmployeeChanges, NewEmployee
from carekey.store import models as m
from tests.store.actors import administrator
from tests.store.factories import make_world

NOW = dt.datetime(2026, 11, 26, 7, 0, tzinfo=dt.UTC)


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine) as db:
        yield db


def _actions(db: Session) -> list[m.AdminAction]:
    return list(db.execute(select(m.AdminAction).order_by(m.AdminAction.id)).scalars())


def test_changing_roles_and_districts_keeps_the_rest_and_logs_only_real_changes(
    session: Session,
) -> None:
    world = make_world(session)
    actor = administrator(world, session)
    second = districts.create_district(session, actor=actor, code="D02", name="Vesterbro", now=NOW)
    created = staff.create_employee(
        session,
        actor=actor,
        new=NewEmployee(
            employee_number="E7",
            full_name="Mette Madsen",
            roles=[e.Role.CARE_WORKER, e.Role.INSTALLER],
            district_ids=[world.district.id],
        ),
        now=NOW,
    )
    employee_id = created.employee.id

    changed = staff.update_employee(
        session,
        actor=actor,
        employee_id=employee_id,
        changes=EmployeeChanges(
            roles=[e.Role.CARE_WORKER, e.Role.DISTRICT_LEAD],
            district_ids=[world.district.id, second.district.id],
        ),
        reason="ny funktion",
        now=NOW,
    )
    assert changed.roles == [e.Role.CARE_WORKER, e.Role.DISTRICT_LEAD]
    assert [d.code for d in changed.districts] == ["D01", "D02"]
    assert changed.employee.full_name == "Mette Madsen"

    staff.update_employee(
        session,
        actor=actor,
        employee_id=employee_id,
        changes=EmployeeChanges(full_name=" Mette Madsen "),
        now=NOW,
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


def test_only_administrators_change_and_searches_take_wildcards_literally(
    session: Session,
) -> None:
    world = make_world(session)
    actor = administrator(world, session)
    for number, name in (("E_1", "Per Hansen"), ("E21", "Pia Hansen")):
        staff.create_employee(
            session,
            actor=actor,
            new=NewEmployee(employee_number=number, full_name=name, roles=[e.Role.CARE_WORKER]),
            now=NOW,
        )
    assert staff.list_employees(session, actor=actor, q="hansen").total == 2
    assert [
        v.employee.full_name for v in staff.list_employees(session, actor=actor, q="E_").items
    ] == ["Per Hansen"]
    auditor = Actor(actor.employee_id, actor.municipality_id, frozenset({e.Role.AUDITOR}), "R")
    assert staff.list_employees(session, actor=auditor, q="hansen").total == 2  # reads
    with pytest.raises(ForbiddenError):
        staff.create_employee(
            session,
            actor=auditor,
            new=NewEmployee(employee_number="E9", full_name="X", roles=[e.Role.CARE_WORKER]),
            now=NOW,
        )
