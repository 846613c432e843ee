"""Every invariant of the model holds twice: the ORM refuses before writing (with a clear
message), and the database refuses a raw write that goes around the ORM."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from carekey.domain import enums as e
from carekey.domain.errors import InvariantError
from carekey.domain.partner_policy import valid_cvr_near
from carekey.store import models as m
from tests.store.factories import World, door, make_world

NOW = dt.datetime(2026, 11, 26, 7, 0, tzinfo=dt.UTC)


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine) as s:
        yield s


@pytest.fixture
def world(session: Session) -> World:
    w = make_world(session)
    session.commit()
    return w


def _raw_fails(session: Session, statement: object) -> None:
    with pytest.raises(IntegrityError):
        session.execute(statement)  # type: ignore[call-overload]
    session.rollback()


# --- a home lock belongs to exactly one dwelling ------------------------------------------------


def test_home_lock_cannot_sit_at_an_entrance(session: Session, world: World) -> None:
    lock = world.home_lock
    lock.entrance_id = world.entrance.id
    with pytest.raises(InvariantError, match="dwelling"):
        session.flush()
    session.rollback()
    _raw_fails(
        session,
        update(m.DoorDevice)
        .where(m.DoorDevice.id == lock.id)
        .values(entrance_id=world.entrance.id),
    )


def test_installed_home_lock_must_have_a_dwelling(session: Session, world: World) -> None:
    with pytest.raises(InvariantError):
        door(session, world.municipality, e.DoorKind.HOME_LOCK)
    session.rollback()
    _raw_fails(
        session,
        insert(m.DoorDevice).values(
            municipality_id=world.municipality.id,
            kind=e.DoorKind.HOME_LOCK,
            serial="RAW-1",
            public_key=bytes(32),
            firmware_version="1",
            status=e.DoorStatus.ACTIVE,
        ),
    )


def test_a_dwelling_has_one_live_home_lock(session: Session, world: World) -> None:
    with pytest.raises(IntegrityError):
        door(session, world.municipality, e.DoorKind.HOME_LOCK, dwelling_id=world.dwelling.id)
    session.rollback()
    # Once the old lock is decommissioned (restored), a new one may be fitted.
    session.execute(
        update(m.DoorDevice)
        .where(m.DoorDevice.id == world.home_lock.id)
        .values(status=e.DoorStatus.DECOMMISSIONED)
    )
    door(session, world.municipality, e.DoorKind.HOME_LOCK, dwelling_id=world.dwelling.id)
    session.commit()


def test_a_controller_is_never_placed_in_a_dwelling(session: Session, world: World) -> None:
    with pytest.raises(InvariantError):
        door(
            session,
            world.municipality,
            e.DoorKind.ENTRANCE_CONTROLLER,
            dwelling_id=world.dwelling.id,
        )
    session.rollback()
    _raw_fails(
        session,
        update(m.DoorDevice)
        .where(m.DoorDevice.id == world.entrance_controller.id)
        .values(dwelling_id=world.dwelling.id),
    )


# --- a partner company can never be linked to a home lock --------------------------------------


def _agreement(session: Session) -> m.Agreement:
    municipality_id = session.execute(select(m.Municipality.id)).scalars().first()
    association = m.HousingAssociation(
        municipality_id=municipality_id, name="Boligforeningen Lindegården"
    )
    company = m.PartnerCompany(
        municipality_id=municipality_id,
        name="Nordpost",
        cvr=valid_cvr_near(24256790),
        category=e.PartnerCategory.POST,
    )
    session.add_all([association, company])
    session.flush()
    agreement = m.Agreement(
        housing_association_id=association.id, partner_company_id=company.id, valid_from=NOW
    )
    session.add(agreement)
    session.flush()
    return agreement


def test_agreement_covers_entrances_never_home_locks(session: Session, world: World) -> None:
    agreement = _agreement(session)
    session.add(
        m.AgreementDoor(
            agreement_id=agreement.id,
            door_device_id=world.entrance_controller.id,
            door_kind=e.DoorKind.ENTRANCE_CONTROLLER,
        )
    )
    session.flush()
    session.add(
        m.AgreementDoor(
            agreement_id=agreement.id,
            door_device_id=world.home_lock.id,
            door_kind=e.DoorKind.HOME_LOCK,
        )
    )
    with pytest.raises(InvariantError, match="hoveddør"):
        session.flush()
    session.rollback()
    agreement = _agreement(session)
    # Around the ORM: both lying about the kind and telling the truth are refused.
    _raw_fails(
        session,
        insert(m.AgreementDoor).values(
            agreement_id=agreement.id, door_device_id=world.home_lock.id, door_kind="home_lock"
        ),
    )
    agreement = _agreement(session)
    _raw_fails(
        session,
        insert(m.AgreementDoor).values(
            agreement_id=agreement.id,
            door_device_id=world.home_lock.id,
            door_kind="entrance_controller",
        ),
    )


def test_partner_credentials_never_open_homes(session: Session, world: World) -> None:
    agreement = _agreement(session)
    staff = m.Employee(
        municipality_id=world.municipality.id,
        employee_number="P01-001",
        full_name="Bo Bud",
        partner_company_id=agreement.partner_company_id,
    )
    session.add(staff)
    session.flush()
    base = {
        "municipality_id": world.municipality.id,
        "issuer_kid": bytes(8),
        "subject_type": e.SubjectType.PARTNER_STAFF,
        "employee_id": staff.id,
        "serial": 1,
        "denylist_version": 0,
        "door_device_ids": [world.entrance_controller.id],
        "not_before": NOW,
        "expires_at": NOW + dt.timedelta(hours=3),
    }
    session.execute(
        insert(m.IssuedCredential).values(
            credential_id=bytes(16), kind=e.CredentialKind.ENTRANCE, **base
        )
    )
    session.commit()
    _raw_fails(
        session,
        insert(m.IssuedCredential).values(
            credential_id=b"\x01" * 16, kind=e.CredentialKind.HOME, **base
        ),
    )


def test_a_person_belongs_to_at_most_one_other_party(session: Session, world: World) -> None:
    agreement = _agreement(session)
    _raw_fails(
        session,
        insert(m.Employee).values(
            municipality_id=world.municipality.id,
            employee_number="X1",
            full_name="Både Og",
            status="active",
            session_epoch=0,
            created_at=NOW,
            housing_association_id=agreement.housing_association_id,
            partner_company_id=agreement.partner_company_id,
        ),
    )


def test_a_company_without_cvr_must_be_a_public_body(session: Session, world: World) -> None:
    _raw_fails(
        session,
        insert(m.PartnerCompany).values(
            municipality_id=world.municipality.id,
            name="Uden CVR ApS",
            organisation_kind="company",
            category="parcel",
            status="active",
            created_at=NOW,
        ),
    )


# --- an employee belongs to exactly one municipality; a citizen to one district -----------------


def test_employee_districts_stay_in_the_employee_municipality(
    session: Session, world: World
) -> None:
    other = make_world(session, code="0147", name="Frederiksberg Kommune")
    employee = m.Employee(
        municipality_id=world.municipality.id, employee_number="E1", full_name="Mette Jensen"
    )
    session.add(employee)
    session.flush()
    session.add(
        m.EmployeeDistrict(
            employee_id=employee.id,
            district_id=world.district.id,
            municipality_id=world.municipality.id,
        )
    )
    session.commit()
    _raw_fails(
        session,
        insert(m.EmployeeDistrict).values(
            employee_id=employee.id,
            district_id=other.district.id,
            municipality_id=world.municipality.id,
        ),
    )
    _raw_fails(
        session,
        insert(m.EmployeeDistrict).values(
            employee_id=employee.id,
            district_id=other.district.id,
            municipality_id=other.municipality.id,
        ),
    )


def test_employee_has_exactly_one_municipality(session: Session, world: World) -> None:
    _raw_fails(session, insert(m.Employee).values(employee_number="E9", full_name="Ingen Kommune"))
    _raw_fails(
        session,
        insert(m.Employee).values(municipality_id=999, employee_number="E9", full_name="Ukendt"),
    )


def test_citizen_has_one_district_of_the_same_municipality(session: Session, world: World) -> None:
    other = make_world(session, code="0147", name="Frederiksberg Kommune")
    session.commit()
    _raw_fails(
        session,
        update(m.Citizen)
        .where(m.Citizen.id == world.citizen.id)
        .values(district_id=other.district.id),
    )
    _raw_fails(
        session,
        update(m.Citizen).where(m.Citizen.id == world.citizen.id).values(district_id=None),
    )


# --- time windows are well-formed; keys live at most nine hours ---------------------------------


@pytest.mark.parametrize(
    ("weekday", "start", "end"), [(7, 0, 60), (0, 420, 240), (0, 0, 1500), (1, 300, 300)]
)
def test_malformed_windows_never_reach_the_database(
    session: Session, world: World, weekday: int, start: int, end: int
) -> None:
    agreement = _agreement(session)
    session.add(
        m.AgreementWindow(
            agreement_id=agreement.id, weekday=weekday, start_minute=start, end_minute=end
        )
    )
    with pytest.raises(InvariantError):
        session.flush()
    session.rollback()
    agreement = _agreement(session)
    _raw_fails(
        session,
        insert(m.AgreementWindow).values(
            agreement_id=agreement.id, weekday=weekday, start_minute=start, end_minute=end
        ),
    )


def test_key_lifetime_over_nine_hours_is_refused(session: Session, world: World) -> None:
    _raw_fails(
        session,
        update(m.Municipality)
        .where(m.Municipality.id == world.municipality.id)
        .values(key_lifetime_minutes=541),
    )


def test_emergency_key_needs_a_reason_and_a_period(session: Session, world: World) -> None:
    employee = m.Employee(
        municipality_id=world.municipality.id, employee_number="E2", full_name="Ali Hussein"
    )
    session.add(employee)
    session.commit()
    values = {
        "municipality_id": world.municipality.id,
        "employee_id": employee.id,
        "citizen_id": world.citizen.id,
        "granted_by_employee_id": employee.id,
        "starts_at": NOW,
        "ends_at": NOW + dt.timedelta(hours=2),
    }
    _raw_fails(session, insert(m.EmergencyKeyGrant).values(reason="", **values))
    _raw_fails(
        session,
        insert(m.EmergencyKeyGrant).values(reason="Vikar", **{**values, "ends_at": NOW}),
    )
    session.execute(insert(m.EmergencyKeyGrant).values(reason="Vikar for Mette", **values))
    session.commit()


def test_timestamps_are_utc_aware_on_the_way_out(session: Session, world: World) -> None:
    session.expire_all()
    municipality = session.get(m.Municipality, world.municipality.id)
    assert municipality is not None
    assert municipality.created_at.tzinfo is not None
    assert municipality.created_at.utcoffset() == dt.timedelta(0)
    municipality.created_at = dt.datetime(2026, 3, 29, 3, 30)  # noqa: DTZ001 - naive on purpose
    with pytest.raises(Exception, match="naive"):
        session.flush()
