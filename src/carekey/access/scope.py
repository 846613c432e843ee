"""How far an actor reaches for one action."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scope:
    """The part of one municipality an action may touch.

    ``district_ids`` is ``None`` for the whole municipality, otherwise the districts whose
    employees, phones, citizens and doors are in reach. ``exclude_role_holders`` keeps employees
    with any of these roles out of reach (a district lead may not block an administrator).
    ``actor_employee_id`` is who acts, for rules about oneself.
    """

    municipality_id: int
    district_ids: frozenset[int] | None
    actor_employee_id: int
    exclude_administrators: bool = False
    # Set for the user of a housing association or a partner company: the scope is that
    # organisation's, and never reaches the municipality's staff, citizens or home doors.
    association_id: int | None = None
    company_id: int | None = None
    # Set for an installer: only the work orders assigned to the actor, and the doors and
    # places of those orders (issue 16); never the municipality's staff, citizens or logs.
    assigned_only: bool = False

    @property
    def organisation(self) -> bool:
        """Whether the scope is a housing association's or a partner company's."""
        return self.association_id is not None or self.company_id is not None

    @property
    def restricted(self) -> bool:
        """Whether the scope is narrower than any district: another party's, or an
        installer's own orders. Every condition on the municipality's own rows is false."""
        return self.organisation or self.assigned_only

    @property
    def whole_municipality(self) -> bool:
        """Whether the scope covers every district of the municipality."""
        return self.district_ids is None and not self.restricted
