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
    # Another person's sign-in (issue 18): a one-time password or a set-password link, a lost
    # authenticator reset (with a reason). One's own password needs no action: any signed-in user.
    MANAGE_ACCOUNTS = "accounts.manage"
    MANAGE_JOB_TITLES = "job_titles.manage"  # the import's table of job titles to roles
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
    # Housing associations and partner companies (issue 15).
    READ_ORGANISATIONS = "organisations.read"  # associations and companies, their users
    MANAGE_ORGANISATIONS = "organisations.manage"  # register, approve, block; first users
    READ_PROPERTIES = "properties.read"  # properties, entrances, gates, modules fitted
    ANSWER_PERMISSION = "permissions.answer"  # the municipality's request for a module
    READ_AGREEMENTS = "agreements.read"
    MANAGE_AGREEMENTS = "agreements.manage"  # make, change, end; block a company
    READ_PARTNER_LOG = "partner_log.read"  # partner openings (never home care)
    MANAGE_PARTNER_STAFF = "partner_staff.manage"  # workers, phones, enrolment, block
    REQUEST_ERRAND = "errands.request"  # a one-off delivery to a named resident
    # The installation lifecycle (issue 16).
    READ_INSTALLATIONS = "installations.read"  # consents, permissions, work orders, timelines
    MANAGE_CONSENT = "consent.manage"  # record and withdraw a citizen's consent
    REQUEST_PERMISSION = "permissions.request"  # ask an association, remind it
    MANAGE_WORK_ORDERS = "work_orders.manage"  # create, assign, schedule, cancel
    SIGN_OFF_WORK_ORDERS = "work_orders.sign_off"  # the office's check of a done order
    WORK_ON_ORDERS = "work_orders.work"  # the installer's side: start, checklist, done
    COMMISSION_DOORS = "doors.commission"  # commission and decommission at the door
    READ_COSTS = "costs.read"  # what the municipality has paid, CSV and Excel
    # Signed webhooks (issue 17, docs/webhooks.md).
    READ_WEBHOOKS = "webhooks.read"  # subscriptions and the delivery log
    MANAGE_WEBHOOKS = "webhooks.manage"  # create, rotate, disable, delete; replay a delivery
    # The right of access, GDPR art. 15 (issue 19, docs/access-report.md): a citizen's report of
    # who entered the home, and an employee's own data. Making one is an administrative act
    # (it hands personal data to the person asking), logged; the auditor reads that log.
    PRIVACY_ACCESS_REPORT = "privacy.access_report"  # a citizen's report (home lock, keys)
    PRIVACY_EMPLOYEE_REPORT = "privacy.employee_report"  # everything held about one employee


class Reach(Enum):
    """How far a role's permission for an action goes inside its own municipality."""

    MUNICIPALITY = "municipality"
    OWN_DISTRICTS = "own_districts"
    # Own districts, and never an employee who is an administrator (a district lead may not
    # block or edit the people who run the system).
    OWN_DISTRICTS_NOT_ADMINISTRATORS = "own_districts_not_administrators"
    # The actor's own housing association or partner company, inside their municipality.
    OWN_ASSOCIATION = "own_association"
    OWN_COMPANY = "own_company"
    # The work orders assigned to the actor (an installer), and their doors.
    ASSIGNED_ORDERS = "assigned_orders"


_M, _D, _DX = Reach.MUNICIPALITY, Reach.OWN_DISTRICTS, Reach.OWN_DISTRICTS_NOT_ADMINISTRATORS
_A, _C = Reach.OWN_ASSOCIATION, Reach.OWN_COMPANY
_I = Reach.ASSIGNED_ORDERS

# The actions of the municipality's own office roles (never the other parties').
_MUNICIPAL: Final = frozenset(
    a
    for a in Action
    if a
    not in {
        Action.ANSWER_PERMISSION,
        Action.MANAGE_AGREEMENTS,
        Action.MANAGE_PARTNER_STAFF,
        Action.REQUEST_ERRAND,
        # The work at the door is the installer's; the office signs it off (two people).
        Action.WORK_ON_ORDERS,
        Action.COMMISSION_DOORS,
    }
)

# Office roles only: care workers act through the key app, never here. Installers sign in to
# the administration too, to see and report their own orders (issue 16).
ROLE_TABLE: Final[dict[Role, dict[Action, Reach]]] = {
    # The municipality sees agreements and partner openings and registers the organisations,
    # but the agreements are the association's, the staff the company's.
    Role.ADMINISTRATOR: dict.fromkeys(_MUNICIPAL, _M),
    Role.DISTRICT_LEAD: {
        Action.READ_STAFF: _D,
        # Employees of their own districts, never an administrator, and only the care-worker
        # role to give (``assignable_roles``).
        Action.MANAGE_STAFF: _DX,
        Action.BLOCK_STAFF: _DX,
        Action.MANAGE_ACCOUNTS: _DX,
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
        # Their districts' installations: consent, orders and their costs (issue 16).
        Action.READ_INSTALLATIONS: _D,
        Action.MANAGE_CONSENT: _D,
        Action.MANAGE_WORK_ORDERS: _D,
        Action.READ_COSTS: _D,
        # A citizen of their own districts: the report covers only that home's lock, which is
        # in the lead's reach already. Never an employee's whole export (it spans every
        # district's doors and the administration's log): administrators only.
        Action.PRIVACY_ACCESS_REPORT: _D,
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
        Action.READ_ORGANISATIONS: _M,
        Action.READ_PROPERTIES: _M,
        Action.READ_AGREEMENTS: _M,
        Action.READ_PARTNER_LOG: _M,
        Action.READ_INSTALLATIONS: _M,
        Action.READ_COSTS: _M,
        Action.READ_WEBHOOKS: _M,
    },
    # An installer (the municipality's own, or a supplier's fitter with a municipal login):
    # the orders assigned to them, and the doors of those orders, nothing else.
    Role.INSTALLER: {
        Action.READ_INSTALLATIONS: _I,
        Action.WORK_ON_ORDERS: _I,
        Action.COMMISSION_DOORS: _I,
    },
    # A housing association's user: its own properties, agreements and partner log; home care
    # at most as an anonymous count (docs/access.md, "What an association sees").
    Role.ASSOCIATION_USER: {
        Action.READ_ORGANISATIONS: _A,
        Action.READ_PROPERTIES: _A,
        Action.ANSWER_PERMISSION: _A,
        # The module orders on its own properties (never a home's).
        Action.READ_INSTALLATIONS: _A,
        Action.READ_AGREEMENTS: _A,
        Action.MANAGE_AGREEMENTS: _A,
        Action.READ_PARTNER_LOG: _A,
        # The association's own webhook subscriptions (its entrances' and gates' events).
        Action.READ_WEBHOOKS: _A,
        Action.MANAGE_WEBHOOKS: _A,
    },
    # A partner company's administrator: its own staff and phones, agreements, openings.
    Role.PARTNER_ADMIN: {
        Action.READ_ORGANISATIONS: _C,
        Action.READ_AGREEMENTS: _C,
        Action.READ_PARTNER_LOG: _C,
        Action.MANAGE_PARTNER_STAFF: _C,
        Action.REQUEST_ERRAND: _C,
    },
}

OFFICE_ROLES: Final = frozenset(ROLE_TABLE)

# The roles of the other parties' people; such a person holds no other role.
ORGANISATION_ROLES: Final = frozenset(
    {Role.ASSOCIATION_USER, Role.PARTNER_ADMIN, Role.PARTNER_WORKER}
)
ASSOCIATION_ROLES: Final = frozenset({Role.ASSOCIATION_USER})
COMPANY_ROLES: Final = frozenset({Role.PARTNER_ADMIN, Role.PARTNER_WORKER})


def _reach_of(actor: Actor, action: Action) -> Reach | None:
    reaches = {ROLE_TABLE.get(role, {}).get(action) for role in actor.roles} - {None}
    for widest in (_M, _D, _DX, _A, _C, _I):
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
    if (found is _A and actor.association_id is None) or (found is _C and actor.company_id is None):
        raise forbidden()
    return Scope(
        municipality_id=actor.municipality_id,
        district_ids=None if found in (_M, _A, _C, _I) else actor.district_ids,
        actor_employee_id=actor.employee_id,
        exclude_administrators=found is _DX,
        association_id=actor.association_id if found is _A else None,
        company_id=actor.company_id if found is _C else None,
        assigned_only=found is _I,
    )


# The roles an actor may give or take away when creating or editing an employee.
_ASSIGNABLE: Final[dict[Reach, frozenset[Role]]] = {
    _M: frozenset(Role),
    _D: frozenset({Role.CARE_WORKER}),
    _DX: frozenset({Role.CARE_WORKER}),
}
_ASSIGNABLE[_M] = frozenset(Role) - ORGANISATION_ROLES

# Who may hold a key to a citizen's home through an emergency grant (ROLES.md, "Keys").
KEY_HOLDING_ROLES: Final = frozenset({Role.CARE_WORKER})


def assignable_roles(actor: Actor) -> frozenset[Role]:
    """The roles ``actor`` may give or take away (a district lead: care worker only)."""
    found = _reach_of(actor, Action.MANAGE_STAFF)
    return _ASSIGNABLE[found] if found is not None else frozenset()
