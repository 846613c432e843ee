"""The door list on a small screen: a search as you type, and columns that fit the width.

Used by the terminal UI (:mod:`carekey.app.tui`); pure functions, so they are tested alone too.

**Search.** Every word of the query must be found (in any order) in the citizen's name, the
address, the door's kind or its id. Case does not matter (``"ÆBLEHAVEN"`` finds
``"Æblehaven"``), composed and decomposed letters are the same (NFC), and the old spelling
``aa`` finds ``å`` and back (``"Aabenraa"`` finds ``"Åbenrå"``), as Danish addresses are
written both ways.

**Columns.** On a wide screen each column is as wide as its widest cell. When they do not fit,
the door's kind and id keep their width (an id is never broken), the citizen's name gets at
most :data:`NAME_WIDTH` cells and the address the rest; names and addresses then wrap onto a
second line instead of running off the screen.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import Final

NAME_WIDTH: Final = 16
"""The citizen's column on a narrow screen (a longer name wraps)."""
CELL_PADDING: Final = 2
"""What the table adds around every cell (one space either side)."""
MIN_ADDRESS: Final = 12


def search_key(text: str) -> str:
    """``text`` in the form searches compare: NFC, case folded, ``å`` spelt ``aa`` (so a
    half-typed ``"Aabenr"`` already finds ``"Åbenrå"``)."""
    return unicodedata.normalize("NFC", text).casefold().replace("å", "aa")


def matches(query: str, *fields: str) -> bool:
    """Whether every word of ``query`` is found in one of ``fields`` (an empty query: all)."""
    haystack = " ".join(search_key(f) for f in fields)
    return all(word in haystack for word in search_key(query).split())


def column_widths(available: int, rows: Sequence[Sequence[str]]) -> list[int | None]:
    """Widths for the columns (citizen, address, kind, door id) of ``rows`` within
    ``available`` cells (the table's width inside its scroll bar), ``None`` where a column may
    take its natural width (everything fits)."""
    natural = [
        max((len(line) for r in rows for line in r[i].split("\n")), default=0) for i in range(4)
    ]
    padding = CELL_PADDING * 4
    if sum(natural) + padding <= available:
        return [None, None, None, None]
    kind, door_id = natural[2], natural[3]
    rest = available - padding - kind - door_id
    name = min(natural[0], NAME_WIDTH, max(rest - MIN_ADDRESS, 6))
    address = max(rest - name, MIN_ADDRESS)
    return [name, address, kind, door_id]


__all__ = ["CELL_PADDING", "NAME_WIDTH", "column_widths", "matches", "search_key"]
