"""The partner company's portal under test: the seeded municipality (small profile), whose
partner companies each have an administrator (``P01-ADM``) and workers (``P01-001``…) with a
company phone each (``P01-TLF-001``…). Company P is the first, Q the second."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from carekey.access import Actor
from carekey.auth.service import actor_of
from carekey.store import models as m
from tests.api.conftest import (  # noqa: F401 - fixtures
    START,
    Tenants,
    client,
    clock,
    scene,
    sign_in,
    tenants,
)


@dataclass(frozen=True)
class Companies:
    """Ids of two seeded companies, their administrators, a worker and a phone of each."""

    p: int
    q: int
    p_admin: int
    q_admin: int
    p_worker: int
    p_worker_number: str
    q_worker: int
    p_phone: int  # the phone registered to ``p_worker``
    q_phone: int
    p_agreements: list[int]
    q_agreements: list[int]


def _id(db: Session, number: str) -> int:
    return db.execute(
        select(m.Employee.id).where(m.Employee.employee_number == number)
    ).scalar_one()


def _phone(db: Session, label: str) -> int:
    return db.execute(select(m.Phone.id).where(m.Phone.label == label)).scalar_one()


def _agreements(db: Session, company: int) -> list[int]:
    return list(
        db.execute(
            select(m.Agreement.id)
            .where(m.Agreement.partner_company_id == company)
            .order_by(m.Agreement.id)
        ).scalars()
    )


@pytest.fixture
def companies(engine: Engine, tenants: Tenants) -> Companies:  # noqa: F811 - the fixture
    del tenants
    with Session(engine) as db:
        p_worker = _id(db, "P01-001")
        worker = db.get(m.Employee, p_worker)
        assert worker is not None
        assert worker.partner_company_id is not None
        q_admin = _id(db, "P02-ADM")
        q = db.get(m.Employee, q_admin)
        assert q is not None
        assert q.partner_company_id is not None
        return Companies(
            p=worker.partner_company_id,
            q=q.partner_company_id,
            p_admin=_id(db, "P01-ADM"),
            q_admin=q_admin,
            p_worker=p_worker,
            p_worker_number=worker.employee_number,
            q_worker=_id(db, "P02-001"),
            p_phone=_phone(db, "P01-TLF-001"),
            q_phone=_phone(db, "P02-TLF-001"),
            p_agreements=_agreements(db, worker.partner_company_id),
            q_agreements=_agreements(db, q.partner_company_id),
        )


def actor(engine: Engine, employee_id: int) -> Actor:
    """The actor of one person, as a request would build it."""
    with Session(engine) as db:
        employee = db.get(m.Employee, employee_id)
        assert employee is not None
        return actor_of(db, employee)


def headers(http: TestClient, engine: Engine, employee_id: int) -> dict[str, str]:
    """Bearer headers of one person, signed in through the API (password and TOTP)."""
    return sign_in(http, employee_id, engine)
