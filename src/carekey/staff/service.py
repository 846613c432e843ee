"""Employee use cases: find, read, create and change employees, their roles and districts.

Who may do what is decided in ``carekey.access`` alone (``reach`` and its SQL conditions):
administrators create and change, district leads read their own districts, auditors read.
Blocking and unblocking are in ``revocation``, importing from a file in ``staff.importing``.

Another municipality's employees are reported as "not found", never as "forbidden", so that
their existence is not revealed; that holds for district ids in a request too. Every create and
change writes an ``AdminAction`` in the same transaction. Nothing here commits: the caller's unit
of work commits or rolls back the whole request.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from carekey.access import Action, Actor, Scope, assignable_roles, get_in_scope, reach
from carekey.audit.actions import record_admin_action
from carekey.auth.passwords import hash_password
from carekey.domain import enums as e
from carekey.domain.changes import UNSET, Unset, note_change
from carekey.domain.errors import ConflictError, DomainError, ForbiddenError
from carekey.domain.paging import DEFAULT_PAGE_SIZE, Page
from carekey.domain.rules import check_same_municipality
from carekey.domain.text import optional_text, reason_text, required_text
from carekey.staff import queries as sql
from carekey.store import models as m
from carekey.store.paging import page_of
from carekey.store.unique import flush_unique

MIN_PASSWORD_LENGTH = 10


@dataclass(frozen=True)
class EmployeeView:
    """An employee with their roles, districts and phones."""

    employee: m.Employee
    roles: list[e.Role]
    districts: list[m.District]
    phones: list[m.Phone]


@dataclass(frozen=True)
class NewEmployee:
    """An employee to create. Without a password they cannot sign in until one is set."""

    employee_number: str
    full_name: str
    roles: Sequence[e.Role]
    email: str | None = None
    district_ids: Sequence[int] = ()
    password: str | None = None
    starts_on: dt.date | None = None  # no keys in the key app before this day


@dataclass(frozen=True)
class EmployeeChanges:
    """What to change about an employee; a field left ``UNSET`` stays as it is."""

    full_name: str | Unset = UNSET
    email: str | Unset | None = UNSET
    roles: Sequence[e.Role] | Unset = UNSET
    district_ids: Sequence[int] | Unset = UNSET
    starts_on: dt.date | Unset | None = UNSET


def _views(db: Session, employees: list[m.Employee]) -> list[EmployeeView]:
    ids = [x.id for x in employees]
    districts = sql.districts_of(db, ids)
    phones = sql.phones_of(db, ids)
    return [
        EmployeeView(
            x,
            sorted((r.role for r in x.roles), key=list(e.Role).index),
            districts.get(x.id, []),
            phones.get(x.id, []),
        )
        for x in employees
    ]


# --- reading -----------------------------------------------------------------------------------


def list_employees(
    db: Session,
    *,
    actor: Actor,
    q: str | None = None,
    role: e.Role | None = None,
    district_id: int | None = None,
    status: e.EmployeeStatus | None = None,
    limit: int = DEFAULT_PAGE_SIZE,
    offset: int = 0,
) -> Page[EmployeeView]:
    """Employees of the actor's municipality, searched by name or number (``q``), by role, by
    district and by status; a district lead sees those of their own districts only."""
    scope = reach(actor, Action.READ_STAFF)
    stmt = sql.employees(scope, q=q, role=role, district_id=district_id, status=status)
    page = page_of(db, stmt, order_by=sql.BY_NAME, limit=limit, offset=offset)
    return Page(_views(db, page.items), page.total, page.limit, page.offset)


def employee_by_number(db: Session, *, actor: Actor, employee_number: str) -> m.Employee | None:
    """The employee in the actor's reach with exactly this employee number (any case)."""
    scope = reach(actor, Action.READ_STAFF)
    return sql.employee_by_number_any_case(db, scope, employee_number)


def employee_choices(
    db: Session, *, actor: Actor, text: str, limit: int = 20
) -> list[tuple[int, str]]:
    """The employees in the actor's reach that ``text`` names, as (id, "name (number)"): the one
    with exactly that employee number, or else those whose name or number contains it."""
    exact = employee_by_number(db, actor=actor, employee_number=text)
    if exact is not None:
        return [(exact.id, f"{exact.full_name} ({exact.employee_number})")]
    found = list_employees(db, actor=actor, q=text, limit=limit)
    return [
        (v.employee.id, f"{v.employee.full_name} ({v.employee.employee_number})")
        for v in found.items
    ]


def get_employee(db: Session, *, actor: Actor, employee_id: int) -> EmployeeView:
    """One employee with roles, districts and phones."""
    employee = get_in_scope(db, reach(actor, Action.READ_STAFF), m.Employee, employee_id)
    return _views(db, [employee])[0]


# --- rules of a change -------------------------------------------------------------------------


def _own_districts(db: Session, scope: Scope, district_ids: Iterable[int]) -> list[m.District]:
    wanted = sorted(set(district_ids))
    districts = [get_in_scope(db, scope, m.District, d) for d in wanted]
    check_same_municipality(
        "Medarbejderen", scope.municipality_id, [d.municipality_id for d in districts]
    )
    return districts


def _check_assignable(actor: Actor, roles: set[e.Role]) -> None:
    if not roles <= assignable_roles(actor):
        raise ForbiddenError(
            "employee.role_not_assignable",
            "Du kan kun give rollen hjemmeplejer; bed en administrator om andre roller",
            "You can only give the care-worker role; ask an administrator for other roles",
        )


def _district_required() -> DomainError:
    return DomainError(
        "employee.district_required",
        "Vælg mindst ét af dine distrikter",
        "Choose at least one of your districts",
    )


def _employee_number_taken() -> ConflictError:
    return ConflictError(
        "employee.number_taken",
        "Kommunen har allerede en medarbejder med det medarbejdernummer",
        "The municipality already has an employee with that employee number",
    )


def _roles(roles: Iterable[e.Role]) -> set[e.Role]:
    chosen = set(roles)
    if not chosen:
        raise DomainError(
            "employee.no_role",
            "Giv medarbejderen mindst én rolle",
            "Give the employee at least one role",
        )
    return chosen


def _email(email: str | None) -> str | None:
    text = optional_text(
        email, max_length=200, code="employee.bad_email", what_da="E-mail", what_en="The e-mail"
    )
    if text is not None and ("@" not in text.strip("@") or any(c.isspace() for c in text)):
        raise DomainError(
            "employee.bad_email", "E-mailadressen er ugyldig", "The e-mail address is invalid"
        )
    return text


def _full_name(name: str) -> str:
    return required_text(
        name, max_length=200, code="employee.bad_name", what_da="Navnet", what_en="The name"
    )


def _password_hash(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise DomainError(
            "employee.weak_password",
            f"Adgangskoden skal have mindst {MIN_PASSWORD_LENGTH} tegn",
            f"The password must have at least {MIN_PASSWORD_LENGTH} characters",
        )
    return hash_password(password)


# --- changing ----------------------------------------------------------------------------------


def create_employee(
    db: Session,
    *,
    actor: Actor,
    new: NewEmployee,
    now: dt.datetime,
    reason: str | None = None,
) -> EmployeeView:
    """Create an employee with roles and districts; the employee number is unique within the
    municipality. Without a password the employee cannot sign in until one is set."""
    scope = reach(actor, Action.MANAGE_STAFF)
    number = required_text(
        new.employee_number,
        max_length=32,
        code="employee.bad_number",
        what_da="Medarbejdernummeret",
        what_en="The employee number",
    )
    chosen_roles = _roles(new.roles)
    _check_assignable(actor, chosen_roles)
    districts = _own_districts(db, scope, new.district_ids)
    if scope.district_ids is not None and not districts:
        raise _district_required()
    if sql.employee_with_number(db, actor.municipality_id, number) is not None:
        raise _employee_number_taken()
    employee = m.Employee(
        municipality_id=actor.municipality_id,
        employee_number=number,
        full_name=_full_name(new.full_name),
        email=_email(new.email),
        password_hash=_password_hash(new.password) if new.password is not None else None,
        status=e.EmployeeStatus.ACTIVE,
        starts_on=new.starts_on,
        created_at=now,
        roles=[m.EmployeeRole(role=r) for r in sorted(chosen_roles)],
    )
    db.add(employee)
    flush_unique(db, _employee_number_taken())
    db.add_all(
        m.EmployeeDistrict(
            employee_id=employee.id, district_id=d.id, municipality_id=employee.municipality_id
        )
        for d in districts
    )
    db.flush()
    record_admin_action(
        db,
        actor=actor,
        municipality_id=actor.municipality_id,
        action="employee.created",
        target_type="employee",
        target_id=employee.id,
        reason=reason_text(reason),
        now=now,
        details={
            "employee_number": number,
            "roles": sorted(chosen_roles),
            "district_ids": [d.id for d in districts],
            "password_set": new.password is not None,
            **({"starts_on": new.starts_on.isoformat()} if new.starts_on else {}),
        },
    )
    return get_employee(db, actor=actor, employee_id=employee.id)


def update_employee(
    db: Session,
    *,
    actor: Actor,
    employee_id: int,
    changes: EmployeeChanges,
    now: dt.datetime,
    reason: str | None = None,
) -> EmployeeView:
    """Change an employee's name, e-mail, start date, roles or districts. New districts change
    the key set: the employee's phone hears REFRESH at its next heartbeat. An administrator
    cannot take away their own administrator role (someone else must)."""
    scope = reach(actor, Action.MANAGE_STAFF)
    employee = get_in_scope(db, scope, m.Employee, employee_id)
    changed: dict[str, Any] = {}
    if not isinstance(changes.full_name, Unset):
        new_name = _full_name(changes.full_name)
        if note_change(changed, "full_name", employee.full_name, new_name):
            employee.full_name = new_name
    if not isinstance(changes.email, Unset):
        new_email = _email(changes.email)
        if note_change(changed, "email", employee.email, new_email):
            employee.email = new_email
    if not isinstance(changes.starts_on, Unset):
        old_start, new_start = employee.starts_on, changes.starts_on
        if note_change(
            changed,
            "starts_on",
            old_start.isoformat() if old_start else None,
            new_start.isoformat() if new_start else None,
        ):
            employee.starts_on = new_start
    if not isinstance(changes.roles, Unset):
        _change_roles(actor, employee, changes.roles, changed)
    if not isinstance(changes.district_ids, Unset):
        _change_districts(db, scope, employee, changes.district_ids, changed)
    if changed:
        db.flush()
        record_admin_action(
            db,
            actor=actor,
            municipality_id=employee.municipality_id,
            action="employee.changed",
            target_type="employee",
            target_id=employee.id,
            reason=reason_text(reason),
            now=now,
            details=changed,
        )
    return get_employee(db, actor=actor, employee_id=employee.id)


def _change_roles(
    actor: Actor, employee: m.Employee, roles: Iterable[e.Role], changed: dict[str, Any]
) -> None:
    old_roles = {r.role for r in employee.roles}
    # Roles the actor may not give or take stay as they are (a lead edits care workers).
    given = assignable_roles(actor)
    requested = _roles(roles)
    _check_assignable(actor, requested)
    new_roles = requested | (old_roles - given)
    if (
        employee.id == actor.employee_id
        and e.Role.ADMINISTRATOR in old_roles
        and e.Role.ADMINISTRATOR not in new_roles
    ):
        raise ConflictError(
            "employee.own_admin_role",
            "Du kan ikke fjerne din egen administratorrolle; bed en anden administrator",
            "You cannot remove your own administrator role; ask another administrator",
        )
    if note_change(changed, "roles", sorted(old_roles), sorted(new_roles)):
        employee.roles[:] = [r for r in employee.roles if r.role in new_roles]
        employee.roles.extend(m.EmployeeRole(role=r) for r in sorted(new_roles - old_roles))


def _change_districts(
    db: Session,
    scope: Scope,
    employee: m.Employee,
    district_ids: Iterable[int],
    changed: dict[str, Any],
) -> None:
    requested_ids = {d.id for d in _own_districts(db, scope, district_ids)}
    memberships = sql.memberships(db, employee.id)
    old_ids = {x.district_id for x in memberships}
    # Districts outside the actor's reach stay as they are; a lead keeps the employee in at least
    # one of their own districts (or the employee would leave their reach).
    outside = set() if scope.district_ids is None else old_ids - scope.district_ids
    if scope.district_ids is not None and not requested_ids:
        raise _district_required()
    new_ids = requested_ids | outside
    if note_change(changed, "district_ids", sorted(old_ids), sorted(new_ids)):
        for membership in memberships:
            if membership.district_id not in new_ids:
                db.delete(membership)
        db.add_all(
            m.EmployeeDistrict(
                employee_id=employee.id,
                district_id=d,
                municipality_id=employee.municipality_id,
            )
            for d in sorted(new_ids - old_ids)
        )
