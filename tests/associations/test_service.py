"""The housing association's use cases, on SQLite and PostgreSQL: the rule for the count of
home care (bands, finished months only), agreements against the partner policy, revocation when
an agreement ends or narrows, and the access model (only the association's own user)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from carekey.associations import agreements as use
from carekey.associations import service
from carekey.clock import COPENHAGEN
from carekey.domain import enums as e
from carekey.domain.errors import (
    ConflictError,
    ForbiddenError,
    InvariantError,
    NotFoundError,
)
from carekey.domain.partner_policy import LegalBasis, OrganisationKind
from carekey.store import models as m
from tests.api.conftest import START, Tenants
from tests.associations.conftest import Portal, actor

NOW = START


@pytest.mark.parametrize(
    ("count", "band"),
    [
        (0, "0"),
        (1, "under_10"),
        (9, "under_10"),
        (10, "10"),
        (14, "10"),
        (15, "20"),
        (23, "20"),
        (25, "30"),
        (104, "100"),
        (-3, "0"),
    ],
)
def test_the_count_of_home_care_is_banded(count: int, band: str) -> None:
    assert service.opening_band(count) == band


def test_only_finished_months_are_counted_in_danish_time() -> None:
    months = service.finished_months(dt.datetime(2027, 1, 15, 12, tzinfo=dt.UTC))
    assert [x.label for x in months] == ["2026-10", "2026-11", "2026-12"]
    assert months[0].start == dt.datetime(2026, 10, 1, tzinfo=COPENHAGEN)
    assert months[-1].end == dt.datetime(2027, 1, 1, tzinfo=COPENHAGEN)
    # Just after midnight on the first, Danish time (still the day before in UTC).
    first = dt.datetime(2026, 11, 30, 23, 30, tzinfo=dt.UTC)
    assert [x.label for x in service.finished_months(first)][-1] == "2026-11"


def test_the_count_is_per_property_and_only_the_municipality_s_openings(
    engine: Engine, portal: Portal
) -> None:
    a = actor(engine, portal.a_user)
    with Session(engine) as db:
        view = service.get_property(db, actor=a, property_id=portal.a_property, now=NOW)
        # A partner worker's openings never count; add one in October to show it.
        db.add(
            m.AuditEvent(
                municipality_id=1,
                source=e.AuditSource.DOOR,
                action=e.AuditAction.RELAY_PULSED,
                door_device_id=portal.a_controller,
                employee_id=portal.partner_worker,
                occurred_at=dt.datetime(2026, 10, 20, 8, tzinfo=dt.UTC),
            )
        )
        db.flush()
        again = service.get_property(db, actor=a, property_id=portal.a_property, now=NOW)
    assert [c.band for c in view.openings] == ["0", "under_10", "20"]
    assert again.openings == view.openings


def test_only_the_association_s_own_user_reaches_the_portal(
    engine: Engine, tenants: Tenants, portal: Portal
) -> None:
    with Session(engine) as db:
        partner_admin = db.execute(
            select(m.Employee.id).where(m.Employee.employee_number == "P01-ADM")
        ).scalar_one()
    for who in (tenants.admin, tenants.auditor, tenants.lead, partner_admin):
        with Session(engine) as db, pytest.raises(ForbiddenError):
            service.list_properties(db, actor=actor(engine, who), now=NOW)
        with Session(engine) as db, pytest.raises(ForbiddenError):
            use.list_agreements(db, actor=actor(engine, who), now=NOW)
    b = actor(engine, portal.b_user)
    with Session(engine) as db:
        for call in (
            lambda: service.get_property(db, actor=b, property_id=portal.a_property, now=NOW),
            lambda: service.get_permission_request(db, actor=b, request_id=portal.a_request),
            lambda: use.get_agreement(db, actor=b, agreement_id=portal.a_agreement, now=NOW),
            lambda: use.get_agreement(db, actor=b, agreement_id=2**40, now=NOW),
        ):
            with pytest.raises(NotFoundError):
                call()


def _new(portal: Portal, **changes: object) -> use.NewAgreement:
    values: dict[str, object] = {
        "company_id": portal.company,
        "basis": LegalBasis.STATUTORY_MAIL,
        "doors": use.DoorChoice(entrance_ids=[portal.a_entrance]),
        "windows": [use.WindowSpec(0, "08:00", "12:00")],
    }
    values.update(changes)
    return use.NewAgreement(**values)  # type: ignore[arg-type]


def test_a_public_service_needs_a_public_body(engine: Engine, portal: Portal) -> None:
    a = actor(engine, portal.a_user)
    with Session(engine) as db, db.begin():
        meals = m.PartnerCompany(
            municipality_id=1,
            name="Kommunens Madservice",
            organisation_kind=OrganisationKind.COMPANY,
            cvr="24256790",
            category=e.PartnerCategory.MEAL_BOX,
        )
        db.add(meals)
        db.flush()
        with pytest.raises(InvariantError) as refused:
            use.create_agreement(
                db,
                actor=a,
                new=_new(portal, company_id=meals.id, basis=LegalBasis.PUBLIC_SERVICE),
                now=NOW,
            )
        assert refused.value.code == "agreement.public_service_needs_public_body"
        meals.organisation_kind = OrganisationKind.PUBLIC_BODY
        meals.cvr = None
        db.flush()
        view = use.create_agreement(
            db,
            actor=a,
            new=_new(portal, company_id=meals.id, basis=LegalBasis.PUBLIC_SERVICE),
            now=NOW,
        )
        assert view.agreement.requires_errand is False
        # A company the municipality has blocked gets no new agreement.
        meals.status = e.PartnerStatus.BLOCKED
        db.flush()
        with pytest.raises(InvariantError) as blocked:
            use.create_agreement(
                db,
                actor=a,
                new=_new(portal, company_id=meals.id, basis=LegalBasis.PUBLIC_SERVICE),
                now=NOW,
            )
        assert blocked.value.code == "partner.blocked"


def test_an_entrance_without_a_module_is_refused(engine: Engine, portal: Portal) -> None:
    a = actor(engine, portal.a_user)
    with Session(engine) as db, db.begin():
        bare = m.Entrance(property_id=portal.a_property, label="Uden modul 99")
        db.add(bare)
        db.flush()
        with pytest.raises(InvariantError) as refused:
            use.create_agreement(
                db, actor=a, new=_new(portal, doors=use.DoorChoice(entrance_ids=[bare.id])), now=NOW
            )
        assert refused.value.code == "agreement.no_module"
        with pytest.raises(NotFoundError):
            use.create_agreement(
                db,
                actor=a,
                new=_new(portal, doors=use.DoorChoice(property_ids=[portal.b_property])),
                now=NOW,
            )


def _live_credentials(db: Session, agreement_id: int) -> int:
    return int(
        db.execute(
            select(func.count())
            .select_from(m.IssuedCredential)
            .where(m.IssuedCredential.agreement_id == agreement_id)
            .where(m.IssuedCredential.revoked_at.is_(None))
        ).scalar_one()
    )


def test_narrowing_an_agreement_revokes_its_credentials_widening_does_not(
    engine: Engine, portal: Portal
) -> None:
    a = actor(engine, portal.a_user)
    with Session(engine) as db, db.begin():
        # Widening: a later end date on an agreement without one is no narrowing... but an
        # end date where there was none is. Moving the start earlier widens.
        agreement = db.get(m.Agreement, portal.a_agreement)
        assert agreement is not None
        use.update_agreement(
            db,
            actor=a,
            agreement_id=portal.a_agreement,
            changes=use.AgreementChanges(valid_from=agreement.valid_from - dt.timedelta(days=1)),
            now=NOW,
        )
        assert _live_credentials(db, portal.a_agreement) == 1
        use.update_agreement(
            db,
            actor=a,
            agreement_id=portal.a_agreement,
            changes=use.AgreementChanges(windows=[use.WindowSpec(0, "08:00", "09:00")]),
            now=NOW,
        )
        assert _live_credentials(db, portal.a_agreement) == 0
        assert _live_credentials(db, portal.b_agreement) == 1
        actions = db.execute(
            select(m.AdminAction.action, m.AdminAction.details)
            .where(m.AdminAction.target_type == "agreement")
            .where(m.AdminAction.target_id == str(portal.a_agreement))
            .order_by(m.AdminAction.id)
        ).all()
    assert [x for x, _ in actions] == ["agreement.changed", "agreement.changed"]
    assert actions[0][1]["denylist_version"] is None
    assert actions[1][1]["denylist_version"] is not None


def test_ending_an_agreement_revokes_and_is_logged_once(engine: Engine, portal: Portal) -> None:
    a = actor(engine, portal.a_user)
    with Session(engine) as db, db.begin():
        view = use.end_agreement(
            db, actor=a, agreement_id=portal.a_agreement, now=NOW, reason="Opsagt"
        )
        assert view.state == "ended"
        assert view.agreement.valid_until == NOW
        assert _live_credentials(db, portal.a_agreement) == 0
        entry = db.execute(select(m.DenylistEntry)).scalars().one()
        assert entry.reason is e.DenylistReason.AGREEMENT_ENDED
        with pytest.raises(ConflictError):
            use.end_agreement(db, actor=a, agreement_id=portal.a_agreement, now=NOW)
        with pytest.raises(ConflictError):
            use.update_agreement(
                db,
                actor=a,
                agreement_id=portal.a_agreement,
                changes=use.AgreementChanges(valid_until=None),
                now=NOW,
            )
    assert [h.action for h in view.history] == ["agreement.ended"]
    assert view.history[0].by is not None  # the association's own user is named


def test_the_municipality_is_never_named_in_an_agreement_s_history(
    engine: Engine, tenants: Tenants, portal: Portal
) -> None:
    admin = actor(engine, tenants.admin)
    a = actor(engine, portal.a_user)
    with Session(engine) as db, db.begin():
        from carekey.audit.actions import record_admin_action

        record_admin_action(
            db,
            actor=admin,
            municipality_id=1,
            action="agreement.reviewed",
            target_type="agreement",
            target_id=portal.a_agreement,
            reason="intern note",
            now=NOW,
        )
        db.flush()
        view = use.get_agreement(db, actor=a, agreement_id=portal.a_agreement, now=NOW)
    assert [(h.by, h.reason) for h in view.history] == [(None, None)]


def test_answering_twice_is_a_conflict(engine: Engine, portal: Portal) -> None:
    a = actor(engine, portal.a_user)
    with Session(engine) as db, db.begin():
        answered = service.answer_permission_request(
            db,
            actor=a,
            request_id=portal.a_request,
            decision=service.Decision.GRANT,
            note=None,
            now=NOW,
        )
        assert answered.request.status is e.PermissionStatus.GRANTED
        assert answered.request.decided_at == NOW
        with pytest.raises(ConflictError):
            service.answer_permission_request(
                db,
                actor=a,
                request_id=portal.a_request,
                decision=service.Decision.REFUSE,
                note="nej",
                now=NOW,
            )
    # A second answer racing the first finds the row answered (compare-and-set).
    with Session(engine) as db, db.begin():
        from carekey.associations import queries

        assert not queries.decide_permission(
            db,
            portal.a_request,
            status=e.PermissionStatus.REFUSED,
            by="x",
            note=None,
            now=NOW,
        )


def test_a_block_takes_effect_at_once_in_the_key_service(engine: Engine, portal: Portal) -> None:
    from carekey.keyservice import partner_keys

    a = actor(engine, portal.a_user)

    def grants(db: Session) -> set[int]:
        found = partner_keys.partner_grants(
            db,
            worker_id=portal.partner_worker,
            company_id=portal.company,
            municipality_id=1,
            now=NOW,
            until=NOW + dt.timedelta(hours=9),
        )
        return {g.agreement_id for g in found}

    with Session(engine) as db, db.begin():
        assert {portal.a_agreement, portal.b_agreement} <= grants(db)
        use.block_company(db, actor=a, company_id=portal.company, reason="misbrug", now=NOW)
        after = grants(db)
        notices = partner_keys.blocked_notices(db, company_id=portal.company, now=NOW)
        association = db.get(m.HousingAssociation, portal.a)
        assert association is not None
        name = association.name
    assert portal.a_agreement not in after
    assert portal.b_agreement in after  # B's agreement with the company still admits
    assert [n.association for n in notices] == [name]
