"""Partner keys from the server, end to end over HTTP with the real door protocol (issue 15):
a partner worker logs in with the key app on the company's phone and gets exactly the
entrances and gates of the company's live agreements, inside their windows, signed with the
partner issuer key; a home lock refuses them because it does not hold that key; an
association's block and the municipality's block of the company reach the bundle, the heartbeat
and the doors."""

from __future__ import annotations

import base64
import datetime as dt
import secrets

import pytest
from sqlalchemy import Engine, or_, select, update
from sqlalchemy.orm import Session

from carekey.devices.controller import EntranceController
from carekey.devices.firmware import DoorFirmware
from carekey.domain import enums as e
from carekey.keyservice import issuer as issuer_service
from carekey.keyservice.enrolment import _hash_code
from carekey.protocol.credential import decode_credential
from carekey.protocol.keys import DeviceKey, DoorKey
from carekey.protocol.session import Command
from carekey.revocation.partners import revoke_agreements
from carekey.store import models as m
from tests.api.conftest import Tenants
from tests.api.phone_sim import PROTO_KIND, Phone, Scene, unb64

# Friday 27 November 2026, 05:30 in Copenhagen (CET): inside the newspapers' 04:00-07:00 window.
MORNING = dt.datetime(2026, 11, 27, 4, 30, tzinfo=dt.UTC)


def _company(engine: Engine, category: e.PartnerCategory) -> m.PartnerCompany:
    with Session(engine) as session:
        company = session.execute(
            select(m.PartnerCompany).where(m.PartnerCompany.category == category)
        ).scalar_one()
        session.expunge(company)
        return company


def _worker(engine: Engine, company_id: int) -> tuple[int, str, int]:
    """(employee id, worker number, phone id) of the company's first worker."""
    with Session(engine) as session:
        worker = (
            session.execute(
                select(m.Employee)
                .join(m.EmployeeRole, m.EmployeeRole.employee_id == m.Employee.id)
                .where(m.Employee.partner_company_id == company_id)
                .where(m.EmployeeRole.role == e.Role.PARTNER_WORKER)
                .order_by(m.Employee.id)
            )
            .scalars()
            .first()
        )
        assert worker is not None
        phone = session.execute(
            select(m.Phone.id).where(m.Phone.employee_id == worker.id)
        ).scalar_one()
        return worker.id, worker.employee_number, phone


def _enrol(scene: Scene, phone_id: int) -> Phone:
    """Enrol a phone with a one-time code made the way the enrolment service stores it."""
    code = "-".join(secrets.token_hex(2).upper() for _ in range(3))
    with Session(scene.engine) as session, session.begin():
        phone = session.get(m.Phone, phone_id)
        assert phone is not None
        session.add(
            m.EnrolmentCode(
                municipality_id=phone.municipality_id,
                phone_id=phone_id,
                code_hash=_hash_code(code),
                created_at=scene.clock.now(),
                expires_at=scene.clock.now() + dt.timedelta(hours=1),
            )
        )
    key = DeviceKey.generate()
    response = scene.client.post(
        "/api/v1/app/enrol",
        json={"code": code, "public_key": base64.b64encode(key.public.compressed).decode()},
    )
    assert response.status_code == 200, response.text
    return Phone(scene.client, phone_id, key)


def _expected_doors(engine: Engine, company_id: int, now: dt.datetime) -> set[str]:
    """Independently of the service: the live controllers of the company's unblocked, valid,
    windowed agreements that need no errand."""
    with Session(engine) as session:
        windowed = select(m.AgreementWindow.agreement_id)
        return set(
            session.execute(
                select(m.DoorDevice.serial)
                .join(m.AgreementDoor, m.AgreementDoor.door_device_id == m.DoorDevice.id)
                .join(m.Agreement, m.Agreement.id == m.AgreementDoor.agreement_id)
                .where(m.Agreement.partner_company_id == company_id)
                .where(m.Agreement.blocked.is_(False))
                .where(m.Agreement.requires_errand.is_(False))
                .where(m.Agreement.valid_from <= now)
                .where(or_(m.Agreement.valid_until.is_(None), m.Agreement.valid_until > now))
                .where(m.Agreement.id.in_(windowed))
                .where(m.DoorDevice.status.in_(["installed", "commissioned", "active"]))
            ).scalars()
        )


def _door(scene: Scene, serial: str) -> DoorFirmware:
    """A simulated door for a door row, trusting what commissioning gives its kind: the
    home-care keys, and for a controller the partner keys too."""
    with Session(scene.engine) as session, session.begin():
        row = session.execute(
            select(m.DoorDevice).where(m.DoorDevice.serial == serial)
        ).scalar_one()
        if row.kind is e.DoorKind.HOME_LOCK:
            return scene.door(row.id)
        key = DoorKey.generate()
        session.execute(
            update(m.DoorDevice)
            .where(m.DoorDevice.id == row.id)
            .values(public_key=key.public.key.raw)
        )
        municipality = row.municipality_id
        keyring = issuer_service.keyring(session, municipality_id=municipality)
        partner = issuer_service.keyring(
            session, municipality_id=municipality, purpose=e.IssuerKeyPurpose.PARTNER
        )
        door = EntranceController(
            door_id=row.serial.encode(),
            door_key=key,
            keyring=keyring,
            partner_keyring=partner,
            clock=scene.clock,
            kind=PROTO_KIND[row.kind],
        )
    door.clock.set(scene.clock.now())
    door.flash.last_token_time = scene.clock.now()
    scene.doors[door.door_id] = door
    return door


def _home_lock_behind(engine: Engine, serial: str) -> str:
    """A home lock in the building of the entrance ``serial``."""
    with Session(engine) as session:
        entrance_id = session.execute(
            select(m.DoorDevice.entrance_id).where(m.DoorDevice.serial == serial)
        ).scalar_one()
        home = (
            session.execute(
                select(m.DoorDevice.serial)
                .join(m.Dwelling, m.Dwelling.id == m.DoorDevice.dwelling_id)
                .where(m.Dwelling.entrance_id == entrance_id)
            )
            .scalars()
            .first()
        )
        if home is None:
            home = (
                session.execute(
                    select(m.DoorDevice.serial).where(m.DoorDevice.kind == e.DoorKind.HOME_LOCK)
                )
                .scalars()
                .first()
            )
        assert home is not None
        return home


@pytest.fixture
def newspaper(scene: Scene, tenants: Tenants) -> tuple[Scene, Phone, m.PartnerCompany, int]:
    """The newspaper company's first worker, enrolled and logged in at 05:30 local time."""
    scene.clock.advance(MORNING - scene.clock.now())
    company = _company(scene.engine, e.PartnerCategory.NEWSPAPER)
    worker_id, number, phone_id = _worker(scene.engine, company.id)
    phone = _enrol(scene, phone_id)
    response = phone.login(number)
    assert response.status_code == 200, response.text
    return scene, phone, company, worker_id


def test_a_partner_worker_gets_exactly_the_agreements_doors_signed_by_the_partner_key(
    newspaper: tuple[Scene, Phone, m.PartnerCompany, int],
) -> None:
    scene, phone, company, worker_id = newspaper
    doors = phone.door_ids()
    assert doors == _expected_doors(scene.engine, company.id, scene.clock.now())
    assert doors, "the seeded newspaper company has agreements with doors"
    kinds = {d["kind"] for d in phone.bundle["doors"]}
    assert kinds <= {"entrance_controller", "gate_controller"}
    # No citizen in a partner's bundle: the places have no name.
    assert all(c["name"] == "" and c["id"] < 0 for c in phone.bundle["citizens"])
    assert phone.bundle["partner"] == {
        "company_id": company.id,
        "company_blocked": False,
        "blocked_by": [],
    }
    with Session(scene.engine) as session:
        partner_ring = issuer_service.keyring(
            session, municipality_id=1, purpose=e.IssuerKeyPurpose.PARTNER
        )
        home_ring = issuer_service.keyring(session, municipality_id=1)
        rows = (
            session.execute(
                select(m.IssuedCredential).where(m.IssuedCredential.employee_id == worker_id)
            )
            .scalars()
            .all()
        )
    assert rows
    assert all(r.subject_type is e.SubjectType.PARTNER_STAFF for r in rows)
    assert all(r.agreement_id is not None for r in rows)
    for body in phone.bundle["credentials"]:
        raw = unb64(body["credential"])
        decoded = decode_credential(raw, keyring=partner_ring)
        assert decoded.windows
        assert decoded.time_zone == "Europe/Copenhagen"
        with pytest.raises(Exception, match="unknown_issuer_key"):
            decode_credential(raw, keyring=home_ring)  # the home-care keyring does not know it


def test_a_partner_opens_a_stairwell_in_its_window_and_never_outside_or_at_a_home(
    newspaper: tuple[Scene, Phone, m.PartnerCompany, int],
) -> None:
    scene, phone, _company_row, _worker_id = newspaper
    serial = sorted(s for s in phone.door_ids())[0]
    door = _door(scene, serial)
    opened = phone.visit(door, Command.UNLOCK)
    assert opened.ok, opened.response.result
    # At a home lock behind the same entrance, with the same credential: the lock does not even
    # hold the partner issuer key.
    home = _door(scene, _home_lock_behind(scene.engine, serial))
    phone.bundle["credentials"].append(
        {
            **phone.bundle["credentials"][0],
            "doors": [home.door_id.decode()],
        }
    )
    refused = phone.visit(home, Command.UNLOCK)
    assert not refused.ok
    assert refused.response.result == "unknown_issuer_key"
    assert home.state.value == "locked"
    # 07:30 local time: outside the window, the stairwell refuses the same key.
    scene.clock.advance(dt.timedelta(hours=2))
    phone.bundle["credentials"].pop()
    late = phone.visit(door, Command.UNLOCK)
    assert not late.ok
    assert late.response.result == "outside_window"


def test_an_association_blocks_the_company_and_the_bundle_heartbeat_and_door_say_so(
    newspaper: tuple[Scene, Phone, m.PartnerCompany, int],
) -> None:
    scene, phone, company, _worker_id = newspaper
    with Session(scene.engine) as session:
        agreement = (
            session.execute(
                select(m.Agreement)
                .where(m.Agreement.partner_company_id == company.id)
                .order_by(m.Agreement.id)
            )
            .scalars()
            .first()
        )
        assert agreement is not None
        association = session.get(m.HousingAssociation, agreement.housing_association_id)
        assert association is not None
        blocked_doors = set(
            session.execute(
                select(m.DoorDevice.serial)
                .join(m.AgreementDoor, m.AgreementDoor.door_device_id == m.DoorDevice.id)
                .where(m.AgreementDoor.agreement_id == agreement.id)
            ).scalars()
        )
        name, agreement_id = association.name, agreement.id
    serial = sorted(blocked_doors & phone.door_ids())[0]
    door = _door(scene, serial)
    assert phone.visit(door).ok
    now = scene.clock.now()
    with Session(scene.engine) as session, session.begin():
        session.execute(
            update(m.Agreement)
            .where(m.Agreement.housing_association_id == association.id)
            .where(m.Agreement.partner_company_id == company.id)
            .values(blocked=True, blocked_reason="test", blocked_at=now)
        )
        ids = list(
            session.execute(
                select(m.Agreement.id)
                .where(m.Agreement.housing_association_id == association.id)
                .where(m.Agreement.partner_company_id == company.id)
            ).scalars()
        )
        version = revoke_agreements(
            session,
            municipality_id=1,
            agreement_ids=ids,
            reason=e.DenylistReason.PARTNER_BLOCKED,
            now=now,
        )
    assert agreement_id in ids
    assert version is not None
    beat = phone.heartbeat()
    assert beat["status"] == "REFRESH"
    assert [b["association"] for b in beat["partner"]["blocked_by"]] == [name]
    # The old key, with the heartbeat's denylist, is refused at the door at once.
    scene.clock.advance(dt.timedelta(seconds=5))
    refused = phone.visit(door)
    assert not refused.ok
    assert refused.response.result == "denylisted"
    assert phone.refresh().status_code == 200
    assert not (phone.door_ids() & blocked_doors - _other_agreements_doors(scene, company.id, ids))
    assert [b["association"] for b in phone.bundle["partner"]["blocked_by"]] == [name]


def _other_agreements_doors(scene: Scene, company_id: int, blocked: list[int]) -> set[str]:
    with Session(scene.engine) as session:
        return set(
            session.execute(
                select(m.DoorDevice.serial)
                .join(m.AgreementDoor, m.AgreementDoor.door_device_id == m.DoorDevice.id)
                .join(m.Agreement, m.Agreement.id == m.AgreementDoor.agreement_id)
                .where(m.Agreement.partner_company_id == company_id)
                .where(m.Agreement.id.not_in(blocked))
                .where(m.Agreement.blocked.is_(False))
            ).scalars()
        )


def test_a_company_blocked_by_the_municipality_is_wiped_and_cannot_log_in(
    newspaper: tuple[Scene, Phone, m.PartnerCompany, int],
) -> None:
    scene, phone, company, _worker_id = newspaper
    with Session(scene.engine) as session, session.begin():
        session.execute(
            update(m.PartnerCompany)
            .where(m.PartnerCompany.id == company.id)
            .values(status=e.PartnerStatus.BLOCKED, blocked_at=scene.clock.now())
        )
    assert phone.heartbeat() == {"status": "WIPE", "reason": "company_blocked"}
    _id, number, _phone_id = _worker(scene.engine, company.id)
    again = phone.login(number)
    assert again.status_code == 403
    assert again.json()["error"]["code"] == "auth.company_blocked"


def test_phones_stay_with_their_organisation_and_portal_users_get_no_keys(
    scene: Scene, tenants: Tenants
) -> None:
    company = _company(scene.engine, e.PartnerCategory.POST)
    _worker_id, number, partner_phone_id = _worker(scene.engine, company.id)
    with Session(scene.engine) as session:
        care_number = session.get(m.Employee, tenants.worker).employee_number  # type: ignore[union-attr]
        other_partner_phone = (
            session.execute(
                select(m.Phone.id)
                .where(m.Phone.partner_company_id.is_not(None))
                .where(m.Phone.partner_company_id != company.id)
                .where(m.Phone.employee_id.is_(None) | (m.Phone.employee_id > 0))
            )
            .scalars()
            .first()
        )
        admin = (
            session.execute(
                select(m.Employee.employee_number)
                .join(m.EmployeeRole, m.EmployeeRole.employee_id == m.Employee.id)
                .where(m.EmployeeRole.role == e.Role.PARTNER_ADMIN)
            )
            .scalars()
            .first()
        )
        association_user = (
            session.execute(
                select(m.Employee.employee_number).where(
                    m.Employee.housing_association_id.is_not(None)
                )
            )
            .scalars()
            .first()
        )
    partner_phone = _enrol(scene, partner_phone_id)
    municipal_phone = scene.enrol(tenants.worker_phone)
    # A partner worker on a municipal phone, a care worker on a partner's phone: refused.
    for phone, who in ((municipal_phone, number), (partner_phone, care_number)):
        answer = phone.login(who)
        assert answer.status_code == 403, answer.text
        assert answer.json()["error"]["code"] == "auth.not_your_phone"
    assert other_partner_phone is not None
    # The portals' users have no keys at all, on any phone.
    with Session(scene.engine) as session, session.begin():
        session.execute(
            update(m.Phone).where(m.Phone.id == partner_phone_id).values(employee_id=None)
        )
    for who in (admin, association_user):
        assert who is not None
        answer = partner_phone.login(who)
        assert answer.status_code == 403, answer.text
        assert answer.json()["error"]["code"] in {"auth.no_keys", "auth.not_your_phone"}


def test_a_delivery_to_a_named_resident_opens_one_stairwell_for_its_errand_only(
    scene: Scene, tenants: Tenants
) -> None:
    scene.clock.advance(dt.timedelta(hours=3))  # 10:45 local time, Thursday
    company = _company(scene.engine, e.PartnerCategory.PARCEL)
    worker_id, number, phone_id = _worker(scene.engine, company.id)
    phone = _enrol(scene, phone_id)
    assert phone.login(number).status_code == 200
    assert phone.door_ids() == set(), "parcel agreements need an errand for every visit"
    now = scene.clock.now()
    with Session(scene.engine) as session, session.begin():
        agreement = (
            session.execute(
                select(m.Agreement)
                .where(m.Agreement.partner_company_id == company.id)
                .order_by(m.Agreement.id)
            )
            .scalars()
            .first()
        )
        assert agreement is not None
        assert agreement.requires_errand
        entrance, serial = session.execute(
            select(m.DoorDevice.entrance_id, m.DoorDevice.serial)
            .join(m.AgreementDoor, m.AgreementDoor.door_device_id == m.DoorDevice.id)
            .where(m.AgreementDoor.agreement_id == agreement.id)
            .where(m.DoorDevice.kind == e.DoorKind.ENTRANCE_CONTROLLER)
            .order_by(m.DoorDevice.id)
        ).first()  # type: ignore[misc]
        session.add(
            m.Errand(
                agreement_id=agreement.id,
                employee_id=worker_id,
                entrance_id=entrance,
                purpose=e.PartnerCategory.PARCEL,
                reference="PKG-0042",
                recipient="Hansen, 2. th.",
                not_before=now,
                not_after=now + dt.timedelta(hours=2),
            )
        )
    beat = phone.heartbeat()
    assert beat["status"] == "REFRESH"
    assert phone.refresh().status_code == 200
    assert phone.door_ids() == {serial}
    (body,) = phone.bundle["credentials"]
    assert body["errand_id"] is not None
    assert dt.datetime.fromisoformat(body["expires_at"]) <= now + dt.timedelta(hours=2)
    door = _door(scene, serial)
    assert phone.visit(door).ok
    scene.clock.advance(dt.timedelta(hours=2, minutes=5))
    late = phone.visit(door)
    assert not late.ok
    assert late.response.result == "expired"
