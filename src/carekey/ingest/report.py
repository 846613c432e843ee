"""What the server answers to an upload: per door what was stored, duplicated and flagged (gaps,
evicted ranges, broken links, conflicts, bad signatures), and the app's own events. The JSON of
``IngestReport.to_json`` is the upload response body."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from carekey.ingest.service import UploadError


@dataclass
class DoorReport:
    """The outcome for one door. Positions index the door's events in upload order: its batch
    events first, then its receipts."""

    door_id: str
    stored: int = 0
    duplicates: int = 0
    receipts: int = 0
    gaps: list[tuple[int, int]] = field(default_factory=list)
    """Missing events no signed overflow marker explains (flagged)."""
    evicted: list[tuple[int, int]] = field(default_factory=list)
    """Missing events the door's own signed LOG_OVERFLOW marker explains (not flagged)."""
    broken_links: list[int] = field(default_factory=list)
    conflicts: list[int] = field(default_factory=list)
    bad_signatures: list[int] = field(default_factory=list)
    malformed: list[int] = field(default_factory=list)
    wrong_door: list[int] = field(default_factory=list)
    reordered: bool = False
    last_seq: int | None = None
    events_dropped: int | None = None
    """The door's ``events_dropped`` as stored after this upload (None: the door is unknown)."""
    error: UploadError | None = None

    @property
    def flagged(self) -> bool:
        """Whether anything here needs a human look."""
        return bool(
            self.gaps
            or self.broken_links
            or self.conflicts
            or self.bad_signatures
            or self.malformed
            or self.wrong_door
            or self.error
        )

    def to_json(self) -> dict[str, Any]:
        """The JSON the app receives for this door."""
        body: dict[str, Any] = {
            "door_id": self.door_id,
            "stored": self.stored,
            "duplicates": self.duplicates,
            "receipts": self.receipts,
            "last_seq": self.last_seq,
            "events_dropped": self.events_dropped,
            "evicted": [list(g) for g in self.evicted],
            "reordered": self.reordered,
            "flags": {
                "gaps": [list(g) for g in self.gaps],
                "broken_links": self.broken_links,
                "conflicts": self.conflicts,
                "bad_signatures": self.bad_signatures,
                "malformed": self.malformed,
                "wrong_door": self.wrong_door,
            },
            "error": None,
        }
        if self.error is not None:
            body["error"] = {
                "code": self.error.code,
                "message": self.error.message_da,
                "message_en": self.error.message_en,
            }
        return body


@dataclass
class AppEventsReport:
    """The outcome for the app's own events."""

    stored: int = 0
    duplicates: int = 0


@dataclass
class IngestReport:
    """What one upload did: stored, duplicates, and everything flagged."""

    doors: list[DoorReport] = field(default_factory=list)
    app_events: AppEventsReport = field(default_factory=AppEventsReport)

    @property
    def stored(self) -> int:
        """Door events stored by this upload."""
        return sum(d.stored for d in self.doors)

    @property
    def duplicates(self) -> int:
        """Door events this upload carried that were stored already (harmless)."""
        return sum(d.duplicates for d in self.doors)

    def to_json(self) -> dict[str, Any]:
        """The JSON body of the upload response."""
        return {
            "stored": self.stored,
            "duplicates": self.duplicates,
            "evicted": sum(len(d.evicted) for d in self.doors),
            "flagged": {
                "gaps": sum(len(d.gaps) for d in self.doors),
                "broken_links": sum(len(d.broken_links) for d in self.doors),
                "edits": sum(len(d.conflicts) for d in self.doors),
                "bad_signatures": sum(len(d.bad_signatures) for d in self.doors),
                "malformed": sum(len(d.malformed) + len(d.wrong_door) for d in self.doors),
                "unknown_doors": sum(1 for d in self.doors if d.error is not None),
            },
            "doors": [d.to_json() for d in self.doors],
            "app_events": {
                "stored": self.app_events.stored,
                "duplicates": self.app_events.duplicates,
            },
        }
