"""Phone use cases, below the HTTP layer: handing a phone to someone else ends its session."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from carekey.domain import enums as e
from carekey.keyservice.app_session import check_session, issue_session_token
from carekey.phones import service as phones
from carekey.staff import service as staff
from carekey.staff.service import NewEmployee
from tests.store.actors import administrator
from tests.store.factories import make_world

NOW = dt.datetime(2026, 11, 26, 7, 0, tzinfo=dt.UTC)
SECRET = "test-secret-for-the-service-tests-012345"


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine) as db:
        yield db


def test_handing_a_phone_to_someone_else_wipes_the_previous_holders_keys(
    session: Session,
) -> None:
    world = make_world(session)
    actor = administrator(world, session)
    first = staff.create_employee(
        session,
        actor=actor,
        new=NewEmployee(employee_number="E1", full_name="Ida", roles=[e.Role.CARE_WORKER]),
        now=NOW,
    ).employee
    second = staff.create_employee(
        session,
        actor=actor,
        new=NewEmployee(employee_number="E2", full_name="Ole", roles=[e.Role.CARE_WORKER]),
        now=NOW,
    ).employee
    phone = phones.create_phone(session, actor=actor, label="T1", employee_id=first.id, now=NOW)
    token = issue_session_token(first, phone.phone, NOW + dt.timedelta(hours=8), SECRET)
    assert check_session(session, token=token, secret=SECRET, now=NOW).session is not None

    phones.update_phone(session, actor=actor, phone_id=phone.phone.id, model="iPhone", now=NOW)
    assert check_session(session, token=token, secret=SECRET, now=NOW).session is not None
    phones.update_phone(
        session, actor=actor, phone_id=phone.phone.id, employee_id=second.id, now=NOW
    )
    checked = check_session(session, token=token, secret=SECRET, now=NOW)
    assert checked.session is None
    assert checked.wipe_reason is not None
