"""The role table: which role may take which action, and how far its reach goes.

This is ``docs/access.md`` as data. Nothing else in CareKey decides by role; every use case asks
``reach(actor, action)`` and applies the scope it gets to its SQL (``access.queries``).
"""

from __future__ import annotations

from enum import Enum, StrEnum
from typing import Final

from carekey.access.actor import Actor
from carekey.access.scope import Scope
from carekey.domain.enums import Role
from carekey.domain.errors import forbidden


class Action(StrEnum):
    """Everything an office actor can ask for."""

    READ_STAFF = "staff.read"  # employees and phones
    MANAGE_STAFF = "staff.manage"  # create and edit employees, import staff
    MANAGE_PHONES = "phones.manage"  # register and edit phones, enrolment codes
    BLOCK_STAFF = "staff.block"  # block or unblock an employee or a phone
    READ_DISTRICTS = "districts.read"
    MANAGE_DISTRICTS = "districts.manage"
    READ_CITIZENS = "citizens.read"
    MANAGE_CITIZENS = "citizens.manage"  # add a citizen, edit one
    REMOVE_CITIZEN = "citizens.remove"  # remove or restore an address
    READ_DOORS = "doors.read"
    READ_DASHBOARD = "dashboard.read"
    READ_EMERGENCY_KEYS = "emergency_keys.read"
    GRANT_EMERGENCY_KEY = "emergency_keys.grant"  # grant and revoke
    READ_AUDIT = "audit.read"  # the door and key log, "who was in this home"
    EXPORT_AUDIT = "audit.export"  # CSV / Excel
    READ_ADMIN_ACTIONS = "admin_actions.read"
    MANAGE_ISSUER_KEYS = "issuer_keys.manage"


class Reach(Enum):
    """How far a role's permission for an action goes inside its own municipality."""

    MUNICIPALITY = "municipality"
    OWN_DISTRICTS = "own_districts"
    # Own districts, and never an employee who is an administrator (a district lead may not
    # block or edit the people who run the system).
    OWN_DISTRICTS_NOT_ADMINISTRATORS = "own_districts_not_administrators"


_M, _D, _DX = Reach.MUNICIPALITY, Reach.OWN_DISTRICTS, Reach.OWN_DISTRICTS_NOT_ADMINISTRATORS

# Office roles only: care workers and installers act through the key app, never here.
ROLE_TABLE: Final[dict[Role, dict[Action, Reach]]] = {
    Role.ADMINISTRATOR: dict.fromkeys(Action, _M),
    Role.DISTRICT_LEAD: {
        Action.READ_STAFF: _D,
        # Employees of their own districts, never an administrator, and only the care-worker
        # role to give (``assignable_roles``).
        Action.MANAGE_STAFF: _DX,
        Action.BLOCK_STAFF: _DX,
        Action.READ_DISTRICTS: _D,
        Action.READ_CITIZENS: _D,
        Action.MANAGE_CITIZENS: _D,
        Action.REMOVE_CITIZEN: _D,
        Action.READ_DOORS: _D,
        Action.READ_DASHBOARD: _D,
        Action.READ_EMERGENCY_KEYS: _D,
        # Only when the citizen *and* the employee are in the lead's own districts
        # (``access.queries.grants_in``, ``emergency_keys.service``).
        Action.GRANT_EMERGENCY_KEY: _D,
        Action.READ_AUDIT: _D,
        Action.EXPORT_AUDIT: _D,
    },
    Role.AUDITOR: {
        Action.READ_STAFF: _M,
        Action.READ_DISTRICTS: _M,
        Action.READ_CITIZENS: _M,
        Action.READ_DOORS: _M,
        Action.READ_DASHBOARD: _M,
        Action.READ_EMERGENCY_KEYS: _M,
        Action.READ_AUDIT: _M,
        Action.EXPORT_AUDIT: _M,
        Action.READ_ADMIN_ACTIONS: _M,
    },
}

OFFICE_ROLES: Final = frozenset(ROLE_TABLE)


def _reach_of(actor: Actor, action: Action) -> Reach | None:
    reaches = {ROLE_TABLE.get(role, {}).get(action) for role in actor.roles} - {None}
    for widest in (_M, _D, _DX):
        if widest in reaches:
            return widest
    return None


def allowed(actor: Actor, action: Action) -> bool:
    """Whether any of the actor's roles allows ``action`` at all (for showing a button)."""
    return _reach_of(actor, action) is not None


def require(actor: Actor, action: Action) -> None:
    """Refuse (403) unless one of the actor's roles allows ``action``."""
    if not allowed(actor, action):
        raise forbidden()


def reach(actor: Actor, action: Action) -> Scope:
    """The scope in which ``actor`` may take ``action``; 403 if no role allows it."""
    found = _reach_of(actor, action)
    if found is None:
        raise forbidden()
    return Scope(
        municipality_id=actor.municipality_id,
        district_ids=None if found is _M else actor.district_ids,
        actor_employee_id=actor.employee_id,
        exclude_administrators=found is _DX,
    )


# The roles an actor may give or take away when creating or editing an employee.
_ASSIGNABLE: Final[dict[Reach, frozenset[Role]]] = {
    _M: frozenset(Role),
    _D: frozenset({Role.CARE_WORKER}),
    _DX: frozenset({Role.CARE_WORKER}),
}

# Who may hold a key to a citizen's home through an emergency grant (ROLES.md, "Keys").
KEY_HOLDING_ROLES: Final = frozenset({Role.CARE_WORKER})


def assignable_roles(actor: Actor) -> frozenset[Role]:
    """The roles ``actor`` may give or take away (a district lead: care worker only)."""
    found = _reach_of(actor, Action.MANAGE_STAFF)
    return _ASSIGNABLE[found] if found is not None else frozenset()
