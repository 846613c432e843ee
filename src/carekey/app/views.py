"""What the key app shows: the doors of the day, the outcome of a tap at a door and the top of
the screen (:class:`~carekey.app.service.KeyApp` returns these; the CLI, the TUI and the
simulation print them)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from carekey.clock import local


@dataclass(frozen=True)
class DoorView:
    """One door as the employee sees it."""

    door_id: str
    kind: str  # home_lock, entrance_controller, gate_controller
    label: str
    citizen_name: str
    address: str
    emergency: bool = False


@dataclass(frozen=True)
class VisitOutcome:
    """The result of tapping open or lock, with a message for people."""

    ok: bool
    code: str
    message_da: str
    message_en: str
    state: str | None = None

    def message(self, lang: str = "da") -> str:
        """The message in ``lang``."""
        return self.message_en if lang == "en" else self.message_da


@dataclass(frozen=True)
class PendingLogin:
    """A login the server accepted: the keys wait in memory for the personal code."""

    employee_number: str
    bundle: dict[str, Any] = field(repr=False)

    @property
    def door_count(self) -> int:
        """How many doors the keys open."""
        return len(self.bundle.get("doors", []))


@dataclass(frozen=True)
class AppStatus:
    """What the top of the screen shows."""

    enrolled: bool
    keys_present: bool
    unlocked: bool
    keys_valid_until: dt.datetime | None
    online: bool | None  # None: unknown (no answer yet, or none recently)
    pending_uploads: int
    employee_number: str | None
    wrong_codes: int
    freshness_expires_at: dt.datetime | None = None  # when the proof of freshness runs out
    freshness_warning: bool = False  # less than policy.freshness_warn_s left, or run out
    freshness_expired: bool = False  # run out by the phone's clock (or never had one)
    last_answer_at: dt.datetime | None = None  # the server's last answer to this phone

    def last_answer_local(self) -> str | None:
        """'HH:MM' (Europe/Copenhagen) of the server's last answer."""
        if self.last_answer_at is None:
            return None
        return local(self.last_answer_at).strftime("%H:%M")

    def valid_until_local(self) -> str | None:
        """'HH:MM' in Europe/Copenhagen."""
        if self.keys_valid_until is None:
            return None
        return local(self.keys_valid_until).strftime("%H:%M")

    def freshness_until_local(self) -> str | None:
        """'HH:MM' (Europe/Copenhagen) when the proof of freshness runs out."""
        if self.freshness_expires_at is None:
            return None
        return local(self.freshness_expires_at).strftime("%H:%M")
