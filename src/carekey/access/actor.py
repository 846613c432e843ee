"""The authenticated person behind a request."""

from __future__ import annotations

from dataclasses import dataclass, field

from carekey.domain.enums import Role


@dataclass(frozen=True)
class Actor:
    """An authenticated person: their municipality, roles and districts (a municipal
    employee), or their housing association or partner company.

    Built once per request from the database (a block or a role change takes effect on the next
    request). ``district_ids`` are the districts the employee belongs to; they bound a district
    lead's reach.
    """

    employee_id: int
    municipality_id: int
    roles: frozenset[Role]
    label: str
    district_ids: frozenset[int] = field(default_factory=frozenset)
    # The user of a housing association or a partner company (issue 15): their organisation.
    # Such an actor has only that organisation's role and reaches only its data.
    association_id: int | None = None
    company_id: int | None = None

    def has(self, *roles: Role) -> bool:
        """Whether the actor holds one of ``roles``."""
        return bool(self.roles.intersection(roles))
