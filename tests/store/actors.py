"""Office actors for the use-case tests: an administrator of a test world's municipality."""

from __future__ import annotations

from sqlalchemy.orm import Session

from carekey.access import Actor
from carekey.domain import enums as e
from carekey.store import models as m
from tests.store.factories import World


def administrator(world: World, db: Session) -> Actor:
    """An administrator of ``world``'s municipality (employee "A1", Anne Admin), flushed."""
    employee = m.Employee(
        municipality_id=world.municipality.id,
        employee_number="A1",
        full_name="Anne Admin",
        roles=[m.EmployeeRole(role=e.Role.ADMINISTRATOR)],
    )
    db.add(employee)
    db.flush()
    return Actor(employee.id, world.municipality.id, frozenset({e.Role.ADMINISTRATOR}), "Anne")
