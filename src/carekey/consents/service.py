"""Consent and permission: the two preconditions of the installation lifecycle (issue 16).

- No key is issued for a home without the citizen's recorded consent (:func:`has_consent`);
- no module work order is made for an entrance or a gate without the housing association's
  granted permission (:func:`granted_permission`).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from carekey.consents import queries as q
from carekey.domain.errors import DomainError
from carekey.store import models as m


def has_consent(db: Session, *, citizen_id: int) -> bool:
    """Whether the citizen has a recorded installation consent that is not withdrawn."""
    return q.live_consent(db, citizen_id=citizen_id) is not None


def granted_permission(
    db: Session, *, municipality_id: int, entrance_id: int | None = None, gate_id: int | None = None
) -> m.PermissionRequest | None:
    """The association's granted permission that covers this entrance (or gate), if any.

    Give exactly one of ``entrance_id`` and ``gate_id``."""
    if (entrance_id is None) == (gate_id is None):
        raise ValueError("give exactly one of entrance_id and gate_id")
    if entrance_id is not None:
        property_id = q.property_of_entrance(db, entrance_id)
    else:
        assert gate_id is not None
        property_id = q.property_of_gate(db, gate_id)
    if property_id is None:
        return None
    return q.granted_permission_for_property(
        db, municipality_id=municipality_id, property_id=property_id, gates=gate_id is not None
    )


def require_permission(
    db: Session, *, municipality_id: int, entrance_id: int | None = None, gate_id: int | None = None
) -> m.PermissionRequest:
    """The granted permission for the entrance (or gate); a clear refusal without one."""
    found = granted_permission(
        db, municipality_id=municipality_id, entrance_id=entrance_id, gate_id=gate_id
    )
    if found is None:
        raise DomainError(
            "work_order.no_permission",
            "Boligforeningen har ikke givet tilladelse til et modul her;"
            " send en anmodning om tilladelse først",
            "The housing association has not permitted a module here;"
            " send a permission request first",
        )
    return found
