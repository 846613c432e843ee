"""Who may read and do what: the one access model of CareKey.

- ``Actor`` (``actor.py``): who is asking, with roles and districts, read once per request.
- ``Action`` and the role table (``policy.py``): which role may take which action, and how far
  its reach goes (the whole municipality, or the actor's own districts). It encodes
  ``docs/access.md``.
- ``Scope`` and its SQL conditions (``queries.py``): the rows an actor may touch for an action,
  as conditions every list and every object look-up uses, so that a list and the action on one
  of its items can never disagree.

Use it as ``scope = reach(actor, Action.BLOCK_STAFF)`` and then
``get_in_scope(db, scope, m.Employee, employee_id)`` or ``.where(employees_in(scope))``.
"""

from carekey.access.actor import Actor
from carekey.access.installation_queries import (
    consents_in,
    get_installation_object,
    permission_requests_in,
    work_orders_in,
)
from carekey.access.policy import (
    KEY_HOLDING_ROLES,
    Action,
    Reach,
    allowed,
    assignable_roles,
    reach,
    require,
)
from carekey.access.queries import (
    citizens_in,
    district_ids_of,
    districts_in,
    door_ids_on_the_way_to,
    doors_in,
    employees_in,
    get_in_scope,
    grants_in,
    in_scope,
    phones_in,
)
from carekey.access.scope import Scope

__all__ = [
    "KEY_HOLDING_ROLES",
    "Action",
    "Actor",
    "Reach",
    "Scope",
    "allowed",
    "assignable_roles",
    "citizens_in",
    "consents_in",
    "district_ids_of",
    "districts_in",
    "door_ids_on_the_way_to",
    "doors_in",
    "employees_in",
    "get_in_scope",
    "get_installation_object",
    "grants_in",
    "in_scope",
    "permission_requests_in",
    "phones_in",
    "reach",
    "require",
    "work_orders_in",
]
