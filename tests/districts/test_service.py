"""District use cases, below the HTTP layer: only administrators create districts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from carekey.access import Actor
from carekey.districts import service as districts
from carekey.domain import enums as e
from carekey.domain.errors import ForbiddenError
from tests.store.actors import administrator
from tests.store.factories import make_world

NOW = dt.datetime(2026, 11, 26, 7, 0, tzinfo=dt.UTC)


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine) as db:
        yield db


def test_only_administrators_create_districts(session: Session) -> None:
    world = make_world(session)
    actor = administrator(world, session)
    auditor = Actor(actor.employee_id, actor.municipality_id, frozenset({e.Role.AUDITOR}), "R")
    with pytest.raises(ForbiddenError):
        districts.create_district(session, actor=auditor, code="X", name="X", now=NOW)
    lead = Actor(actor.employee_id, actor.municipality_id, frozenset({e.Role.DISTRICT_LEAD}), "L")
    with pytest.raises(ForbiddenError):
        districts.create_district(session, actor=lead, code="X", name="X", now=NOW)
    created = districts.create_district(session, actor=actor, code="X", name="X", now=NOW)
    assert [v.district.code for v in districts.list_districts(session, actor=actor)] == [
        "D01",
        created.district.code,
    ]
