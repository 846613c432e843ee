"""Collecting a door's signed log on a visit: READ_EVENTS pages after the door has answered.

The door keeps its last 256 signed events in a ring (:mod:`carekey.devices.flash`); the server
sees them only when a phone carries them. So the key app reads the log on **every** visit, in
the same session, *after* the door's answer to the unlock or lock (the bolt has moved and the
receipt is in hand before the first page is asked for):

- it starts at ``from_seq``: one past the highest seq the server had from the door when the
  keys were issued (the bundle's ``last_seq``) or this phone has read itself, whichever is
  later, so a phone never skips events that nobody has delivered;
- each page asks for up to :data:`LOG_PAGE_LIMIT` events from the next seq on; the door fills
  a page up to :data:`~carekey.devices.flash.EVENTS_PER_READ_BUDGET` (3,000 bytes, ≈ 16 events
  of ≈ 180 bytes) and says where its ring begins and ends (``first_seq``, ``next_seq``) and how
  many events its ring has evicted (``events_dropped``);
- the next page starts after the last event returned; the reading stops when the door has
  nothing more, after :data:`LOG_PAGES_PER_VISIT` pages, on a refusal (``not_permitted``: a
  partner's key may not read a log) or when the link fails. What was read until then is kept;
  nothing of it makes the visit fail.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

LOG_PAGES_PER_VISIT: Final = 4
"""Pages read per door session: ≈ 64 events, ≈ 12 kB from the door.

A page of ≈ 3,000 bytes is 13 notifications at the default ATT MTU of 247, four connection
events at four packets per event, plus one for the request: ≈ 150 ms of modelled air at a
30 ms connection interval (``BluetoothLink``), so four pages keep the phone ≈ 0.6 s longer at
the door, after the bolt has moved. A visit is two sessions (unlock on arrival, lock when
leaving) and a door logs a handful of events per visit, so this reads the day's log many times
over; a full ring of 256 events (16 pages) that nobody has collected is read within two visits.
"""

LOG_PAGE_LIMIT: Final = 256
"""Events asked for per page (the ring's size): the door's byte budget is what ends a page."""


@dataclass(frozen=True, slots=True)
class LogRead:
    """What one session collected of a door's log (each event verified with the door's key)."""

    from_seq: int
    events: tuple[bytes, ...] = ()
    seqs: tuple[int, ...] = ()
    """The seq of each event, in the same order."""
    pages: int = 0
    """Pages the door answered (refused or failed ones not counted)."""
    first_seq: int | None = None
    """The lowest seq the door's ring still holds, from the last page (unsigned)."""
    next_seq: int | None = None
    """The seq the door will give its next event, from the last page (unsigned)."""
    events_dropped: int | None = None
    """How many events the door's ring has evicted, from the last page (unsigned)."""
    refused: str | None = None
    """The door's refusal code, when it would not let this key read (e.g. ``not_permitted``)."""
    link_failed: bool = False
    """The link failed during the reading (what came before it is kept)."""

    @property
    def highest_seq(self) -> int | None:
        """The highest seq read, if any."""
        return max(self.seqs, default=None)

    @property
    def complete(self) -> bool:
        """The reading reached the end of the door's log."""
        if self.refused is not None or self.link_failed or self.next_seq is None:
            return False
        top = self.highest_seq
        return (top if top is not None else self.from_seq - 1) + 1 >= self.next_seq


def page_int(value: object) -> int | None:
    """A non-negative integer from a page's metadata, else None (garbled values are ignored)."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None
