"""Administration use cases: employees, phones, districts, citizens, doors, emergency keys and the
log of administrative actions.

Who may do what is decided in ``carekey.access`` alone (``reach`` and its SQL conditions):
administrators change, district leads read their own districts, auditors read.

Another municipality's things are reported as "not found", never as "forbidden", so that their
existence is not revealed; that holds for ids in a request body too. Every create and change
writes an ``AdminAction`` in the same transaction. Functions never commit: the caller's unit of
work commits or rolls back the whole request.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, exists, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from carekey.access import Action, Actor, Scope, assignable_roles, get_in_scope, reach
from carekey.access import queries as access_sql
from carekey.audit.actions import record_admin_action
from carekey.auth.passwords import hash_password
from carekey.domain import enums as e
from carekey.domain.errors import ConflictError, DomainError, ForbiddenError, not_found
from carekey.domain.rules import check_same_municipality
from carekey.store import models as m

MAX_PAGE_SIZE = 200
DEFAULT_PAGE_SIZE = 50
LOW_BATTERY_PCT = 20
# Ids are 32-bit in the schema; anything larger cannot exist, and PostgreSQL would refuse to
# compare it, so it is "not found" before it reaches the database.
MAX_ID = 2**31 - 1
MIN_PASSWORD_LENGTH = 10

T = TypeVar("T")


class Unset(Enum):
    """The value of a field a change request leaves alone (``None`` may be a real value)."""

    UNSET = "unset"


UNSET = Unset.UNSET


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list, and how many items the whole list holds."""

    items: list[T]
    total: int
    limit: int
    offset: int


# --- access: every rule of who may read or do what is in ``carekey.access`` -------------------


def _employee_in_districts(district_ids: Iterable[int]) -> Any:
    return exists().where(
        m.EmployeeDistrict.employee_id == m.Employee.id,
        m.EmployeeDistrict.district_id.in_(list(district_ids)),
    )


# --- small helpers -----------------------------------------------------------------------------


def _text(value: str, *, max_length: int, code: str, what_da: str, what_en: str) -> str:
    text = value.strip()
    if not text or len(text) > max_length:
        raise DomainError(
            code,
            f"{what_da} skal udfyldes og må højst have {max_length} tegn",
            f"{what_en} must be given and have at most {max_length} characters",
        )
    return text


def _optional_text(
    value: str | None, *, max_length: int, code: str, what_da: str, what_en: str
) -> str | None:
    if value is None or not value.strip():
        return None
    return _text(value, max_length=max_length, code=code, what_da=what_da, what_en=what_en)


def _reason(reason: str | None) -> str | None:
    return (reason or "").strip() or None


def _check_page(limit: int, offset: int) -> None:
    if not 1 <= limit <= MAX_PAGE_SIZE or offset < 0:
        raise DomainError(
            "page.out_of_range",
            f"Vælg 1–{MAX_PAGE_SIZE} rækker pr. side og en forskydning på mindst 0",
            f"Choose 1–{MAX_PAGE_SIZE} rows per page and an offset of at least 0",
        )


def _page(
    db: Session, stmt: Select[T], *, order_by: Sequence[Any], limit: int, offset: int
) -> Page[T]:
    _check_page(limit, offset)
    total = db.execute(select(func.count()).select_from(stmt.order_by(None).subquery())).scalar()
    items = list(db.execute(stmt.order_by(*order_by).limit(limit).offset(offset)).scalars())
    return Page(items, int(total or 0), limit, offset)


def _contains(text: str) -> str:
    """A LIKE pattern matching ``text`` anywhere, with LIKE's wildcards taken literally."""
    escaped = text.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _flush(db: Session, conflict: ConflictError) -> None:
    """Flush; a unique constraint that a concurrent request won first becomes ``conflict``."""
    try:
        db.flush()
    except IntegrityError as exc:
        raise conflict from exc


def _changed(changes: dict[str, Any], name: str, old: Any, new: Any) -> bool:
    if old == new:
        return False
    changes[name] = {"from": old, "to": new}
    return True


# --- districts ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DistrictView:
    """A district with how many employees and citizens it has."""

    district: m.District
    employee_count: int
    citizen_count: int


def _district_views(db: Session, districts: list[m.District]) -> list[DistrictView]:
    ids = [d.id for d in districts]
    employees = dict(
        db.execute(
            select(m.EmployeeDistrict.district_id, func.count())
            .where(m.EmployeeDistrict.district_id.in_(ids))
            .group_by(m.EmployeeDistrict.district_id)
        ).all()
    )
    citizens = dict(
        db.execute(
            select(m.Citizen.district_id, func.count())
            .where(m.Citizen.district_id.in_(ids))
            .where(m.Citizen.status != e.CitizenStatus.REMOVED)
            .group_by(m.Citizen.district_id)
        ).all()
    )
    return [DistrictView(d, employees.get(d.id, 0), citizens.get(d.id, 0)) for d in districts]


def _own_districts(db: Session, scope: Scope, district_ids: Iterable[int]) -> list[m.District]:
    wanted = sorted(set(district_ids))
    districts = [get_in_scope(db, scope, m.District, d) for d in wanted]
    check_same_municipality(
        "Medarbejderen", scope.municipality_id, [d.municipality_id for d in districts]
    )
    return districts


def list_districts(db: Session, *, actor: Actor) -> list[DistrictView]:
    """The districts of the actor's municipality (a district lead sees their own only)."""
    scope = reach(actor, Action.READ_DISTRICTS)
    stmt = select(m.District).where(access_sql.districts_in(scope))
    districts = list(db.execute(stmt.order_by(m.District.code, m.District.id)).scalars())
    return _district_views(db, districts)


def get_district(db: Session, *, actor: Actor, district_id: int) -> DistrictView:
    """One district of the actor's municipality."""
    district = get_in_scope(db, reach(actor, Action.READ_DISTRICTS), m.District, district_id)
    return _district_views(db, [district])[0]


def _district_code_taken() -> ConflictError:
    return ConflictError(
        "district.code_taken",
        "Kommunen har allerede et distrikt med den kode",
        "The municipality already has a district with that code",
    )


def _check_district_code_free(
    db: Session, municipality_id: int, code: str, but: int | None = None
) -> None:
    stmt = (
        select(m.District.id)
        .where(m.District.municipality_id == municipality_id)
        .where(m.District.code == code)
    )
    if but is not None:
        stmt = stmt.where(m.District.id != but)
    if db.execute(stmt).first() is not None:
        raise _district_code_taken()


def _district_code(code: str) -> str:
    return _text(code, max_length=16, code="district.bad_code", what_da="Koden", what_en="The code")


def _district_name(name: str) -> str:
    return _text(
        name, max_length=100, code="district.bad_name", what_da="Navnet", what_en="The name"
    )


def create_district(
    db: Session, *, actor: Actor, code: str, name: str, now: dt.datetime, reason: str | None = None
) -> DistrictView:
    """Create a district; its code is unique within the municipality."""
    reach(actor, Action.MANAGE_DISTRICTS)
    district = m.District(
        municipality_id=actor.municipality_id, code=_district_code(code), name=_district_name(name)
    )
    _check_district_code_free(db, actor.municipality_id, district.code)
    db.add(district)
    _flush(db, _district_code_taken())
    record_admin_action(
        db,
        actor=actor,
        municipality_id=actor.municipality_id,
        action="district.created",
        target_type="district",
        target_id=district.id,
        reason=_reason(reason),
        now=now,
        details={"code": district.code, "name": district.name},
    )
    return _district_views(db, [district])[0]


def update_district(
    db: Session,
    *,
    actor: Actor,
    district_id: int,
    now: dt.datetime,
    code: str | Unset = UNSET,
    name: str | Unset = UNSET,
    reason: str | None = None,
) -> DistrictView:
    """Rename a district or change its code."""
    scope = reach(actor, Action.MANAGE_DISTRICTS)
    district = get_in_scope(db, scope, m.District, district_id)
    changes: dict[str, Any] = {}
    if not isinstance(code, Unset):
        new_code = _district_code(code)
        if _changed(changes, "code", district.code, new_code):
            _check_district_code_free(db, district.municipality_id, new_code, but=district.id)
            district.code = new_code
    if not isinstance(name, Unset):
        new_name = _district_name(name)
        if _changed(changes, "name", district.name, new_name):
            district.name = new_name
    if changes:
        _flush(db, _district_code_taken())
        record_admin_action(
            db,
            actor=actor,
            municipality_id=district.municipality_id,
            action="district.changed",
            target_type="district",
            target_id=district.id,
            reason=_reason(reason),
            now=now,
            details=changes,
        )
    return _district_views(db, [district])[0]


# --- employees ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class EmployeeView:
    """An employee with their roles, districts and phones."""

    employee: m.Employee
    roles: list[e.Role]
    districts: list[m.District]
    phones: list[m.Phone]


def _employee_views(db: Session, employees: list[m.Employee]) -> list[EmployeeView]:
    ids = [x.id for x in employees]
    districts: dict[int, list[m.District]] = {}
    for employee_id, district in db.execute(
        select(m.EmployeeDistrict.employee_id, m.District)
        .join(m.District, m.District.id == m.EmployeeDistrict.district_id)
        .where(m.EmployeeDistrict.employee_id.in_(ids))
        .order_by(m.District.code)
    ):
        districts.setdefault(employee_id, []).append(district)
    phones: dict[int, list[m.Phone]] = {}
    for phone in db.execute(
        select(m.Phone).where(m.Phone.employee_id.in_(ids)).order_by(m.Phone.id)
    ).scalars():
        assert phone.employee_id is not None
        phones.setdefault(phone.employee_id, []).append(phone)
    return [
        EmployeeView(
            x,
            sorted((r.role for r in x.roles), key=list(e.Role).index),
            districts.get(x.id, []),
            phones.get(x.id, []),
        )
        for x in employees
    ]


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
    stmt = select(m.Employee).where(access_sql.employees_in(scope))
    if role is not None:
        stmt = stmt.where(
            exists().where(m.EmployeeRole.employee_id == m.Employee.id, m.EmployeeRole.role == role)
        )
    if q and q.strip():
        pattern = _contains(q)
        stmt = stmt.where(
            or_(
                m.Employee.full_name.ilike(pattern, escape="\\"),
                m.Employee.employee_number.ilike(pattern, escape="\\"),
            )
        )
    if district_id is not None:
        stmt = stmt.where(_employee_in_districts([district_id]))
    if status is not None:
        stmt = stmt.where(m.Employee.status == status)
    page = _page(
        db, stmt, order_by=[m.Employee.full_name, m.Employee.id], limit=limit, offset=offset
    )
    return Page(_employee_views(db, page.items), page.total, page.limit, page.offset)


def employee_by_number(db: Session, *, actor: Actor, employee_number: str) -> m.Employee | None:
    """The employee in the actor's reach with exactly this employee number (any case)."""
    scope = reach(actor, Action.READ_STAFF)
    return db.execute(
        select(m.Employee)
        .where(access_sql.employees_in(scope))
        .where(func.lower(m.Employee.employee_number) == employee_number.strip().lower())
    ).scalar_one_or_none()


def get_employee(db: Session, *, actor: Actor, employee_id: int) -> EmployeeView:
    """One employee with roles, districts and phones."""
    employee = get_in_scope(db, reach(actor, Action.READ_STAFF), m.Employee, employee_id)
    return _employee_views(db, [employee])[0]


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
    text = _optional_text(
        email, max_length=200, code="employee.bad_email", what_da="E-mail", what_en="The e-mail"
    )
    if text is not None and ("@" not in text.strip("@") or any(c.isspace() for c in text)):
        raise DomainError(
            "employee.bad_email", "E-mailadressen er ugyldig", "The e-mail address is invalid"
        )
    return text


def _full_name(name: str) -> str:
    return _text(
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


def create_employee(
    db: Session,
    *,
    actor: Actor,
    employee_number: str,
    full_name: str,
    roles: Iterable[e.Role],
    now: dt.datetime,
    email: str | None = None,
    district_ids: Iterable[int] = (),
    password: str | None = None,
    reason: str | None = None,
) -> EmployeeView:
    """Create an employee with roles and districts; the employee number is unique within the
    municipality. Without a password the employee cannot sign in until one is set."""
    scope = reach(actor, Action.MANAGE_STAFF)
    number = _text(
        employee_number,
        max_length=32,
        code="employee.bad_number",
        what_da="Medarbejdernummeret",
        what_en="The employee number",
    )
    chosen_roles = _roles(roles)
    _check_assignable(actor, chosen_roles)
    districts = _own_districts(db, scope, district_ids)
    if scope.district_ids is not None and not districts:
        raise _district_required()
    if db.execute(
        select(m.Employee.id)
        .where(m.Employee.municipality_id == actor.municipality_id)
        .where(m.Employee.employee_number == number)
    ).first():
        raise _employee_number_taken()
    employee = m.Employee(
        municipality_id=actor.municipality_id,
        employee_number=number,
        full_name=_full_name(full_name),
        email=_email(email),
        password_hash=_password_hash(password) if password is not None else None,
        status=e.EmployeeStatus.ACTIVE,
        created_at=now,
        roles=[m.EmployeeRole(role=r) for r in sorted(chosen_roles)],
    )
    db.add(employee)
    _flush(db, _employee_number_taken())
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
        reason=_reason(reason),
        now=now,
        details={
            "employee_number": number,
            "roles": sorted(chosen_roles),
            "district_ids": [d.id for d in districts],
            "password_set": password is not None,
        },
    )
    return get_employee(db, actor=actor, employee_id=employee.id)


def update_employee(
    db: Session,
    *,
    actor: Actor,
    employee_id: int,
    now: dt.datetime,
    full_name: str | Unset = UNSET,
    email: str | Unset | None = UNSET,
    roles: Iterable[e.Role] | Unset = UNSET,
    district_ids: Iterable[int] | Unset = UNSET,
    reason: str | None = None,
) -> EmployeeView:
    """Change an employee's name, e-mail, roles or districts. New districts change the key set:
    the employee's phone hears REFRESH at its next heartbeat. An administrator cannot take away
    their own administrator role (someone else must)."""
    scope = reach(actor, Action.MANAGE_STAFF)
    employee = get_in_scope(db, scope, m.Employee, employee_id)
    changes: dict[str, Any] = {}
    if not isinstance(full_name, Unset):
        new_name = _full_name(full_name)
        if _changed(changes, "full_name", employee.full_name, new_name):
            employee.full_name = new_name
    if not isinstance(email, Unset):
        new_email = _email(email)
        if _changed(changes, "email", employee.email, new_email):
            employee.email = new_email
    if not isinstance(roles, Unset):
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
        if _changed(changes, "roles", sorted(old_roles), sorted(new_roles)):
            employee.roles[:] = [r for r in employee.roles if r.role in new_roles]
            employee.roles.extend(m.EmployeeRole(role=r) for r in sorted(new_roles - old_roles))
    if not isinstance(district_ids, Unset):
        requested_ids = {d.id for d in _own_districts(db, scope, district_ids)}
        memberships = list(
            db.execute(
                select(m.EmployeeDistrict).where(m.EmployeeDistrict.employee_id == employee.id)
            ).scalars()
        )
        old_ids = {x.district_id for x in memberships}
        # Districts outside the actor's reach stay as they are; a lead keeps the employee in
        # at least one of their own districts (or the employee would leave their reach).
        outside = set() if scope.district_ids is None else old_ids - scope.district_ids
        if scope.district_ids is not None and not requested_ids:
            raise _district_required()
        new_ids = requested_ids | outside
        if _changed(changes, "district_ids", sorted(old_ids), sorted(new_ids)):
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
    if changes:
        db.flush()
        record_admin_action(
            db,
            actor=actor,
            municipality_id=employee.municipality_id,
            action="employee.changed",
            target_type="employee",
            target_id=employee.id,
            reason=_reason(reason),
            now=now,
            details=changes,
        )
    return get_employee(db, actor=actor, employee_id=employee.id)


# --- phones ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PhoneView:
    """A phone and the employee it is registered to."""

    phone: m.Phone
    employee: m.Employee | None


def _phone_views(db: Session, phones: list[m.Phone]) -> list[PhoneView]:
    owner_ids = {p.employee_id for p in phones if p.employee_id is not None}
    owners = {
        x.id: x
        for x in db.execute(select(m.Employee).where(m.Employee.id.in_(owner_ids))).scalars()
    }
    return [PhoneView(p, owners.get(p.employee_id or 0)) for p in phones]


def list_phones(
    db: Session,
    *,
    actor: Actor,
    q: str | None = None,
    employee_id: int | None = None,
    status: e.PhoneStatus | None = None,
    limit: int = DEFAULT_PAGE_SIZE,
    offset: int = 0,
) -> Page[PhoneView]:
    """Phones of the actor's municipality, searched by label (``q``), by employee and status;
    a district lead sees the phones of their districts' employees only."""
    scope = reach(actor, Action.READ_STAFF)
    stmt = select(m.Phone).where(access_sql.phones_in(scope))
    if q and q.strip():
        stmt = stmt.where(m.Phone.label.ilike(_contains(q), escape="\\"))
    if employee_id is not None:
        stmt = stmt.where(m.Phone.employee_id == employee_id)
    if status is not None:
        stmt = stmt.where(m.Phone.status == status)
    page = _page(db, stmt, order_by=[m.Phone.label, m.Phone.id], limit=limit, offset=offset)
    return Page(_phone_views(db, page.items), page.total, page.limit, page.offset)


def get_phone(db: Session, *, actor: Actor, phone_id: int) -> PhoneView:
    """One phone with the employee it is registered to."""
    phone = get_in_scope(db, reach(actor, Action.READ_STAFF), m.Phone, phone_id)
    return _phone_views(db, [phone])[0]


def _phone_label_taken() -> ConflictError:
    return ConflictError(
        "phone.label_taken",
        "Kommunen har allerede en telefon med den mærkning",
        "The municipality already has a phone with that label",
    )


def _check_phone_label_free(
    db: Session, municipality_id: int, label: str, but: int | None = None
) -> None:
    stmt = (
        select(m.Phone.id)
        .where(m.Phone.municipality_id == municipality_id)
        .where(m.Phone.label == label)
    )
    if but is not None:
        stmt = stmt.where(m.Phone.id != but)
    if db.execute(stmt).first() is not None:
        raise _phone_label_taken()


def _phone_label(label: str) -> str:
    return _text(
        label, max_length=64, code="phone.bad_label", what_da="Mærkningen", what_en="The label"
    )


def _phone_model(model: str | None) -> str | None:
    return _optional_text(
        model, max_length=64, code="phone.bad_model", what_da="Modellen", what_en="The model"
    )


def _phone_owner(db: Session, scope: Scope, employee_id: int | None) -> int | None:
    if employee_id is None:
        return None
    owner = get_in_scope(db, scope, m.Employee, employee_id)
    check_same_municipality("Telefonen", scope.municipality_id, [owner.municipality_id])
    return owner.id


def create_phone(
    db: Session,
    *,
    actor: Actor,
    label: str,
    now: dt.datetime,
    model: str | None = None,
    employee_id: int | None = None,
    reason: str | None = None,
) -> PhoneView:
    """Register a work phone (its asset label is unique within the municipality). It can log in
    once it has been enrolled with a one-time code."""
    scope = reach(actor, Action.MANAGE_PHONES)
    phone = m.Phone(
        municipality_id=actor.municipality_id,
        label=_phone_label(label),
        model=_phone_model(model),
        employee_id=_phone_owner(db, scope, employee_id),
        status=e.PhoneStatus.ACTIVE,
        created_at=now,
    )
    _check_phone_label_free(db, actor.municipality_id, phone.label)
    db.add(phone)
    _flush(db, _phone_label_taken())
    record_admin_action(
        db,
        actor=actor,
        municipality_id=actor.municipality_id,
        action="phone.created",
        target_type="phone",
        target_id=phone.id,
        reason=_reason(reason),
        now=now,
        details={"label": phone.label, "model": phone.model, "employee_id": phone.employee_id},
    )
    return _phone_views(db, [phone])[0]


def update_phone(
    db: Session,
    *,
    actor: Actor,
    phone_id: int,
    now: dt.datetime,
    label: str | Unset = UNSET,
    model: str | Unset | None = UNSET,
    employee_id: int | Unset | None = UNSET,
    reason: str | None = None,
) -> PhoneView:
    """Change a phone's label, model or employee. Handing the phone to someone else ends the
    app session on it: at its next heartbeat the phone wipes the previous holder's keys."""
    scope = reach(actor, Action.MANAGE_PHONES)
    phone = get_in_scope(db, scope, m.Phone, phone_id)
    changes: dict[str, Any] = {}
    if not isinstance(label, Unset):
        new_label = _phone_label(label)
        if _changed(changes, "label", phone.label, new_label):
            _check_phone_label_free(db, phone.municipality_id, new_label, but=phone.id)
            phone.label = new_label
    if not isinstance(model, Unset):
        new_model = _phone_model(model)
        if _changed(changes, "model", phone.model, new_model):
            phone.model = new_model
    if not isinstance(employee_id, Unset):
        new_owner = _phone_owner(db, scope, employee_id)
        if _changed(changes, "employee_id", phone.employee_id, new_owner):
            phone.employee_id = new_owner
            phone.session_epoch += 1
            phone.bundle_digest = None
    if changes:
        _flush(db, _phone_label_taken())
        record_admin_action(
            db,
            actor=actor,
            municipality_id=phone.municipality_id,
            action="phone.changed",
            target_type="phone",
            target_id=phone.id,
            reason=_reason(reason),
            now=now,
            details=changes,
        )
    return _phone_views(db, [phone])[0]


# --- places: addresses of dwellings and doors --------------------------------------------------


@dataclass(frozen=True)
class Address:
    """Where a dwelling, stairwell or gate is."""

    property_id: int
    street: str
    house_number: str
    postal_code: str
    city: str
    entrance_id: int | None = None
    entrance_label: str | None = None
    dwelling_id: int | None = None
    floor: str | None = None
    side: str | None = None
    gate_id: int | None = None
    gate_label: str | None = None

    @property
    def text(self) -> str:
        """The address the way a Dane writes it: "Nørrebrogade 12A, 2. tv., 2200 København N"."""
        first = self.entrance_label or f"{self.street} {self.house_number}"
        flat = f", {self.floor}. {self.side}." if self.floor is not None else ""
        gate = f" ({self.gate_label})" if self.gate_label else ""
        return f"{first}{gate}{flat}, {self.postal_code} {self.city}"


def _dwelling_addresses(db: Session, dwelling_ids: Iterable[int]) -> dict[int, Address]:
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


def _dwelling_municipality(db: Session, dwelling_id: int) -> int | None:
    if not 1 <= dwelling_id <= MAX_ID:
        return None
    return db.execute(
        select(m.Property.municipality_id)
        .join(m.Entrance, m.Entrance.property_id == m.Property.id)
        .join(m.Dwelling, m.Dwelling.entrance_id == m.Entrance.id)
        .where(m.Dwelling.id == dwelling_id)
    ).scalar_one_or_none()


# --- citizens ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CitizenView:
    """A citizen with district, address and (for one citizen) the doors to their home."""

    citizen: m.Citizen
    district: m.District
    address: Address | None
    doors: list[m.DoorDevice] = field(default_factory=list)


def _citizen_views(
    db: Session, citizens: list[m.Citizen], *, with_doors: bool = False
) -> list[CitizenView]:
    district_ids = {c.district_id for c in citizens}
    districts = {
        d.id: d
        for d in db.execute(select(m.District).where(m.District.id.in_(district_ids))).scalars()
    }
    addresses = _dwelling_addresses(db, {c.dwelling_id for c in citizens if c.dwelling_id})
    views = []
    for c in citizens:
        address = addresses.get(c.dwelling_id) if c.dwelling_id else None
        doors = _doors_of(db, address) if with_doors and address else []
        views.append(CitizenView(c, districts[c.district_id], address, doors))
    return views


def _doors_of(db: Session, address: Address) -> list[m.DoorDevice]:
    """The home lock, stairwell controller and gate controllers on the way to a dwelling."""
    gate_ids = select(m.Gate.id).where(m.Gate.property_id == address.property_id)
    return list(
        db.execute(
            select(m.DoorDevice)
            .where(m.DoorDevice.status != e.DoorStatus.DECOMMISSIONED)
            .where(
                or_(
                    m.DoorDevice.dwelling_id == address.dwelling_id,
                    m.DoorDevice.entrance_id == address.entrance_id,
                    m.DoorDevice.gate_id.in_(gate_ids),
                )
            )
            .order_by(m.DoorDevice.kind, m.DoorDevice.id)
        ).scalars()
    )


def list_citizens(
    db: Session,
    *,
    actor: Actor,
    q: str | None = None,
    district_id: int | None = None,
    status: e.CitizenStatus | None = None,
    limit: int = DEFAULT_PAGE_SIZE,
    offset: int = 0,
) -> Page[CitizenView]:
    """Citizens of the actor's municipality, searched by name (``q``), by district and status;
    a district lead sees those of their own districts only."""
    scope = reach(actor, Action.READ_CITIZENS)
    stmt = select(m.Citizen).where(access_sql.citizens_in(scope))
    if q and q.strip():
        pattern = _contains(q)
        full_name = m.Citizen.given_name + " " + m.Citizen.family_name
        stmt = stmt.where(full_name.ilike(pattern, escape="\\"))
    if district_id is not None:
        stmt = stmt.where(m.Citizen.district_id == district_id)
    if status is not None:
        stmt = stmt.where(m.Citizen.status == status)
    page = _page(
        db,
        stmt,
        order_by=[m.Citizen.family_name, m.Citizen.given_name, m.Citizen.id],
        limit=limit,
        offset=offset,
    )
    return Page(_citizen_views(db, page.items), page.total, page.limit, page.offset)


def get_citizen(db: Session, *, actor: Actor, citizen_id: int) -> CitizenView:
    """One citizen with district, address and the doors to their home."""
    citizen = get_in_scope(db, reach(actor, Action.READ_CITIZENS), m.Citizen, citizen_id)
    return _citizen_views(db, [citizen], with_doors=True)[0]


_SETTABLE_CITIZEN_STATUSES = (
    e.CitizenStatus.PENDING,
    e.CitizenStatus.ACTIVE,
    e.CitizenStatus.PAUSED,
)


def _citizen_status(status: e.CitizenStatus) -> e.CitizenStatus:
    if status not in _SETTABLE_CITIZEN_STATUSES:
        raise DomainError(
            "citizen.use_remove",
            "En borger fjernes med 'fjern adresse', som også spærrer døren",
            "A citizen is removed with 'remove address', which also withdraws the door",
        )
    return status


def _citizen_name(value: str, what_da: str, what_en: str) -> str:
    return _text(value, max_length=100, code="citizen.bad_name", what_da=what_da, what_en=what_en)


def create_citizen(
    db: Session,
    *,
    actor: Actor,
    given_name: str,
    family_name: str,
    district_id: int,
    now: dt.datetime,
    dwelling_id: int | None = None,
    status: e.CitizenStatus = e.CitizenStatus.PENDING,
    reason: str | None = None,
) -> CitizenView:
    """Register a citizen in a district, optionally at a dwelling. An active citizen's doors are
    in the key bundles of the district's employees from their next heartbeat."""
    scope = reach(actor, Action.MANAGE_CITIZENS)
    district = get_in_scope(db, scope, m.District, district_id)
    if dwelling_id is not None:
        dwelling_municipality = _dwelling_municipality(db, dwelling_id)
        if dwelling_municipality != actor.municipality_id:
            raise not_found("Boligen", "dwelling")
        check_same_municipality(
            "Borgeren", actor.municipality_id, [district.municipality_id, dwelling_municipality]
        )
    citizen = m.Citizen(
        municipality_id=actor.municipality_id,
        district_id=district.id,
        dwelling_id=dwelling_id,
        given_name=_citizen_name(given_name, "Fornavnet", "The given name"),
        family_name=_citizen_name(family_name, "Efternavnet", "The family name"),
        status=_citizen_status(status),
        created_at=now,
    )
    db.add(citizen)
    db.flush()
    record_admin_action(
        db,
        actor=actor,
        municipality_id=actor.municipality_id,
        action="citizen.created",
        target_type="citizen",
        target_id=citizen.id,
        reason=_reason(reason),
        now=now,
        details={
            "district_id": district.id,
            "dwelling_id": dwelling_id,
            "status": citizen.status.value,
        },
    )
    return get_citizen(db, actor=actor, citizen_id=citizen.id)


def update_citizen(
    db: Session,
    *,
    actor: Actor,
    citizen_id: int,
    now: dt.datetime,
    given_name: str | Unset = UNSET,
    family_name: str | Unset = UNSET,
    district_id: int | Unset = UNSET,
    status: e.CitizenStatus | Unset = UNSET,
    reason: str | None = None,
) -> CitizenView:
    """Change a citizen's name, district or status (pending, active, paused). Moving a citizen to
    another district moves their doors to that district's employees at the next heartbeat.
    Removal and its undo go through ``services.revocation``, which also withdraws the door."""
    scope = reach(actor, Action.MANAGE_CITIZENS)
    citizen = get_in_scope(db, scope, m.Citizen, citizen_id)
    changes: dict[str, Any] = {}
    if not isinstance(given_name, Unset):
        new_given = _citizen_name(given_name, "Fornavnet", "The given name")
        if _changed(changes, "given_name", citizen.given_name, new_given):
            citizen.given_name = new_given
    if not isinstance(family_name, Unset):
        new_family = _citizen_name(family_name, "Efternavnet", "The family name")
        if _changed(changes, "family_name", citizen.family_name, new_family):
            citizen.family_name = new_family
    if not isinstance(district_id, Unset):
        district = get_in_scope(db, scope, m.District, district_id)
        check_same_municipality("Borgeren", citizen.municipality_id, [district.municipality_id])
        if _changed(changes, "district_id", citizen.district_id, district.id):
            citizen.district_id = district.id
    if not isinstance(status, Unset):
        new_status = _citizen_status(status)
        if citizen.status is e.CitizenStatus.REMOVED and new_status != citizen.status:
            raise ConflictError(
                "citizen.removed",
                "Borgeren er fjernet; brug 'genskab' for at tage borgeren tilbage",
                "The citizen is removed; use 'restore' to bring the citizen back",
            )
        if _changed(changes, "status", citizen.status.value, new_status.value):
            citizen.status = new_status
    if changes:
        db.flush()
        record_admin_action(
            db,
            actor=actor,
            municipality_id=citizen.municipality_id,
            action="citizen.changed",
            target_type="citizen",
            target_id=citizen.id,
            reason=_reason(reason),
            now=now,
            details=changes,
        )
    return get_citizen(db, actor=actor, citizen_id=citizen.id)


# --- doors -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DoorView:
    """A door device, where it sits, and (for one door) the municipality's denylist version."""

    door: m.DoorDevice
    address: Address | None
    citizen_id: int | None = None
    denylist_version_current: int | None = None


def _door_views(db: Session, doors: list[m.DoorDevice]) -> list[DoorView]:
    dwellings = _dwelling_addresses(db, {d.dwelling_id for d in doors if d.dwelling_id})
    entrance_ids = {d.entrance_id for d in doors if d.entrance_id}
    entrances = {
        ent.id: Address(p.id, p.street, p.house_number, p.postal_code, p.city, ent.id, ent.label)
        for ent, p in db.execute(
            select(m.Entrance, m.Property)
            .join(m.Property, m.Property.id == m.Entrance.property_id)
            .where(m.Entrance.id.in_(entrance_ids))
        )
    }
    gate_ids = {d.gate_id for d in doors if d.gate_id}
    gates = {
        g.id: Address(
            p.id, p.street, p.house_number, p.postal_code, p.city, gate_id=g.id, gate_label=g.label
        )
        for g, p in db.execute(
            select(m.Gate, m.Property)
            .join(m.Property, m.Property.id == m.Gate.property_id)
            .where(m.Gate.id.in_(gate_ids))
        )
    }
    residents = dict(
        db.execute(
            select(m.Citizen.dwelling_id, func.min(m.Citizen.id))
            .where(m.Citizen.dwelling_id.in_(list(dwellings)))
            .where(m.Citizen.status != e.CitizenStatus.REMOVED)
            .group_by(m.Citizen.dwelling_id)
        ).all()
    )
    views = []
    for d in doors:
        if d.dwelling_id:
            views.append(DoorView(d, dwellings.get(d.dwelling_id), residents.get(d.dwelling_id)))
        elif d.entrance_id:
            views.append(DoorView(d, entrances.get(d.entrance_id)))
        elif d.gate_id:
            views.append(DoorView(d, gates.get(d.gate_id)))
        else:
            views.append(DoorView(d, None))
    return views


def list_doors(
    db: Session,
    *,
    actor: Actor,
    kind: e.DoorKind | None = None,
    status: e.DoorStatus | None = None,
    low_battery: bool = False,
    limit: int = DEFAULT_PAGE_SIZE,
    offset: int = 0,
) -> Page[DoorView]:
    """Door devices of the actor's municipality by kind and status; ``low_battery`` keeps those
    below ``LOW_BATTERY_PCT`` per cent, weakest first."""
    scope = reach(actor, Action.READ_DOORS)
    stmt = select(m.DoorDevice).where(access_sql.doors_in(scope))
    if kind is not None:
        stmt = stmt.where(m.DoorDevice.kind == kind)
    if status is not None:
        stmt = stmt.where(m.DoorDevice.status == status)
    order: list[Any] = [m.DoorDevice.serial, m.DoorDevice.id]
    if low_battery:
        stmt = stmt.where(m.DoorDevice.battery_pct < LOW_BATTERY_PCT)
        order = [m.DoorDevice.battery_pct, *order]
    page = _page(db, stmt, order_by=order, limit=limit, offset=offset)
    return Page(_door_views(db, page.items), page.total, page.limit, page.offset)


def get_door(db: Session, *, actor: Actor, door_id: int) -> DoorView:
    """One door device: battery, firmware, last contact, clock offset, which denylist version it
    has seen against the current one, its last event, and where it sits."""
    door = get_in_scope(db, reach(actor, Action.READ_DOORS), m.DoorDevice, door_id)
    view = _door_views(db, [door])[0]
    current = db.execute(
        select(func.max(m.DenylistVersion.version)).where(
            m.DenylistVersion.municipality_id == door.municipality_id
        )
    ).scalar()
    return DoorView(view.door, view.address, view.citizen_id, int(current or 0))


# --- emergency keys ----------------------------------------------------------------------------


@dataclass(frozen=True)
class EmergencyKeyView:
    """An emergency key with the names of the people involved."""

    grant: m.EmergencyKeyGrant
    employee: m.Employee
    citizen: m.Citizen
    granted_by: m.Employee
    active: bool


def _grant_views(
    db: Session, grants: list[m.EmergencyKeyGrant], now: dt.datetime
) -> list[EmergencyKeyView]:
    people = {g.employee_id for g in grants} | {g.granted_by_employee_id for g in grants}
    employees = {
        x.id: x for x in db.execute(select(m.Employee).where(m.Employee.id.in_(people))).scalars()
    }
    citizens = {
        c.id: c
        for c in db.execute(
            select(m.Citizen).where(m.Citizen.id.in_({g.citizen_id for g in grants}))
        ).scalars()
    }
    return [
        EmergencyKeyView(
            g,
            employees[g.employee_id],
            citizens[g.citizen_id],
            employees[g.granted_by_employee_id],
            g.revoked_at is None and g.ends_at > now,
        )
        for g in grants
    ]


def list_emergency_keys(
    db: Session,
    *,
    actor: Actor,
    now: dt.datetime,
    active_only: bool = True,
    employee_id: int | None = None,
    citizen_id: int | None = None,
    limit: int = DEFAULT_PAGE_SIZE,
    offset: int = 0,
) -> Page[EmergencyKeyView]:
    """Emergency keys of the actor's municipality, newest first: those not revoked and not yet
    ended (``active_only``), or all. A district lead sees those whose employee and citizen are
    both in their districts (the grants they could have made)."""
    scope = reach(actor, Action.READ_EMERGENCY_KEYS)
    grant = m.EmergencyKeyGrant
    stmt = select(grant).where(access_sql.grants_in(scope))
    if active_only:
        stmt = stmt.where(grant.revoked_at.is_(None)).where(grant.ends_at > now)
    if employee_id is not None:
        stmt = stmt.where(grant.employee_id == employee_id)
    if citizen_id is not None:
        stmt = stmt.where(grant.citizen_id == citizen_id)
    page = _page(
        db, stmt, order_by=[grant.starts_at.desc(), grant.id.desc()], limit=limit, offset=offset
    )
    return Page(_grant_views(db, page.items, now), page.total, page.limit, page.offset)


def get_emergency_key(
    db: Session, *, actor: Actor, grant_id: int, now: dt.datetime
) -> EmergencyKeyView:
    """One emergency key with who has it, to whom, who gave it, why and until when."""
    scope = reach(actor, Action.READ_EMERGENCY_KEYS)
    grant = get_in_scope(db, scope, m.EmergencyKeyGrant, grant_id)
    return _grant_views(db, [grant], now)[0]


# --- the log of administrative actions ---------------------------------------------------------


def list_admin_actions(
    db: Session,
    *,
    actor: Actor,
    action: str | None = None,
    target_type: str | None = None,
    target_id: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    limit: int = DEFAULT_PAGE_SIZE,
    offset: int = 0,
) -> Page[m.AdminAction]:
    """The administrative actions of the actor's municipality, newest first, by action, target
    and time range (``since`` inclusive, ``until`` exclusive)."""
    reach(actor, Action.READ_ADMIN_ACTIONS)
    row = m.AdminAction
    stmt = select(row).where(row.municipality_id == actor.municipality_id)
    if action:
        stmt = stmt.where(row.action == action)
    if target_type:
        stmt = stmt.where(row.target_type == target_type)
    if target_id:
        stmt = stmt.where(row.target_id == target_id)
    if since is not None:
        stmt = stmt.where(row.at >= since)
    if until is not None:
        stmt = stmt.where(row.at < until)
    return _page(db, stmt, order_by=[row.at.desc(), row.id.desc()], limit=limit, offset=offset)
