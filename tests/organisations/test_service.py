"""The register's use cases below the HTTP layer: registering, first users, who may read and
change what, and the block of a company reaching the doors through the denylist."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from carekey.auth.passwords import verify_password
from carekey.domain import enums as e
from carekey.domain.errors import (
    ConflictError,
    DomainError,
    ForbiddenError,
    InvariantError,
    NotFoundError,
)
from carekey.domain.partner_policy import OrganisationKind, valid_cvr_near
from carekey.keyservice.credentials import subject_of
from carekey.organisations import service
from carekey.organisations.service import NewAssociation, NewCompany, NewOrgUser
from carekey.protocol.denylist import subject_id
from carekey.revocation import denylist as dl
from carekey.revocation import service as revocation
from carekey.store import models as m
from tests.organisations.conftest import NOW, PASSWORD, Place, actor, credential, person

CVR = valid_cvr_near(24_256_790)


def _actions(db: Session) -> list[tuple[str, str, str | None]]:
    rows = db.execute(select(m.AdminAction).order_by(m.AdminAction.id)).scalars()
    return [(a.action, a.target_type, a.reason) for a in rows]


def _company(db: Session, place: Place, name: str = "Avisbud A/S", cvr: str = CVR) -> int:
    new = NewCompany(name=name, category=e.PartnerCategory.NEWSPAPER, cvr=cvr)
    return service.register_company(db, actor=place.admin, new=new, now=NOW).company.id


# --- registering -------------------------------------------------------------------------------


def test_an_association_is_registered_with_its_cvr_number_as_eight_digits(
    session: Session, place: Place
) -> None:
    written = f"DK-{CVR[:2]} {CVR[2:4]} {CVR[4:6]} {CVR[6:]} "
    view = service.register_association(
        session,
        actor=place.admin,
        new=NewAssociation(name=" Boligselskabet Vest ", cvr=written),
        now=NOW,
        reason="ny forening",
    )
    assert (view.association.name, view.association.cvr) == ("Boligselskabet Vest", CVR)
    assert view.association.municipality_id == place.world.municipality.id
    without = service.register_association(
        session, actor=place.admin, new=NewAssociation(name="Andelsforeningen", cvr=" "), now=NOW
    )
    assert without.association.cvr is None
    assert _actions(session) == [
        ("association.registered", "housing_association", "ny forening"),
        ("association.registered", "housing_association", None),
    ]


def test_a_cvr_number_is_checked_and_registered_once_per_municipality(
    session: Session, place: Place
) -> None:
    with pytest.raises(InvariantError) as bad:
        service.register_association(
            session, actor=place.admin, new=NewAssociation(name="X", cvr="12345678"), now=NOW
        )
    assert bad.value.code == "partner.bad_cvr"
    service.register_association(
        session, actor=place.admin, new=NewAssociation(name="Første", cvr=CVR), now=NOW
    )
    with pytest.raises(ConflictError) as twice:
        service.register_association(
            session, actor=place.admin, new=NewAssociation(name="Anden", cvr=CVR), now=NOW
        )
    assert twice.value.code == "organisation.cvr_taken"
    assert "CVR" in twice.value.message_da
    assert "CVR" in twice.value.message_en
    # Another municipality registers its own, with the same CVR number.
    other = service.register_association(
        session, actor=place.other_admin, new=NewAssociation(name="Første", cvr=CVR), now=NOW
    )
    assert other.association.municipality_id == place.other_admin.municipality_id


def test_a_company_needs_a_valid_cvr_number_a_public_body_may_have_none(
    session: Session, place: Place
) -> None:
    no_cvr = NewCompany(name="Pakker ApS", category=e.PartnerCategory.PARCEL)
    with pytest.raises(InvariantError) as refused:
        service.register_company(session, actor=place.admin, new=no_cvr, now=NOW)
    assert refused.value.code == "partner.not_approved"
    with pytest.raises(InvariantError) as bad:
        service.register_company(
            session,
            actor=place.admin,
            new=NewCompany(name="Pakker", category=e.PartnerCategory.PARCEL, cvr="1234 5678"),
            now=NOW,
        )
    assert bad.value.code == "partner.bad_cvr"
    public = service.register_company(
        session,
        actor=place.admin,
        new=NewCompany(
            name="Kommunens Madservice",
            category=e.PartnerCategory.MEAL_BOX,
            organisation_kind=OrganisationKind.PUBLIC_BODY,
        ),
        now=NOW,
    )
    assert public.company.cvr is None
    assert public.company.status is e.PartnerStatus.ACTIVE
    company_id = _company(session, place)
    with pytest.raises(ConflictError) as twice:
        _company(session, place, name="Samme CVR", cvr=f"DK{CVR}")
    assert twice.value.code == "organisation.cvr_taken"
    assert _actions(session)[-1] == ("company.registered", "partner_company", None)
    assert session.get(m.PartnerCompany, company_id) is not None


def test_only_administrators_change_the_register(session: Session, place: Place) -> None:
    company_id = _company(session, place)
    association = service.register_association(
        session, actor=place.admin, new=NewAssociation(name="A"), now=NOW
    ).association
    user = actor(
        session,
        person(
            session,
            place.world.municipality.id,
            "B1",
            e.Role.ASSOCIATION_USER,
            housing_association_id=association.id,
        ),
    )
    padmin = actor(
        session,
        person(
            session,
            place.world.municipality.id,
            "P1",
            e.Role.PARTNER_ADMIN,
            partner_company_id=company_id,
        ),
    )
    for who in (place.auditor, user, padmin):
        with pytest.raises(ForbiddenError):
            service.register_association(session, actor=who, new=NewAssociation(name="Y"), now=NOW)
        with pytest.raises(ForbiddenError):
            service.block_company(session, actor=who, company_id=company_id, reason="x", now=NOW)
        with pytest.raises(ForbiddenError):
            service.create_partner_admin(
                session,
                actor=who,
                company_id=company_id,
                new=NewOrgUser("P9", "Ny", PASSWORD),
                now=NOW,
            )


# --- reading -----------------------------------------------------------------------------------


def test_who_reads_what_of_the_register(session: Session, place: Place) -> None:
    mun = place.world.municipality.id
    mine, theirs = (
        service.register_association(
            session, actor=place.admin, new=NewAssociation(name=name), now=NOW
        ).association
        for name in ("A-forening", "B-forening")
    )
    p_id = _company(session, place, "P-firma", valid_cvr_near(31_000_000))
    q_id = _company(session, place, "Q-firma", valid_cvr_near(32_000_000))
    session.add(
        m.Agreement(housing_association_id=mine.id, partner_company_id=p_id, valid_from=NOW)
    )
    user = person(session, mun, "B1", e.Role.ASSOCIATION_USER, housing_association_id=mine.id)
    padmin = person(session, mun, "P1", e.Role.PARTNER_ADMIN, partner_company_id=p_id)
    worker = person(session, mun, "P2", e.Role.PARTNER_WORKER, partner_company_id=p_id)
    service.block_company(session, actor=place.admin, company_id=q_id, reason="svindel", now=NOW)
    a_user, p_admin = actor(session, user), actor(session, padmin)

    def names(views: list[service.AssociationView] | list[service.CompanyView]) -> list[str]:
        return [
            v.association.name if isinstance(v, service.AssociationView) else v.company.name
            for v in views
        ]

    # The municipality: everything, people included.
    for who in (place.admin, place.auditor):
        assert names(service.list_associations(session, actor=who)) == ["A-forening", "B-forening"]
        assert names(service.list_companies(session, actor=who)) == ["P-firma", "Q-firma"]
        company = service.get_company(session, actor=who, company_id=p_id)
        assert [p.id for p in company.people] == [padmin.id, worker.id]
        assert service.get_company(session, actor=who, company_id=q_id).blocked_reason == "svindel"
    # An association: itself, and the register of companies without their people or the
    # municipality's reason for a block.
    assert names(service.list_associations(session, actor=a_user)) == ["A-forening"]
    assert [
        u.id for u in service.get_association(session, actor=a_user, association_id=mine.id).users
    ] == [user.id]
    with pytest.raises(NotFoundError):
        service.get_association(session, actor=a_user, association_id=theirs.id)
    assert names(service.list_companies(session, actor=a_user)) == ["P-firma", "Q-firma"]
    assert service.get_company(session, actor=a_user, company_id=p_id).people == []
    blocked = service.get_company(session, actor=a_user, company_id=q_id)
    assert blocked.company.status is e.PartnerStatus.BLOCKED
    assert blocked.blocked_reason is None
    # A company: itself, its own people, the associations it has agreements with (no users).
    assert names(service.list_companies(session, actor=p_admin)) == ["P-firma"]
    assert [p.id for p in service.get_company(session, actor=p_admin, company_id=p_id).people] == [
        padmin.id,
        worker.id,
    ]
    with pytest.raises(NotFoundError):
        service.get_company(session, actor=p_admin, company_id=q_id)
    assert names(service.list_associations(session, actor=p_admin)) == ["A-forening"]
    assert service.get_association(session, actor=p_admin, association_id=mine.id).users == []
    # Another municipality: nothing of Copenhagen's.
    assert service.list_companies(session, actor=place.other_admin) == []
    with pytest.raises(NotFoundError):
        service.get_company(session, actor=place.other_admin, company_id=p_id)
    with pytest.raises(NotFoundError):
        service.block_company(
            session, actor=place.other_admin, company_id=p_id, reason="x", now=NOW
        )


# --- first users -------------------------------------------------------------------------------


def test_first_users_of_an_association_and_a_company(session: Session, place: Place) -> None:
    association = service.register_association(
        session, actor=place.admin, new=NewAssociation(name="A"), now=NOW
    ).association
    company_id = _company(session, place)
    user = service.create_association_user(
        session,
        actor=place.admin,
        association_id=association.id,
        new=NewOrgUser("B001", " Bente Bruger ", PASSWORD, email="bente@forening.dk"),
        now=NOW,
        reason="formand",
    )
    admin = service.create_partner_admin(
        session,
        actor=place.admin,
        company_id=company_id,
        new=NewOrgUser("P01-ADM", "Palle Partner", PASSWORD),
        now=NOW,
    )
    assert [r.role for r in user.roles] == [e.Role.ASSOCIATION_USER]
    assert (user.housing_association_id, user.partner_company_id) == (association.id, None)
    assert user.full_name == "Bente Bruger"
    assert user.email == "bente@forening.dk"
    assert verify_password(user.password_hash, PASSWORD)
    assert user.totp_secret_sealed is None  # set up at the first sign-in
    assert [r.role for r in admin.roles] == [e.Role.PARTNER_ADMIN]
    assert (admin.housing_association_id, admin.partner_company_id) == (None, company_id)
    assert actor(session, admin).company_id == company_id
    assert _actions(session)[-2:] == [
        ("association.user_created", "housing_association", "formand"),
        ("company.admin_created", "partner_company", None),
    ]
    # The employee number is the user name: unique in the municipality, staff included.
    for number in ("B001", "A1"):
        with pytest.raises(ConflictError) as taken:
            service.create_partner_admin(
                session,
                actor=place.admin,
                company_id=company_id,
                new=NewOrgUser(number, "Igen", PASSWORD),
                now=NOW,
            )
        assert taken.value.code == "employee.number_taken"
    with pytest.raises(DomainError) as weak:
        service.create_association_user(
            session,
            actor=place.admin,
            association_id=association.id,
            new=NewOrgUser("B002", "Kort", "kort"),
            now=NOW,
        )
    assert weak.value.code == "employee.weak_password"


# --- blocking a company ------------------------------------------------------------------------


def _versions(db: Session, municipality_id: int) -> int:
    return db.execute(
        select(func.count())
        .select_from(m.DenylistVersion)
        .where(m.DenylistVersion.municipality_id == municipality_id)
    ).scalar_one()


def _subject_entry(db: Session, employee_id: int) -> m.DenylistEntry | None:
    return db.execute(
        select(m.DenylistEntry)
        .where(m.DenylistEntry.entry_kind == e.DenylistEntryKind.SUBJECT)
        .where(m.DenylistEntry.entry_key == subject_id(subject_of(employee_id)))
    ).scalar_one_or_none()


def test_blocking_a_company_denylists_its_workers_in_one_version(
    session: Session, place: Place
) -> None:
    mun = place.world.municipality.id
    doors = [place.world.entrance_controller]
    company_id = _company(session, place)
    other_id = _company(session, place, "Andet Firma", valid_cvr_near(33_000_000))
    admin = person(session, mun, "P-ADM", e.Role.PARTNER_ADMIN, partner_company_id=company_id)
    busy = person(session, mun, "P-1", e.Role.PARTNER_WORKER, partner_company_id=company_id)
    idle = person(session, mun, "P-2", e.Role.PARTNER_WORKER, partner_company_id=company_id)
    alone = person(session, mun, "P-3", e.Role.PARTNER_WORKER, partner_company_id=company_id)
    stranger = person(session, mun, "Q-1", e.Role.PARTNER_WORKER, partner_company_id=other_id)
    first = credential(session, busy, doors, hours_left=2)
    second = credential(session, busy, doors, hours_left=6)
    credential(session, alone, doors)
    credential(session, stranger, doors)
    # ``alone`` was blocked one by one first (as the company's administrator would).
    alone.status = e.EmployeeStatus.BLOCKED
    revocation.revoke_people(
        session,
        municipality_id=mun,
        employee_ids=[alone.id],
        reason=e.DenylistReason.EMPLOYEE_BLOCKED,
        now=NOW,
    )
    epochs = {p.id: p.session_epoch for p in (admin, busy, idle, alone, stranger)}
    before = _versions(session, mun)

    result = service.block_company(
        session, actor=place.admin, company_id=company_id, reason=" misbrug ", now=NOW
    )

    company = session.get(m.PartnerCompany, company_id)
    assert company is not None
    assert (company.status, company.blocked_reason, company.blocked_at) == (
        e.PartnerStatus.BLOCKED,
        "misbrug",
        NOW,
    )
    assert result.changed
    assert result.workers == 2
    assert result.revoked_credentials == 2
    assert _versions(session, mun) == before + 1
    assert result.denylist_version == dl.current_version(session, municipality_id=mun)
    entry = _subject_entry(session, busy.id)
    assert entry is not None
    assert entry.reason is e.DenylistReason.PARTNER_BLOCKED
    assert entry.added_in_version == result.denylist_version
    assert entry.expires_at == second.expires_at  # the latest of the worker's credentials
    assert first.revoked_at == NOW
    assert second.revoked_at == NOW
    assert _subject_entry(session, idle.id) is None  # no key, nothing to publish
    kept = _subject_entry(session, alone.id)
    assert kept is not None
    assert kept.reason is e.DenylistReason.EMPLOYEE_BLOCKED
    assert _subject_entry(session, stranger.id) is None
    assert result.exposed_doors.keys() == {place.world.entrance_controller.id}
    # The workers' app sessions end; the administrator and the one blocked before keep theirs.
    assert busy.session_epoch == epochs[busy.id] + 1
    assert idle.session_epoch == epochs[idle.id] + 1
    assert admin.session_epoch == epochs[admin.id]
    assert alone.session_epoch == epochs[alone.id]
    action = session.execute(
        select(m.AdminAction).where(m.AdminAction.action == "company.blocked")
    ).scalar_one()
    assert (action.target_id, action.reason) == (str(company_id), "misbrug")
    assert action.details == {
        "denylist_version": result.denylist_version,
        "workers": 2,
        "live_credentials": 2,
    }

    again = service.block_company(
        session, actor=place.admin, company_id=company_id, reason="igen", now=NOW
    )
    assert not again.changed
    assert _versions(session, mun) == before + 1

    later = NOW + dt.timedelta(minutes=5)
    lifted = service.unblock_company(
        session, actor=place.admin, company_id=company_id, reason="afklaret", now=later
    )
    assert lifted.changed
    assert _versions(session, mun) == before + 2
    assert company.status is e.PartnerStatus.ACTIVE
    assert company.blocked_at is None
    assert entry.removed_in_version == lifted.denylist_version
    # The keys issued before the block stay dead, one entry each.
    for c in (first, second):
        dead = session.execute(
            select(m.DenylistEntry).where(m.DenylistEntry.entry_key == c.credential_id)
        ).scalar_one()
        assert dead.removed_in_version is None
    # The worker blocked one by one stays blocked, on the denylist too.
    assert kept.removed_in_version is None
    assert session.get(m.Employee, alone.id).status is e.EmployeeStatus.BLOCKED  # type: ignore[union-attr]
    assert [a for a, _t, _r in _actions(session)][-2:] == ["company.blocked", "company.unblocked"]
    not_blocked = service.unblock_company(
        session, actor=place.admin, company_id=company_id, reason="igen", now=later
    )
    assert not not_blocked.changed


def test_a_block_needs_a_reason_and_publishes_nothing_without_keys(
    session: Session, place: Place
) -> None:
    company_id = _company(session, place)
    person(
        session,
        place.world.municipality.id,
        "P-1",
        e.Role.PARTNER_WORKER,
        partner_company_id=company_id,
    )
    with pytest.raises(DomainError) as no_reason:
        service.block_company(
            session, actor=place.admin, company_id=company_id, reason=" ", now=NOW
        )
    assert no_reason.value.code == "organisation.reason_required"
    result = service.block_company(
        session, actor=place.admin, company_id=company_id, reason="spærret", now=NOW
    )
    assert result.changed
    assert result.workers == 1
    assert result.denylist_version is None
    assert _versions(session, place.world.municipality.id) == 0
