"""Partial changes: which fields a change request leaves alone, and what it really changed."""

from __future__ import annotations

from enum import Enum
from typing import Any


class Unset(Enum):
    """The value of a field a change request leaves alone (``None`` may be a real value)."""

    UNSET = "unset"


UNSET = Unset.UNSET


def note_change(changes: dict[str, Any], name: str, old: Any, new: Any) -> bool:
    """Whether ``old`` and ``new`` differ; if so, ``changes[name]`` says from what to what (the
    details of the administrative action that records the change)."""
    if old == new:
        return False
    changes[name] = {"from": old, "to": new}
    return True
