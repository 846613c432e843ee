"""What a phone carries of the denylist, and which pieces it gives a door that is behind.

The server signs its denylist as pieces (:func:`carekey.protocol.denylist.issue_denylist_pieces`);
the phone carries all of them. At a door whose signed status shows an older version:

- the **first request** (the one that unlocks) carries at most one piece, the one that covers the
  door's own withdrawal entry (when the whole list is one piece, that is the whole list): the door
  needs it before it accepts a proof of freshness that has seen a newer list, and one piece of
  ≤ 2.5 kB costs the unlock a few connection events, never a refusal;
- **after** the door has answered, the phone sends further pieces in the same session
  (``DENYLIST_UPDATE``), skipping the ranges the door says it already holds, up to a budget per
  session, so a door far behind catches up over a few normal visits from any phones.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Final

from carekey.protocol.denylist import DenylistPiece, door_entry_id, id_prefix

CATCH_UP_PIECES_PER_SESSION: Final = 150
"""At about 0.1 s of air per piece (30 ms connection interval), ≈ 15 s after the door opened."""


@dataclass(frozen=True, slots=True)
class CarriedDenylist:
    """The signed pieces of one denylist version, in id-prefix order."""

    version: int
    pieces: tuple[DenylistPiece, ...]

    def piece_for(self, door_id: bytes) -> DenylistPiece | None:
        """The piece covering the door's own withdrawal entry."""
        prefix = id_prefix(door_entry_id(door_id))
        return next((p for p in self.pieces if p.covers(prefix)), None)

    def first_request(self, door_id: bytes, door_version: int) -> bytes | None:
        """What rides on the first request to a door at ``door_version`` (None: nothing)."""
        if door_version >= self.version or not self.pieces:
            return None
        piece = self.piece_for(door_id)
        return None if piece is None else piece.data

    def follow_ups(
        self, door_id: bytes, held: Sequence[Sequence[int]], *, skip_first: bool
    ) -> Iterator[bytes]:
        """The other pieces, lowest range first, leaving out those inside ``held``."""
        first = self.piece_for(door_id) if skip_first else None
        for piece in self.pieces:
            if piece is first:
                continue
            if any(lo <= piece.lo and piece.hi <= hi for lo, hi, *_ in held):
                continue
            yield piece.data


def parse_held(data: object) -> list[list[int]]:
    """The ``held`` ranges from a door's answer (anything malformed counts as nothing held)."""
    if not isinstance(data, dict):
        return []
    held = data.get("held")
    if not isinstance(held, list):
        return []
    out: list[list[int]] = []
    for item in held:
        if (
            isinstance(item, list)
            and len(item) == 2
            and all(isinstance(v, int) and not isinstance(v, bool) for v in item)
        ):
            out.append([int(item[0]), int(item[1])])
    return out
