"""Addresses of dwellings, stairwells and gates, for every part that shows where something is."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from carekey.domain.places import Address
from carekey.store import models as m


def dwelling_addresses(db: Session, dwelling_ids: Iterable[int]) -> dict[int, Address]:
    """The address of each dwelling, by dwelling id."""
    rows = db.execute(
        select(m.Dwelling, m.Entrance, m.Property)
        .join(m.Entrance, m.Entrance.id == m.Dwelling.entrance_id)
        .join(m.Property, m.Property.id == m.Entrance.property_id)
        .where(m.Dwelling.id.in_(list(dwelling_ids)))
    )
    return {
        d.id: Address(
            p.id,
            p.street,
            p.house_number,
            p.postal_code,
            p.city,
            entrance_id=ent.id,
            entrance_label=ent.label,
            dwelling_id=d.id,
            floor=d.floor,
            side=d.side,
        )
        for d, ent, p in rows
    }


def entrance_addresses(db: Session, entrance_ids: Iterable[int]) -> dict[int, Address]:
    """The address of each stairwell (entrance), by entrance id."""
    return {
        ent.id: Address(p.id, p.street, p.house_number, p.postal_code, p.city, ent.id, ent.label)
        for ent, p in db.execute(
            select(m.Entrance, m.Property)
            .join(m.Property, m.Property.id == m.Entrance.property_id)
            .where(m.Entrance.id.in_(list(entrance_ids)))
        )
    }


def gate_addresses(db: Session, gate_ids: Iterable[int]) -> dict[int, Address]:
    """The address of each gate, by gate id."""
    return {
        g.id: Address(
            p.id, p.street, p.house_number, p.postal_code, p.city, gate_id=g.id, gate_label=g.label
        )
        for g, p in db.execute(
            select(m.Gate, m.Property)
            .join(m.Property, m.Property.id == m.Gate.property_id)
            .where(m.Gate.id.in_(list(gate_ids)))
        )
    }
