"""Seed profiles: the sizes promised, and the same data for the same seed."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from carekey.domain import enums as e
from carekey.domain.errors import DomainError
from carekey.domain.partner_policy import valid_cvr
from carekey.seed.service import PROFILES, seed
from carekey.store import models as m
from carekey.store.db import create_db_engine
from carekey.store.migrate import upgrade
from carekey.store.sealed import unseal

SECRET = "test-secret"


def _count(engine: Engine, model: type[m.Base], *where: Any) -> int:
    with engine.connect() as connection:
        return int(
            connection.execute(select(func.count()).select_from(model).where(*where)).scalar_one()
        )


def _dump(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    dump = {}
    with engine.connect() as connection:
        for table in m.Base.metadata.sorted_tables:
            order = list(table.primary_key.columns)
            rows = connection.execute(select(table).order_by(*order)).all()
            dump[table.name] = [tuple(row) for row in rows]
    return dump


def test_copenhagen_profile_has_the_promised_sizes(engine: Engine) -> None:
    with engine.begin() as connection:
        summary = seed(connection, profile="copenhagen", seed=1, secret=SECRET)
    assert summary.counts["district"] == 25
    assert _count(engine, m.Citizen) == 2000
    assert _count(engine, m.DoorDevice, m.DoorDevice.kind == e.DoorKind.HOME_LOCK) == 2000
    assert _count(engine, m.Entrance) == 1200
    assert _count(engine, m.DoorDevice, m.DoorDevice.kind == e.DoorKind.ENTRANCE_CONTROLLER) == 1200
    assert _count(engine, m.Gate) == 300
    assert _count(engine, m.DoorDevice, m.DoorDevice.kind == e.DoorKind.GATE_CONTROLLER) == 300
    municipal = (
        m.Employee.partner_company_id.is_(None),
        m.Employee.housing_association_id.is_(None),
    )
    assert _count(engine, m.Employee, *municipal) == 1500
    assert _count(engine, m.Phone, m.Phone.partner_company_id.is_(None)) == 1500
    assert _count(engine, m.HousingAssociation) == 40
    assert _count(engine, m.PartnerCompany) == 6
    # One user per association; per company an administrator and 5-20 workers with a phone each.
    assert _count(engine, m.Employee, m.Employee.housing_association_id.is_not(None)) == 40
    workers = _count(engine, m.EmployeeRole, m.EmployeeRole.role == e.Role.PARTNER_WORKER)
    assert 6 * 5 <= workers <= 6 * 20
    assert _count(engine, m.EmployeeRole, m.EmployeeRole.role == e.Role.PARTNER_ADMIN) == 6
    assert _count(engine, m.Phone, m.Phone.partner_company_id.is_not(None)) == workers
    # Nobody of another party is in a district; every company has a valid CVR number.
    with engine.connect() as connection:
        in_districts = connection.execute(
            select(func.count())
            .select_from(m.EmployeeDistrict)
            .join(m.Employee, m.Employee.id == m.EmployeeDistrict.employee_id)
            .where(m.Employee.partner_company_id.is_not(None))
        ).scalar_one()
        cvrs = connection.execute(select(m.PartnerCompany.cvr)).scalars().all()
    assert in_districts == 0
    assert all(valid_cvr(c or "") for c in cvrs)
    # Every citizen has a home lock in their own dwelling, in their own district's municipality.
    with engine.connect() as connection:
        orphans = connection.execute(
            select(func.count())
            .select_from(m.Citizen)
            .outerjoin(m.DoorDevice, m.DoorDevice.dwelling_id == m.Citizen.dwelling_id)
            .where(m.DoorDevice.id.is_(None))
        ).scalar_one()
    assert orphans == 0


@pytest.mark.parametrize("profile", ["small", "copenhagen"])
def test_same_seed_same_data_other_seed_other_data(
    backend: str, database_url: str, tmp_path: Any, profile: str
) -> None:
    first = create_db_engine(database_url)
    with first.begin() as connection:
        seed(connection, profile=profile, seed=42, secret=SECRET)
    dump_first = _dump(first)
    # A second, independent database of the same backend.
    if backend == "sqlite":
        second = create_db_engine(f"sqlite:///{tmp_path / 'second.db'}")
        upgrade(second)
    else:
        from carekey.store.models import Base

        with first.begin() as connection:
            for table in reversed(Base.metadata.sorted_tables):
                connection.execute(table.delete())
        second = first
    with second.begin() as connection:
        seed(connection, profile=profile, seed=42, secret=SECRET)
    assert _dump(second) == dump_first
    other = create_db_engine(f"sqlite:///{tmp_path / 'other.db'}")
    upgrade(other)
    with other.begin() as connection:
        seed(connection, profile=profile, seed=43, secret=SECRET)
    assert _dump(other)["citizen"] != dump_first["citizen"]
    for eng in {first, second, other}:
        eng.dispose()


def test_seeding_twice_is_refused_and_writes_nothing(engine: Engine) -> None:
    with engine.begin() as connection:
        seed(connection, profile="small", seed=1, secret=SECRET)
    before = _count(engine, m.Citizen)
    with pytest.raises(DomainError) as info, engine.begin() as connection:
        seed(connection, profile="small", seed=2, secret=SECRET)
    assert info.value.code == "seed.not_empty"
    assert _count(engine, m.Citizen) == before


def test_unknown_profile_is_refused(engine: Engine) -> None:
    with pytest.raises(DomainError) as info, engine.begin() as connection:
        seed(connection, profile="aarhus", seed=1, secret=SECRET)
    assert info.value.code == "seed.unknown_profile"
    assert set(PROFILES) == {"small", "copenhagen"}


def test_issuer_key_is_sealed_and_opens_with_the_secret(engine: Engine) -> None:
    with engine.begin() as connection:
        seed(connection, profile="small", seed=1, secret=SECRET)
        keys = connection.execute(select(m.IssuerKey).order_by(m.IssuerKey.id)).all()
    # The home-care key and the partner issuer key (home locks never trust it): two keys.
    assert [k.purpose for k in keys] == [e.IssuerKeyPurpose.HOME_CARE, e.IssuerKeyPurpose.PARTNER]
    assert keys[0].public_key != keys[1].public_key
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    for key in keys:
        assert key.private_key_sealed is not None
        private = unseal(key.private_key_sealed, secret=SECRET, purpose="issuer_key")
        public = Ed25519PrivateKey.from_private_bytes(private).public_key()
        assert public.public_bytes(Encoding.Raw, PublicFormat.Raw) == key.public_key
    key = keys[0]
    with pytest.raises(DomainError):
        unseal(key.private_key_sealed, secret="wrong", purpose="issuer_key")
    with pytest.raises(DomainError):
        unseal(key.private_key_sealed, secret=SECRET, purpose="totp")


def test_new_rows_after_seeding_get_fresh_ids(engine: Engine) -> None:
    """PostgreSQL sequences are moved past the explicit ids the seed wrote."""
    from sqlalchemy.orm import Session

    with engine.begin() as connection:
        seed(connection, profile="small", seed=1, secret=SECRET)
    with Session(engine) as session, session.begin():
        district = m.District(municipality_id=1, code="NEW", name="Ny")
        session.add(district)
        session.flush()
        assert district.id == 4
