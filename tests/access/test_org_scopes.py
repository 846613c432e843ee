"""The organisation scopes in-process (issue 15): a housing association's or a partner
company's scope reaches none of the municipality's people, phones, districts, citizens, doors,
audit events or emergency grants; each organisation sees only its own in the organisation
conditions; ``get_org_object`` answers 404 across organisations; and ``reach`` refuses an
organisation's action to an actor who is not of one (seeded "small" profile, both backends)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from carekey.access import Actor
from carekey.access import org_queries as oq
from carekey.access import queries as q
from carekey.access.policy import Action, reach
from carekey.access.scope import Scope
from carekey.domain import enums as e
from carekey.domain.errors import ForbiddenError, NotFoundError
from carekey.store import models as m
from tests.api.conftest import Tenants
from tests.api.conftest import tenants as tenants  # the fixture


def _count(db: Session, model: Any, condition: Any) -> int:
    return int(db.execute(select(func.count()).select_from(model).where(condition)).scalar_one())


def _ids(db: Session, column: Any, condition: Any) -> set[Any]:
    return set(db.execute(select(column).where(condition)).scalars())


def _company_with_agreements(db: Session) -> tuple[int, int]:
    """Two companies of municipality 1 that each have an agreement."""
    companies = sorted(
        set(
            db.execute(
                select(m.Agreement.partner_company_id)
                .join(m.PartnerCompany)
                .where(m.PartnerCompany.municipality_id == 1)
            ).scalars()
        )
    )
    assert len(companies) >= 2, "the seed has agreements with at least two companies"
    return companies[0], companies[1]


def _scope(association_id: int | None = None, company_id: int | None = None) -> Scope:
    return Scope(
        municipality_id=1,
        district_ids=None,
        actor_employee_id=1,
        association_id=association_id,
        company_id=company_id,
    )


MUNICIPAL = [
    (m.Employee, q.employees_in),
    (m.Phone, q.phones_in),
    (m.District, q.districts_in),
    (m.Citizen, q.citizens_in),
    (m.DoorDevice, q.doors_in),
    (m.AuditEvent, q.audit_events_in),
    (m.EmergencyKeyGrant, q.grants_in),
]


def test_an_organisation_reaches_nothing_of_the_municipality(
    engine: Engine, tenants: Tenants
) -> None:
    municipality = _scope()
    with Session(engine) as db:
        company, _ = _company_with_agreements(db)
        for org in (_scope(association_id=1), _scope(company_id=company)):
            for model, condition in MUNICIPAL:
                assert _count(db, model, condition(org)) == 0, (model, org)
            assert _count(db, m.AuditEvent, q.doors_in(org, m.AuditEvent.door_device_id)) == 0
            # get_in_scope: the municipality's own things are 404 for an organisation.
            with pytest.raises(NotFoundError):
                q.get_in_scope(db, org, m.Employee, tenants.worker)
        # ... while the municipality's own scope does reach them (so the test can fail).
        for model, condition in MUNICIPAL[:5]:
            assert _count(db, model, condition(municipality)) > 0, model
        assert q.get_in_scope(db, municipality, m.Employee, tenants.worker).id == tenants.worker


def test_the_municipality_never_reaches_an_organisations_people_as_its_staff(
    engine: Engine, tenants: Tenants
) -> None:
    municipality = _scope()
    with Session(engine) as db:
        partner = (
            db.execute(select(m.Employee.id).where(m.Employee.partner_company_id.is_not(None)))
            .scalars()
            .first()
        )
        assert partner is not None
        assert partner not in _ids(db, m.Employee.id, q.employees_in(municipality))
        assert partner in _ids(db, m.Employee.id, oq.org_people_in(municipality))
        with pytest.raises(NotFoundError):
            q.get_in_scope(db, municipality, m.Employee, partner)
        assert not q.in_scope(db, municipality, m.Employee, 2**40)


def test_each_company_sees_only_its_own(engine: Engine, tenants: Tenants) -> None:
    with Session(engine) as db:
        p, other = _company_with_agreements(db)
        mine, theirs = _scope(company_id=p), _scope(company_id=other)
        assert _ids(db, m.PartnerCompany.id, oq.companies_in(mine)) == {p}
        assert _count(db, m.Property, oq.properties_in(mine)) == 0
        assert _count(db, m.Phone, oq.org_phones_in(_scope(association_id=1))) == 0
        phones = _ids(db, m.Phone.partner_company_id, oq.org_phones_in(mine))
        assert phones <= {p}
        people = _ids(db, m.Employee.partner_company_id, oq.org_people_in(mine))
        assert people == {p}
        agreements = _ids(db, m.Agreement.partner_company_id, oq.agreements_in(mine))
        assert agreements == {p}
        their_agreement = next(iter(_ids(db, m.Agreement.id, oq.agreements_in(theirs))))
        their_worker = next(
            iter(
                _ids(
                    db,
                    m.Employee.id,
                    oq.org_people_in(theirs),
                )
            )
        )
        associations = _ids(db, m.HousingAssociation.id, oq.associations_in(mine))
        assert associations == _ids(
            db,
            m.Agreement.housing_association_id,
            m.Agreement.partner_company_id == p,
        )
        for model, object_id in (
            (m.Agreement, their_agreement),
            (m.Employee, their_worker),
            (m.PartnerCompany, other),
            (m.Property, 1),
            (m.Agreement, 2**40),
        ):
            with pytest.raises(NotFoundError):
                oq.get_org_object(db, mine, model, object_id)
        own = next(iter(_ids(db, m.Agreement.id, oq.agreements_in(mine))))
        assert oq.get_org_object(db, mine, m.Agreement, own).partner_company_id == p
        # The company's errands and events: only its own agreements' and workers'.
        errand_agreements = _ids(db, m.Errand.agreement_id, oq.errands_in(mine))
        assert errand_agreements <= _ids(db, m.Agreement.id, oq.agreements_in(mine))
        workers = _ids(db, m.Employee.id, oq.org_people_in(mine))
        assert _ids(db, m.AuditEvent.employee_id, oq.partner_events_in(mine)) <= workers


def test_an_association_sees_only_its_own(engine: Engine, tenants: Tenants) -> None:
    with Session(engine) as db:
        a, b = _scope(association_id=1), _scope(association_id=2)
        assert _ids(db, m.HousingAssociation.id, oq.associations_in(a)) == {1}
        properties = _ids(db, m.Property.housing_association_id, oq.properties_in(a))
        assert properties == {1}
        assert _ids(db, m.Property.id, oq.properties_in(a)).isdisjoint(
            _ids(db, m.Property.id, oq.properties_in(b))
        )
        kinds = _ids(db, m.DoorDevice.kind, m.DoorDevice.id.in_(oq.stairwell_door_ids(a)))
        assert kinds
        assert e.DoorKind.HOME_LOCK not in kinds
        assert _ids(db, m.Agreement.housing_association_id, oq.agreements_in(a)) <= {1}
        users = _ids(db, m.Employee.housing_association_id, oq.org_people_in(a))
        assert users == {1}
        # The association's partner log: partner workers only, at its own controllers.
        staff = _ids(db, m.Employee.id, q.employees_in(_scope()))
        events = _ids(db, m.AuditEvent.employee_id, oq.partner_events_in(a))
        assert events.isdisjoint(staff)
        b_property = next(iter(_ids(db, m.Property.id, oq.properties_in(b))))
        with pytest.raises(NotFoundError):
            oq.get_org_object(db, a, m.Property, b_property)


def _actor(role: e.Role, association_id: int | None = None, company_id: int | None = None) -> Actor:
    return Actor(
        employee_id=1,
        municipality_id=1,
        roles=frozenset({role}),
        label="t",
        association_id=association_id,
        company_id=company_id,
    )


def test_reach_of_an_organisations_role_needs_the_organisation() -> None:
    assert reach(_actor(e.Role.ASSOCIATION_USER, association_id=3), Action.READ_AGREEMENTS) == (
        _scope(association_id=3)
    )
    assert reach(_actor(e.Role.PARTNER_ADMIN, company_id=4), Action.READ_AGREEMENTS) == _scope(
        company_id=4
    )
    for actor, action in (
        (_actor(e.Role.ASSOCIATION_USER), Action.READ_AGREEMENTS),
        (_actor(e.Role.PARTNER_ADMIN), Action.MANAGE_PARTNER_STAFF),
        (_actor(e.Role.PARTNER_ADMIN, company_id=4), Action.MANAGE_AGREEMENTS),
        (_actor(e.Role.ASSOCIATION_USER, association_id=3), Action.READ_CITIZENS),
        (_actor(e.Role.PARTNER_WORKER, company_id=4), Action.READ_AGREEMENTS),
    ):
        with pytest.raises(ForbiddenError):
            reach(actor, action)
    assert _actor(e.Role.PARTNER_ADMIN).has(e.Role.PARTNER_ADMIN, e.Role.ADMINISTRATOR)
    assert not _actor(e.Role.PARTNER_ADMIN).has(e.Role.ADMINISTRATOR)
