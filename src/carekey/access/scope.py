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

    @property
    def whole_municipality(self) -> bool:
        """Whether the scope covers every district of the municipality."""
        return self.district_ids is None
