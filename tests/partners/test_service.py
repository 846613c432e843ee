"""The partner portal's use cases (``partners.service``) on SQLite and PostgreSQL, called as a
request would: who gets the company's scope at all, the counts of the overview, paging of the
people, and that nothing is written when a use case refuses."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from carekey.access import Action
from carekey.domain import enums as e
from carekey.domain.errors import DomainError, ForbiddenError
from carekey.partners import service
from carekey.store import models as m
from tests.api.conftest import START, Tenants
from tests.partners.conftest import Companies, actor


def _count(engine: Engine, model: type[m.Base], **where: object) -> int:
    with Session(engine) as db:
        stmt = select(func.count()).select_from(model)
        for name, value in where.items():
            stmt = stmt.where(getattr(model, name) == value)
        return int(db.execute(stmt).scalar_one())


def test_only_a_companys_administrator_gets_the_companys_scope(
    engine: Engine, companies: Companies, tenants: Tenants
) -> None:
    scope = service.company_scope(actor(engine, companies.p_admin), Action.MANAGE_PARTNER_STAFF)
    assert scope.company_id == companies.p
    assert scope.association_id is None
    # The municipality's administrator reads the register, but has no company's portal.
    for person in (tenants.admin, tenants.auditor, companies.p_worker):
        with pytest.raises(ForbiddenError):
            service.company_scope(actor(engine, person), Action.READ_AGREEMENTS)


def test_the_overview_counts_the_companys_people_and_phones(
    engine: Engine, companies: Companies
) -> None:
    with Session(engine) as db:
        view = service.overview(db, actor=actor(engine, companies.p_admin), now=START)
    assert view.company.id == companies.p
    assert view.people == _count(engine, m.Employee, partner_company_id=companies.p)
    assert view.phones == _count(engine, m.Phone, partner_company_id=companies.p)
    assert view.workers == view.people - 1  # all but the one administrator
    assert {a.agreement.id for a in view.agreements} == set(companies.p_agreements)
    assert {a.state for a in view.agreements} <= {"active", "upcoming", "ended", "blocked"}


def test_people_are_paged_by_name(engine: Engine, companies: Companies) -> None:
    admin = actor(engine, companies.p_admin)
    with Session(engine) as db:
        first = service.list_workers(db, actor=admin, limit=2)
        second = service.list_workers(db, actor=admin, limit=2, offset=2)
        names = [v.employee.full_name for v in first.items + second.items]
    assert first.total == _count(engine, m.Employee, partner_company_id=companies.p)
    assert names == sorted(names)
    assert len(set(names)) == 4


def test_a_refused_creation_writes_nothing(engine: Engine, companies: Companies) -> None:
    admin = actor(engine, companies.p_admin)
    people = _count(engine, m.Employee)
    actions = _count(engine, m.AdminAction)
    for new in (
        service.NewWorker("P01-X", "Kort Kode", password="kort"),
        service.NewWorker("P01-Y", "Forkert Rolle", role=e.Role.AUDITOR),
        service.NewWorker("P01-Z", "Dårlig Post", email="ikke en adresse"),
    ):
        with Session(engine) as db:
            with pytest.raises(DomainError):
                service.create_worker(db, actor=admin, new=new, now=START)
            db.commit()  # whatever the use case had added before refusing would be kept
    assert _count(engine, m.Employee) == people
    assert _count(engine, m.AdminAction) == actions


def test_handing_a_phone_to_the_same_worker_changes_nothing(
    engine: Engine, companies: Companies
) -> None:
    admin = actor(engine, companies.p_admin)
    with Session(engine) as db, db.begin():
        phone = db.get(m.Phone, companies.p_phone)
        assert phone is not None
        epoch = phone.session_epoch
        view = service.assign_phone(
            db,
            actor=admin,
            phone_id=companies.p_phone,
            employee_id=companies.p_worker,
            now=START + dt.timedelta(minutes=1),
        )
        assert view.holder is not None
        assert view.holder.id == companies.p_worker
        assert view.phone.session_epoch == epoch
    assert _count(engine, m.AdminAction, action="phone.changed") == 0
