"""The import's table of job titles to roles: the municipality's rows win over the defaults, a
duplicate or an unknown role is refused clearly, every change is logged, and another
municipality's rows are out of reach."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from carekey.access import Actor
from carekey.domain import enums as e
from carekey.domain.errors import ConflictError, DomainError, ForbiddenError, NotFoundError
from carekey.staff import job_titles
from carekey.store import models as m
from tests.store.actors import administrator
from tests.store.factories import make_world

NOW = dt.datetime(2026, 11, 26, 7, 0, tzinfo=dt.UTC)


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine) as db:
        yield db


def test_rows_override_defaults_and_are_audited(session: Session) -> None:
    actor = administrator(make_world(session), session)
    table = job_titles.list_job_titles(session, actor=actor)
    assert table.rows == []
    assert table.role_of("  Social- og   SUNDHEDSHJÆLPER ") is e.Role.CARE_WORKER
    assert table.role_of("Leder") is e.Role.DISTRICT_LEAD
    assert table.role_of("Kok") is None

    row = job_titles.add_job_title(session, actor=actor, title=" LEDER ", role="revisor", now=NOW)
    assert (row.title, row.role) == ("leder", e.Role.AUDITOR)
    table = job_titles.list_job_titles(session, actor=actor)
    assert table.role_of("leder") is e.Role.AUDITOR
    assert table.overridden == {"leder"}
    with pytest.raises(ConflictError) as duplicate:
        job_titles.add_job_title(session, actor=actor, title="Leder", role="administrator", now=NOW)
    assert duplicate.value.code == "job_title.duplicate"
    with pytest.raises(DomainError) as unknown:
        job_titles.add_job_title(session, actor=actor, title="Kok", role="kok", now=NOW)
    assert unknown.value.code == "job_title.unknown_role"
    with pytest.raises(DomainError) as partner:
        job_titles.add_job_title(session, actor=actor, title="Kok", role="partner_worker", now=NOW)
    assert partner.value.code == "job_title.unknown_role"
    with pytest.raises(DomainError) as empty:
        job_titles.add_job_title(session, actor=actor, title="   ", role="revisor", now=NOW)
    assert empty.value.code == "job_title.bad_title"

    job_titles.remove_job_title(session, actor=actor, row_id=row.id, now=NOW)
    assert job_titles.list_job_titles(session, actor=actor).role_of("leder") is e.Role.DISTRICT_LEAD
    logged = session.execute(
        select(m.AdminAction.action, m.AdminAction.details).where(
            m.AdminAction.target_type == "job_title"
        )
    ).all()
    assert [a for a, _d in logged] == ["job_title.added", "job_title.removed"]
    assert logged[0][1] == {"title": "leder", "role": "auditor"}


def test_another_municipality_and_a_lead_cannot_edit_the_table(session: Session) -> None:
    actor = administrator(make_world(session), session)
    row = job_titles.add_job_title(session, actor=actor, title="Kok", role="care_worker", now=NOW)
    other_world = make_world(session, code="0147", name="Frederiksberg Kommune")
    other = Actor(actor.employee_id, other_world.municipality.id, actor.roles, "Frede")
    assert job_titles.list_job_titles(session, actor=other).rows == []
    with pytest.raises(NotFoundError):
        job_titles.remove_job_title(session, actor=other, row_id=row.id, now=NOW)
    lead = Actor(actor.employee_id, actor.municipality_id, frozenset({e.Role.DISTRICT_LEAD}), "L")
    with pytest.raises(ForbiddenError):
        job_titles.add_job_title(session, actor=lead, title="Bager", role="care_worker", now=NOW)
    # Reading the table for an import needs no right to edit it.
    assert job_titles.title_table(session, actor=lead).role_of("kok") is e.Role.CARE_WORKER
