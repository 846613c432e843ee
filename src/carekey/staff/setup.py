"""The first administrator of a new municipality (``carekey admin create``).

The administrator gets a one-time password, generated here from the operating system's
randomness, shown once and stored only as its Argon2id hash. It must be changed at the first
sign-in (``password_must_change``), which also sets up the authenticator app (TOTP) because
the employee has none yet.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from sqlalchemy.orm import Session

from carekey.audit.actions import record_admin_action
from carekey.auth.passwords import hash_password
from carekey.domain import enums as e
from carekey.domain.text import required_text
from carekey.keyservice.municipalities import municipality_by_code
from carekey.staff import queries as sql
from carekey.staff.service import _email, _employee_number_taken, _full_name
from carekey.store import models as m
from carekey.store.unique import flush_unique

# No 0/o, 1/l/i: read aloud or typed from a screen without mistakes. 16 characters of 31:
# about 79 bits.
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


def one_time_password() -> str:
    """A random one-time password in four groups of four, e.g. ``k7mq-2xrt-9fha-pd3w``."""
    groups = ("".join(secrets.choice(_ALPHABET) for _ in range(4)) for _ in range(4))
    return "-".join(groups)


@dataclass(frozen=True)
class NewAdministrator:
    """The administrator created and the one-time password to hand over (shown once)."""

    employee: m.Employee
    password: str


def create_administrator(
    db: Session,
    *,
    municipality_code: str,
    employee_number: str,
    full_name: str,
    now: dt.datetime,
    email: str | None = None,
) -> NewAdministrator:
    """Create an administrator of the municipality with a one-time password that must be
    changed at the first sign-in; the employee number must be free. Runs in the caller's
    transaction and writes an ``AdminAction`` (actor: the command line)."""
    municipality = municipality_by_code(db, code=municipality_code)
    number = required_text(
        employee_number,
        max_length=32,
        code="employee.bad_number",
        what_da="Medarbejdernummeret",
        what_en="The employee number",
    )
    name = _full_name(" ".join(full_name.split()))
    address = _email(email)
    if sql.employee_with_number(db, municipality.id, number) is not None:
        raise _employee_number_taken()
    password = one_time_password()
    employee = m.Employee(
        municipality_id=municipality.id,
        employee_number=number,
        full_name=name,
        email=address.lower() if address else None,
        password_hash=hash_password(password),
        password_must_change=True,
        status=e.EmployeeStatus.ACTIVE,
        created_at=now,
        roles=[m.EmployeeRole(role=e.Role.ADMINISTRATOR)],
    )
    db.add(employee)
    flush_unique(db, _employee_number_taken())
    record_admin_action(
        db,
        actor=None,
        municipality_id=municipality.id,
        action="employee.created",
        target_type="employee",
        target_id=employee.id,
        now=now,
        details={
            "employee_number": number,
            "roles": [e.Role.ADMINISTRATOR],
            "district_ids": [],
            "password_set": True,
            "one_time_password": True,
            "via": "carekey admin create",
        },
    )
    return NewAdministrator(employee, password)
