"""Citizen use cases, below the HTTP layer: removal has its own use case, addresses must be the
municipality's own, and lists keep to their page bounds."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from carekey.citizens import service as citizens
from carekey.citizens.service import CitizenChanges, NewCitizen
from carekey.domain import enums as e
from carekey.domain.errors import ConflictError, DomainError, NotFoundError
from tests.store.actors import administrator
from tests.store.factories import make_world

NOW = dt.datetime(2026, 11, 26, 7, 0, tzinfo=dt.UTC)


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine) as db:
        yield db


def test_citizens_are_removed_only_through_removal_and_addresses_must_be_our_own(
    session: Session,
) -> None:
    world = make_world(session)
    other = make_world(session, code="0147", name="Frederiksberg Kommune")
    actor = administrator(world, session)
    with pytest.raises(NotFoundError) as foreign:
        citizens.create_citizen(
            session,
            actor=actor,
            new=NewCitizen(
                given_name="Karen",
                family_name="Krog",
                district_id=world.district.id,
                dwelling_id=other.dwelling.id,
            ),
            now=NOW,
        )
    assert foreign.value.code == "dwelling.not_found"
    with pytest.raises(DomainError) as removal:
        citizens.update_citizen(
            session,
            actor=actor,
            citizen_id=world.citizen.id,
            changes=CitizenChanges(status=e.CitizenStatus.REMOVED),
            now=NOW,
        )
    assert removal.value.code == "citizen.use_remove"
    world.citizen.status = e.CitizenStatus.REMOVED
    with pytest.raises(ConflictError):
        citizens.update_citizen(
            session,
            actor=actor,
            citizen_id=world.citizen.id,
            changes=CitizenChanges(status=e.CitizenStatus.ACTIVE),
            now=NOW,
        )
    paused = citizens.create_citizen(
        session,
        actor=actor,
        new=NewCitizen(given_name="Karen", family_name="Krog", district_id=world.district.id),
        now=NOW,
    )
    assert paused.citizen.status is e.CitizenStatus.PENDING
    assert paused.address is None


def test_a_page_larger_than_the_limit_is_refused(session: Session) -> None:
    world = make_world(session)
    actor = administrator(world, session)
    with pytest.raises(DomainError) as page:
        citizens.list_citizens(session, actor=actor, limit=500)
    assert page.value.code == "page.out_of_range"
