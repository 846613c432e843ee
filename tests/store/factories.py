"""Small factories for test data: a municipality with one district, home and door."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from carekey.domain import enums as e
from carekey.store import models as m


@dataclass
class World:
    municipality: m.Municipality
    district: m.District
    property: m.Property
    entrance: m.Entrance
    gate: m.Gate
    dwelling: m.Dwelling
    citizen: m.Citizen
    home_lock: m.DoorDevice
    entrance_controller: m.DoorDevice


def make_world(
    session: Session,
    code: str = "0101",
    name: str = "Københavns Kommune",
    *,
    consent: bool = True,
) -> World:
    """One municipality with a district, a property with an entrance and a gate, a citizen in a
    dwelling with a home lock, and an entrance controller. Flushed, not committed. The citizen
    has a recorded consent (no key is issued for a home without one) unless ``consent=False``."""
    municipality = m.Municipality(code=code, name=name)
    session.add(municipality)
    session.flush()
    district = m.District(municipality_id=municipality.id, code="D01", name="Nørrebro")
    prop = m.Property(
        municipality_id=municipality.id,
        street="Nørrebrogade",
        house_number="12",
        postal_code="2200",
        city="København N",
    )
    session.add_all([district, prop])
    session.flush()
    entrance = m.Entrance(property_id=prop.id, label="Nørrebrogade 12A")
    gate = m.Gate(property_id=prop.id, label="Port")
    session.add_all([entrance, gate])
    session.flush()
    dwelling = m.Dwelling(entrance_id=entrance.id, floor="2", side="tv")
    session.add(dwelling)
    session.flush()
    citizen = m.Citizen(
        municipality_id=municipality.id,
        district_id=district.id,
        dwelling_id=dwelling.id,
        given_name="Else",
        family_name="Hansen",
        status=e.CitizenStatus.ACTIVE,
    )
    home_lock = door(session, municipality, e.DoorKind.HOME_LOCK, dwelling_id=dwelling.id)
    controller = door(
        session, municipality, e.DoorKind.ENTRANCE_CONTROLLER, entrance_id=entrance.id
    )
    session.add(citizen)
    session.flush()
    if consent:
        give_consent(session, citizen)
    return World(
        municipality, district, prop, entrance, gate, dwelling, citizen, home_lock, controller
    )


_serial = iter(range(1, 1_000_000))


def door(
    session: Session,
    municipality: m.Municipality,
    kind: e.DoorKind,
    *,
    status: e.DoorStatus = e.DoorStatus.ACTIVE,
    **place: int | None,
) -> m.DoorDevice:
    """A door device of ``kind`` placed as given, flushed."""
    device = m.DoorDevice(
        municipality_id=municipality.id,
        kind=kind,
        serial=f"T-{municipality.code}-{next(_serial):06d}",
        public_key=bytes(32),
        firmware_version="1.0.0",
        status=status,
        **place,
    )
    session.add(device)
    session.flush()
    return device


def give_consent(session: Session, citizen: m.Citizen) -> m.ConsentRecord:
    """A recorded installation consent of the citizen (given by the citizen), flushed."""
    record = m.ConsentRecord(
        municipality_id=citizen.municipality_id,
        citizen_id=citizen.id,
        kind=e.ConsentKind.INSTALLATION,
        given_by=e.ConsentGivenBy.CITIZEN,
        method=e.ConsentMethod.PAPER_SCANNED,
        given_at=citizen.created_at or _EPOCH,
    )
    session.add(record)
    session.flush()
    return record


_EPOCH = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
