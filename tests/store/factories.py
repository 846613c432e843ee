"""Small factories for test data: a municipality with one district, home and door."""

from __future__ import annotations

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


def make_world(session: Session, code: str = "0101", name: str = "Københavns Kommune") -> World:
    """One municipality with a district, a property with an entrance and a gate, a citizen in a
    dwelling with a home lock, and an entrance controller. Flushed, not committed."""
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
