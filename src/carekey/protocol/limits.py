"""The value ranges every signed object shares, narrowed to what a door can represent.

Times are whole seconds since the epoch (UTC) below :data:`TIME_LIMIT`, the start of year
10000: past it ``datetime`` cannot hold them, so a decoder refuses them as ``malformed`` and
the server never issues them. Denylist versions are below :data:`DENYLIST_VERSION_LIMIT`
(2**32), because the door status in every DOOR_HELLO carries the version as u32.
"""

from __future__ import annotations

from typing import Final

TIME_LIMIT: Final = 253_402_300_800
"""Seconds since the epoch of 10000-01-01T00:00:00Z: every time is ``0 <= t < TIME_LIMIT``."""
DENYLIST_VERSION_LIMIT: Final = 2**32
"""Every denylist version is ``< DENYLIST_VERSION_LIMIT`` (the door status carries a u32)."""


def is_time(value: object) -> bool:
    """Whether ``value`` is an int (not a bool) in ``0 <= value < TIME_LIMIT``."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < TIME_LIMIT
