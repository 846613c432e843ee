"""Event ingest: what a phone carries back from the doors and from its own use.

A phone uploads, in one request (one transaction):

* **door batches**: the signed events it read from a door's log (``READ_EVENTS``);
* **receipts**: the signed events doors handed it for its own operations (the same bytes a door
  logs, so they are merged into that door's batch; a receipt the door's own upload lacks shows
  up as a stored event before the door's log catches up, never as a lost one);
* **app events**: logins, logouts, doors refused before a session, wipes, each with a
  client-made idempotency key.

Each door's events are verified with ``verify_chain`` against the door's public key, anchored at
the last event stored for that door, so continuity is checked across uploads. Each event is
stored once (``(door_device_id, door_seq)`` is unique); the same event again is a harmless
duplicate, a *different* validly signed event under a stored ``seq`` is flagged as tampering and
never replaces the original. ``chain_gap`` on a stored event means "the event before it is
missing"; ``chain_broken`` means "its ``prev_hash`` does not match the event before it" (or a
conflicting version of it was uploaded). A gap that a later upload fills is cleared then, since
late delivery through another phone is normal and not tampering.

**Gaps the door explains.** A door's ring keeps its last 256 events; what it evicts is a gap in
``seq`` for ever (:mod:`carekey.devices.flash`). The first eviction of an *overflow episode*
puts a signed LOG_OVERFLOW marker into the chain *before* the events it evicts are gone, so the
marker's seq is above every event that episode evicts at its start; later evictions in the same
episode take the oldest events left (before or, once the ring has rolled past the pinned marker,
after it), and the episode ends when a READ_EVENTS page returns the marker, after which the next
eviction starts a new episode with a new marker above everything the old one evicted. Hence the
rule: **a gap whose missing events all lie below a stored, validly signed LOG_OVERFLOW marker of
the door is explained by eviction** (``DoorReport.evicted``); a gap above the door's last stored
marker stays an unexplained gap (``DoorReport.gaps``, flagged) until a later marker arrives. The
event after a gap keeps ``chain_gap`` either way (the event before it *is* missing); whether the
gap is explained follows from the stored marker rows (:func:`explained_by_eviction`; the
audit log shows it as ``chain_evicted``, so a later marker explains an earlier gap too).

``first_seq``, ``next_seq`` and ``events_dropped`` of a door batch are what the door's page
said of its ring, but they are not signed: a phone could make them up. They are information
only: ``events_dropped`` raises ``door_device.events_dropped`` (never lowers it, and never past
the highest seq the door has signed) and is shown in the administration, but it never turns an
unexplained gap into an explained one. A phone that withholds events below a marker is not
told apart from an eviction (the server cannot know what the ring held); what it cannot do is
hide events where the door has not said it overflowed.

Bulk by design (issue 4 asks ≥ 10,000 events/s): one ``INSERT`` executemany per door batch, a
handful of queries per door whatever the batch size, no ORM object per event.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from sqlalchemy.orm import Session

from carekey.domain import enums as e
from carekey.domain.errors import DomainError
from carekey.ingest import queries
from carekey.ingest.report import AppEventsReport, DoorReport, IngestReport
from carekey.keyservice.app_session import AppSession
from carekey.protocol.errors import ProtocolError
from carekey.protocol.events import (
    GENESIS_HASH,
    ChainAnchor,
    Event,
    EventKind,
    decode_event,
    verify_chain_decoded,
)
from carekey.protocol.keys import DoorPublicKey, Ed25519Public
from carekey.store import models as m
from carekey.webhooks import service as webhooks
from carekey.workorders.service import order_battery_service

log = logging.getLogger(__name__)

MAX_EVENTS_PER_UPLOAD: Final = 5_000  # door events and receipts together
MAX_UPLOAD_EVENT_BYTES: Final = 1_024  # per signed event (the protocol's own limit is 512)
MAX_DOORS_PER_UPLOAD: Final = 1_000
MAX_APP_EVENTS_PER_UPLOAD: Final = 1_000
MAX_IDEMPOTENCY_KEY: Final = 48  # stored as "<phone id>:<key>" in a 64-character column
MAX_REASON: Final = 64
MAX_DOOR_COUNTER: Final = 2**53 - 1  # first_seq, next_seq, events_dropped of a door batch
_EXACT_GAPS: Final = 100  # gaps per door whose lower end is looked up exactly


class UploadError(DomainError):
    """The upload as a whole is unusable (too big, not base64, ...); nothing is written."""


def too_many(what: str, limit: int) -> UploadError:
    """The standard refusal for an upload over one of the hard limits."""
    return UploadError(
        f"ingest.too_many_{what}",
        f"Upload indeholder for mange ({what}); højst {limit:,} pr. upload".replace(",", "."),
        f"The upload holds too many {what}; at most {limit:,} per upload",
    )


# --- what the phone sends ----------------------------------------------------------------------


class AppEventKind(StrEnum):
    """What the key app itself reports."""

    LOGIN = "login"
    LOGOUT = "logout"
    REFUSED = "refused"  # the app could not or would not open a door (before a door session)
    WIPED = "wiped"


_APP_ACTION: Final[dict[AppEventKind, tuple[e.AuditAction, str | None]]] = {
    AppEventKind.LOGIN: (e.AuditAction.LOGIN, None),
    AppEventKind.LOGOUT: (e.AuditAction.LOGOUT, None),
    AppEventKind.REFUSED: (e.AuditAction.REFUSED, None),
    AppEventKind.WIPED: (e.AuditAction.WIPED, None),
}

_DOOR_ACTION: Final[dict[EventKind, tuple[e.AuditAction, str | None]]] = {
    EventKind.UNLOCKED: (e.AuditAction.UNLOCKED, None),
    EventKind.LOCKED: (e.AuditAction.LOCKED, None),
    EventKind.REFUSED: (e.AuditAction.REFUSED, None),
    EventKind.MANUAL_TURN: (e.AuditAction.MANUAL_TURN, None),
    EventKind.JAMMED: (e.AuditAction.JAMMED, None),
    EventKind.LOW_BATTERY: (e.AuditAction.LOW_BATTERY, None),
    EventKind.POWER_LOSS: (e.AuditAction.POWER_LOSS, None),
    EventKind.TIME_SET: (e.AuditAction.TIME_SET, None),
    EventKind.DENYLIST_UPDATED: (e.AuditAction.DENYLIST_UPDATED, None),
    EventKind.CONFIG_CHANGED: (e.AuditAction.CONFIGURED, None),
    EventKind.LOG_OVERFLOW: (e.AuditAction.LOG_OVERFLOW, None),
    EventKind.RELAY_PULSE: (e.AuditAction.RELAY_PULSED, None),
    EventKind.POWER_RESTORED: (e.AuditAction.POWER_RESTORED, None),
    EventKind.AUTO_RELOCKED: (e.AuditAction.AUTO_RELOCKED, None),
    EventKind.RATE_LIMITED: (e.AuditAction.RATE_LIMITED, None),
    EventKind.FORCED_OPEN: (e.AuditAction.FORCED_OPEN, None),
    EventKind.DOOR_AJAR: (e.AuditAction.DOOR_AJAR, None),
    EventKind.DOOR_CLOSED: (e.AuditAction.DOOR_CLOSED, None),
    EventKind.DECOMMISSIONED: (e.AuditAction.CONFIGURED, "decommissioned"),
}


@dataclass(frozen=True, slots=True)
class DoorBatch:
    """Signed events a phone read from one door; ``door_id`` is the door's serial.

    ``first_seq``, ``next_seq`` and ``events_dropped`` are the door's page metadata as the
    phone reports it (unsigned, optional: information only, see the module docstring)."""

    door_id: str
    events: Sequence[bytes]
    first_seq: int | None = None
    next_seq: int | None = None
    events_dropped: int | None = None


@dataclass(frozen=True, slots=True)
class Receipt:
    """A signed event a door gave the phone for one of its own operations."""

    door_id: str
    event: bytes


@dataclass(frozen=True, slots=True)
class AppEvent:
    """Something the key app reports about itself, stored once per ``idempotency_key``."""

    idempotency_key: str
    kind: AppEventKind
    occurred_at: dt.datetime
    door_id: str | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Upload:
    """Everything one upload request carries."""

    doors: Sequence[DoorBatch] = ()
    receipts: Sequence[Receipt] = ()
    app_events: Sequence[AppEvent] = ()


# --- the use case ------------------------------------------------------------------------------


def check_upload(upload: Upload) -> None:
    """Refuse an upload over the hard limits before anything is read or written."""
    events = sum(len(b.events) for b in upload.doors) + len(upload.receipts)
    if events > MAX_EVENTS_PER_UPLOAD:
        raise too_many("events", MAX_EVENTS_PER_UPLOAD)
    doors = {b.door_id for b in upload.doors} | {r.door_id for r in upload.receipts}
    if len(doors) > MAX_DOORS_PER_UPLOAD:
        raise too_many("doors", MAX_DOORS_PER_UPLOAD)
    if len(upload.app_events) > MAX_APP_EVENTS_PER_UPLOAD:
        raise too_many("app_events", MAX_APP_EVENTS_PER_UPLOAD)
    for batch in upload.doors:
        for name in ("first_seq", "next_seq", "events_dropped"):
            value = getattr(batch, name)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int):
                value = -1
            if not 0 <= value <= MAX_DOOR_COUNTER:
                raise UploadError(
                    "ingest.bad_counter",
                    f"{name} skal være et helt tal 0-{MAX_DOOR_COUNTER}",
                    f"{name} must be a whole number 0-{MAX_DOOR_COUNTER}",
                )
    raws = [raw for b in upload.doors for raw in b.events] + [r.event for r in upload.receipts]
    if any(len(raw) > MAX_UPLOAD_EVENT_BYTES for raw in raws):
        raise UploadError(
            "ingest.event_too_large",
            f"En hændelse er større end {MAX_UPLOAD_EVENT_BYTES} byte",
            f"An event is larger than {MAX_UPLOAD_EVENT_BYTES} bytes",
        )
    for app_event in upload.app_events:
        key = app_event.idempotency_key
        if not 0 < len(key) <= MAX_IDEMPOTENCY_KEY or not key.isascii() or not key.isprintable():
            raise UploadError(
                "ingest.bad_idempotency_key",
                f"Idempotensnøglen skal være 1-{MAX_IDEMPOTENCY_KEY} ASCII-tegn",
                f"The idempotency key must be 1-{MAX_IDEMPOTENCY_KEY} ASCII characters",
            )
        if app_event.occurred_at.tzinfo is None:
            raise UploadError(
                "ingest.naive_time",
                "Tidspunktet mangler tidszone",
                "The time has no time zone",
            )
        if app_event.reason is not None and len(app_event.reason) > MAX_REASON:
            raise UploadError(
                "ingest.reason_too_long",
                f"Årsagen er længere end {MAX_REASON} tegn",
                f"The reason is longer than {MAX_REASON} characters",
            )


def ingest_upload(
    db: Session, *, session: AppSession, upload: Upload, now: dt.datetime
) -> IngestReport:
    """Verify and store one upload from a logged-in phone; return what was stored and flagged.

    Idempotent: the same upload twice stores nothing the second time. A door that is unknown in
    the phone's municipality is refused for its batch only. Runs in the caller's transaction and
    never commits; bad input as a whole (``check_upload``) raises ``UploadError`` first.
    """
    check_upload(upload)
    municipality_id = session.phone.municipality_id
    grouped: dict[str, list[bytes]] = {}
    receipt_count: dict[str, int] = {}
    dropped: dict[str, int] = {}
    for batch in upload.doors:
        grouped.setdefault(batch.door_id, []).extend(batch.events)
        if batch.events_dropped is not None:
            dropped[batch.door_id] = max(dropped.get(batch.door_id, 0), batch.events_dropped)
    for receipt in upload.receipts:
        grouped.setdefault(receipt.door_id, []).append(receipt.event)
        receipt_count[receipt.door_id] = receipt_count.get(receipt.door_id, 0) + 1

    serials = set(grouped) | {a.door_id for a in upload.app_events if a.door_id}
    doors = queries.doors_by_serial(db, municipality_id=municipality_id, serials=serials)
    who = _Attribution(db, municipality_id)
    report = IngestReport()
    for serial, raws in grouped.items():
        door = doors.get(serial)
        if door is None:
            log.warning("ingest: unknown door %r from phone %s", serial, session.phone.id)
            report.doors.append(DoorReport(serial, error=_unknown_door()))
            continue
        door_report = _ingest_door(
            db, door=door, raws=raws, who=who, now=now, events_dropped=dropped.get(serial)
        )
        door_report.receipts = receipt_count.get(serial, 0)
        report.doors.append(door_report)
    if upload.app_events:
        report.app_events = _ingest_app_events(
            db, session=session, events=upload.app_events, doors=doors, who=who, now=now
        )
    return report


def ingest_door_events(
    db: Session, *, door: m.DoorDevice, raws: Sequence[bytes], now: dt.datetime
) -> DoorReport:
    """Verify and store signed events that reached the server without a phone: an online
    controller's batch over the MQTT broker (:mod:`carekey.online`). The same checks as a
    phone's upload (the door's signature, the hash chain, duplicates are harmless); runs in the
    caller's transaction and never commits."""
    if len(raws) > MAX_EVENTS_PER_UPLOAD:
        raise too_many("events", MAX_EVENTS_PER_UPLOAD)
    if any(len(raw) > MAX_UPLOAD_EVENT_BYTES for raw in raws):
        raise UploadError(
            "ingest.event_too_large",
            f"En hændelse er større end {MAX_UPLOAD_EVENT_BYTES} byte",
            f"An event is larger than {MAX_UPLOAD_EVENT_BYTES} bytes",
        )
    who = _Attribution(db, door.municipality_id)
    return _ingest_door(db, door=door, raws=raws, who=who, now=now)


def _unknown_door() -> UploadError:
    return UploadError(
        "ingest.unknown_door",
        "Døren findes ikke i din kommune; dens hændelser er ikke gemt",
        "The door does not exist in your municipality; its events were not stored",
    )


# --- who and whose home ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Person:
    employee_id: int | None = None  # a municipal employee or a partner worker (issue 15)
    phone_id: int | None = None


_NOBODY: Final = _Person()


class _Attribution:
    """Resolves credential ids and subjects to people, and doors to citizens, with caches, so a
    batch costs a query per kind of lookup, not per event. Only this municipality's rows count."""

    def __init__(self, db: Session, municipality_id: int) -> None:
        self.db = db
        self.municipality_id = municipality_id
        self.credentials: dict[bytes, _Person] = {}
        self.employees: dict[int, bool] = {}
        self.residents: dict[int, list[tuple[int, dt.datetime | None]]] = {}

    def prefetch(self, events: Iterable[Event]) -> None:
        """Look up every credential and subject of ``events`` not seen yet."""
        events = list(events)
        ids = {ev.credential_id for ev in events if ev.credential_id}
        ids -= self.credentials.keys()
        for row in queries.credential_holders(
            self.db, municipality_id=self.municipality_id, credential_ids=ids
        ):
            self.credentials[row.credential_id] = _Person(row.employee_id, row.phone_id)
        for missing in ids - self.credentials.keys():
            self.credentials[missing] = _NOBODY
        employee_ids = {i for ev in events if (i := _employee_of(ev.subject)) is not None}
        employee_ids -= self.employees.keys()
        known = queries.known_employees(
            self.db, municipality_id=self.municipality_id, employee_ids=employee_ids
        )
        for employee_id in employee_ids:
            self.employees[employee_id] = employee_id in known

    def person(self, event: Event) -> _Person:
        """Who used the door: the credential's holder, else the subject ``e<employee id>``."""
        if event.credential_id and self.credentials.get(event.credential_id, _NOBODY) != _NOBODY:
            return self.credentials[event.credential_id]
        employee_id = _employee_of(event.subject)
        if employee_id is not None and self.employees.get(employee_id):
            return _Person(employee_id=employee_id)
        return _NOBODY

    def citizen(self, door: m.DoorDevice, at: dt.datetime) -> int | None:
        """The citizen whose home ``door`` is at time ``at`` (home locks only)."""
        if door.dwelling_id is None:
            return None
        residents = self.residents.get(door.dwelling_id)
        if residents is None:
            residents = queries.residents(
                self.db, municipality_id=self.municipality_id, dwelling_id=door.dwelling_id
            )
            self.residents[door.dwelling_id] = residents
        if len(residents) == 1 and residents[0][1] is None:
            return residents[0][0]  # the usual case: one citizen, still living there
        # Whoever still lived there then; of several, the one who moved out first (the later
        # one moved in after them).
        live = [(removed, cid) for cid, removed in residents if removed is None or removed > at]
        if not live:
            return None
        never = dt.datetime.max.replace(tzinfo=dt.UTC)
        return min(live, key=lambda r: (r[0] or never, r[1]))[1]


def _employee_of(subject: str | None) -> int | None:
    if subject and subject.startswith("e") and subject[1:].isdigit() and len(subject) < 20:
        return int(subject[1:])
    return None


# --- door events -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Stored:
    id: int
    hash: bytes
    prev_hash: bytes
    gap: bool
    broken: bool


def _stored_rows(db: Session, door_id: int, seqs: Iterable[int]) -> dict[int, _Stored]:
    return {
        r.door_seq: _Stored(r.id, r.event_hash, r.prev_hash, r.chain_gap, r.chain_broken)
        for r in queries.stored_events(db, door_device_id=door_id, seqs=seqs)
    }


def explained_by_eviction(gap: tuple[int, int], last_marker: int) -> bool:
    """Whether the missing events ``gap`` (first, last) are explained by the door's ring: they
    all lie below a signed LOG_OVERFLOW marker of the door, ``last_marker`` being the highest
    stored (0: none). See the module docstring for why; ``events_dropped`` plays no part."""
    return last_marker > 0 and gap[1] < last_marker


def _ingest_door(
    db: Session,
    *,
    door: m.DoorDevice,
    raws: Sequence[bytes],
    who: _Attribution,
    now: dt.datetime,
    events_dropped: int | None = None,
) -> DoorReport:
    report = DoorReport(door.serial)
    door_id = door.serial.encode()
    if not isinstance(door.last_event_seq, int):
        db.flush()  # raised earlier in this transaction: read the stored value back
    known_seq = door.last_event_seq  # before this upload raises it
    try:
        door_key = DoorPublicKey(Ed25519Public(door.public_key))
    except ProtocolError:
        report.error = UploadError(
            "ingest.door_without_key",
            "Døren har ingen gyldig nøgle registreret; kontakt installatøren",
            "The door has no valid key registered; contact the installer",
        )
        return report

    top = queries.chain_top(db, door_device_id=door.id)
    anchor = ChainAnchor(top.door_seq, top.event_hash) if top is not None else None
    chain, decoded = verify_chain_decoded(raws, door_key=door_key, door_id=door_id, anchor=anchor)
    report.bad_signatures = list(chain.bad_signatures)
    report.malformed = list(chain.malformed)
    report.wrong_door = list(chain.wrong_door)
    report.reordered = chain.reordered
    if chain.bad_signatures or chain.wrong_door:
        log.warning(
            "ingest: door %s: %d bad signatures, %d for another door",
            door.serial,
            len(chain.bad_signatures),
            len(chain.wrong_door),
        )

    # Every signature was checked by verify_chain, which hands back each position's verified
    # event and signature (None for the positions it rejected): nothing is parsed twice. Events
    # it did not put in the chain are at or below the anchor, or clash within the upload.
    fresh = {ev.hash: ev for ev in chain.events}
    raw_of: dict[bytes, tuple[bytes, bytes]] = {}
    versions: dict[int, dict[bytes, Event | None]] = {ev.seq: {h: ev} for h, ev in fresh.items()}
    uploaded_at: dict[int, int] = {}  # seq -> how many valid uploaded copies
    for raw, verified in zip(raws, decoded, strict=True):
        if verified is None:
            continue
        event, signature = verified
        digest = event.hash  # SHA-256 of the verified payload (known from decoding)
        seq = event.seq
        versions.setdefault(seq, {}).setdefault(digest, event)
        raw_of.setdefault(digest, (raw, signature))
        uploaded_at[seq] = uploaded_at.get(seq, 0) + 1

    highest = anchor.seq if anchor else 0
    # Stored rows worth reading: the uploaded seqs at or below the anchor (duplicates, conflicts,
    # gap fills) and their neighbours. A plain continuation of the chain needs none of them.
    need = {s for s in versions if s <= highest}
    need |= {s + 1 for s in versions if s + 1 <= highest}
    need |= {s - 1 for s in versions if 0 < s - 1 <= highest}
    if highest not in versions:
        need.discard(highest)  # its hash is the anchor's
    stored = _stored_rows(db, door.id, need) if need else {}

    # Decide per seq: new, duplicate or conflict (never overwrite what is stored).
    new: dict[int, Event] = {}
    new_hash: dict[int, bytes] = {}
    conflicts: set[int] = set()
    for seq in sorted(versions):
        candidates = versions[seq]
        original = stored.get(seq)
        if original is not None:
            if set(candidates) - {original.hash}:
                conflicts.add(seq)
            continue
        if len(candidates) > 1:
            conflicts.add(seq)
            continue
        digest, known = next(iter(candidates.items()))
        new_hash[seq] = digest
        new[seq] = known or decode_event(raw_of[digest][0], door_key=door_key).event

    def hash_at(seq: int) -> bytes | None:
        if seq == 0:
            return GENESIS_HASH
        if seq in new:
            return new_hash[seq]
        if anchor is not None and seq == anchor.seq:
            return anchor.hash
        row = stored.get(seq)
        return row.hash if row is not None else None

    who.prefetch(new.values())
    rows: list[dict[str, Any]] = []
    flags: dict[int, tuple[bool, bool]] = {}
    for seq, event in new.items():
        before = hash_at(seq - 1)
        gap = before is None
        broken = before is not None and event.prev_hash != before
        flags[seq] = (gap, broken)
        raw, signature = raw_of[new_hash[seq]]
        rows.append(_door_row(door, event, new_hash[seq], raw, signature, gap, broken, who, now))

    inserted = queries.insert_door_events(db, door_device_id=door.id, rows=rows)
    for seq in new.keys() - inserted:
        # Lost a race with another upload of the same door: it is now a duplicate or a conflict.
        row = _stored_rows(db, door.id, [seq]).get(seq)
        if row is not None and row.hash != new_hash[seq]:
            conflicts.add(seq)
    report.stored = len(inserted)

    # A filled gap clears the successor's gap flag and gets its link checked.
    for seq in sorted(inserted):
        successor = stored.get(seq + 1)
        if successor is not None and successor.gap:
            broken = successor.broken or successor.prev_hash != new_hash[seq]
            queries.set_chain_flags(db, event_id=successor.id, gap=False, broken=broken)
            stored[seq + 1] = _Stored(
                successor.id, successor.hash, successor.prev_hash, False, broken
            )
    # A different event under a stored seq: the stored one stays, and is marked as contested.
    contested = [stored[s].id for s in conflicts if s in stored and not stored[s].broken]
    queries.mark_broken(db, event_ids=contested)
    if conflicts:
        log.warning("ingest: door %s: conflicting events at seq %s", door.serial, sorted(conflicts))

    # Report the chain's state around everything this upload carried, so the same upload twice
    # gets the same flags back.
    gap_before: list[int] = []
    for seq in sorted(versions):
        if seq in conflicts:
            continue
        if seq in inserted:
            gap, broken = flags[seq]
        elif seq in stored:
            gap, broken = stored[seq].gap, stored[seq].broken
        else:
            continue
        if gap:
            gap_before.append(seq)
        if broken:
            report.broken_links.append(seq)
    present = set(new) | set(stored) | ({highest} if anchor else set())
    last_marker = queries.last_overflow_marker(db, door_device_id=door.id) if gap_before else 0
    for number, seq in enumerate(gap_before):
        lower = max((s for s in present if s < seq), default=0)
        if number < _EXACT_GAPS:
            lower = max(lower, queries.last_stored_below(db, door_device_id=door.id, seq=seq))
        missing = (lower + 1, seq - 1)
        if explained_by_eviction(missing, last_marker):
            report.evicted.append(missing)
        else:
            report.gaps.append(missing)
    report.conflicts = sorted(conflicts)
    report.duplicates = sum(
        count - (1 if seq in inserted else 0)
        for seq, count in uploaded_at.items()
        if seq not in conflicts
    )

    top_seq = max(inserted, default=0)
    if top_seq > door.last_event_seq:
        queries.raise_last_event_seq(door, top_seq)
    if versions:
        door.last_seen_at = now
    stored_now = [new[seq] for seq in sorted(inserted) if seq in new]
    _door_health(door, stored_now)
    if any(ev.kind is EventKind.LOW_BATTERY for ev in stored_now):
        # A low battery is a battery service order (at most one open per door).
        order_battery_service(db, door=door, now=now)
    _door_states(door, [ev for ev in stored_now if ev.seq > known_seq])
    webhooks.emit_door_events(db, door=door, events=stored_now, now=now)
    report.last_seq = max(highest, top_seq) or None
    report.events_dropped = door.events_dropped if isinstance(door.events_dropped, int) else 0
    if events_dropped is not None and events_dropped > report.events_dropped:
        if events_dropped <= (report.last_seq or 0):
            queries.raise_events_dropped(door, events_dropped)
            report.events_dropped = events_dropped
        else:
            # A door cannot have evicted more events than it has signed: not stored.
            log.warning(
                "ingest: door %s: events_dropped %d above its last seq %s",
                door.serial,
                events_dropped,
                report.last_seq,
            )
    return report


def _door_health(door: m.DoorDevice, events: list[Event]) -> None:
    """What the door's own signed log says about its state: the denylist version it holds
    (``DENYLIST_UPDATED v…``), how far its clock was off (``TIME_SET offset_ms=…``) and a low
    battery (``LOW_BATTERY battery=…``). The dashboard's "not yet learnt" list shrinks from this."""
    for event in events:
        reason = event.reason or ""
        try:
            if event.kind is EventKind.DENYLIST_UPDATED and reason.startswith("v"):
                version = int(reason[1:])
                if version > (door.denylist_version_seen or 0):
                    door.denylist_version_seen = version
            elif event.kind is EventKind.TIME_SET and reason.startswith("offset_ms="):
                door.clock_offset_ms = int(reason.removeprefix("offset_ms="))
            elif event.kind is EventKind.LOW_BATTERY and reason.startswith("battery="):
                door.battery_pct = max(0, min(100, int(reason.removeprefix("battery="))))
        except ValueError:
            log.warning("ingest: door %s: unreadable %s reason %r", door.serial, event.kind, reason)


def _lock_state(event: Event) -> e.LockState | None:
    """The bolt after ``event``, if the event says (None: it does not)."""
    kind, reason = event.kind, event.reason or ""
    if kind in (EventKind.LOCKED, EventKind.AUTO_RELOCKED):
        return e.LockState.LOCKED
    if kind is EventKind.UNLOCKED:
        return e.LockState.UNLOCKED
    if kind is EventKind.MANUAL_TURN and reason in ("locked", "unlocked"):
        return e.LockState(reason)
    if kind is EventKind.JAMMED:
        return e.LockState.JAMMED
    if kind is EventKind.POWER_RESTORED and reason.startswith("interrupted="):
        return e.LockState.UNKNOWN  # the power cut a movement off: the door does not guess
    return None


_SENSOR_STATE: Final[dict[EventKind, e.DoorSensorState]] = {
    EventKind.FORCED_OPEN: e.DoorSensorState.FORCED_OPEN,
    EventKind.DOOR_AJAR: e.DoorSensorState.AJAR,
    EventKind.DOOR_CLOSED: e.DoorSensorState.CLOSED,
}


def _door_states(door: m.DoorDevice, events: list[Event]) -> None:
    """The bolt (``lock_state``, home locks only: a controller's relay has no bolt) and the
    leaf (``door_state``) as the door's newest signed events show them.

    ``events`` must be the ones this upload stored above the highest seq known before it, in seq
    order: uploads arrive out of order through different phones, and an older event filling a
    gap must not overwrite what a newer one said. An ordinary opening is not logged (only the
    alarms and their end are), so ``door_state`` moves between closed, ajar and forced open."""
    home = door.kind == e.DoorKind.HOME_LOCK
    for event in events:
        lock = _lock_state(event) if home else None
        if lock is not None:
            door.lock_state = lock
        sensor = _SENSOR_STATE.get(event.kind)
        if sensor is not None:
            door.door_state = sensor


def _door_row(
    door: m.DoorDevice,
    event: Event,
    event_hash: bytes,
    raw: bytes,
    signature: bytes,
    gap: bool,
    broken: bool,
    who: _Attribution,
    now: dt.datetime,
) -> dict[str, Any]:
    action, default_reason = _DOOR_ACTION[event.kind]
    person = who.person(event)
    occurred = event.time or now  # a door without time: when the server first saw the event
    credential_id = event.credential_id
    return {
        "municipality_id": door.municipality_id,
        "source": e.AuditSource.DOOR,
        "action": action,
        "door_device_id": door.id,
        "employee_id": person.employee_id,
        "citizen_id": who.citizen(door, occurred),
        "phone_id": person.phone_id,
        "credential_id": credential_id if credential_id and len(credential_id) <= 16 else None,
        "reason_code": event.reason or default_reason,
        "occurred_at": occurred,
        "received_at": now,
        "door_seq": event.seq,
        "prev_hash": event.prev_hash,
        "event_hash": event_hash,
        "signature": signature,
        "raw": raw,
        "idempotency_key": None,
        "chain_gap": gap,
        "chain_broken": broken,
    }


# --- the app's own events ----------------------------------------------------------------------


def _ingest_app_events(
    db: Session,
    *,
    session: AppSession,
    events: Sequence[AppEvent],
    doors: dict[str, m.DoorDevice],
    who: _Attribution,
    now: dt.datetime,
) -> AppEventsReport:
    report = AppEventsReport()
    phone = session.phone
    # The phone's id scopes its keys: one phone can never shadow another phone's events.
    keyed: dict[str, AppEvent] = {}
    for app_event in events:
        key = f"{phone.id}:{app_event.idempotency_key}"
        if key in keyed:
            report.duplicates += 1
        else:
            keyed[key] = app_event
    existing = queries.stored_idempotency_keys(db, keys=keyed)
    rows: list[dict[str, Any]] = []
    for key, app_event in keyed.items():
        if key in existing:
            report.duplicates += 1
            continue
        action, default_reason = _APP_ACTION[app_event.kind]
        door = doors.get(app_event.door_id) if app_event.door_id else None
        occurred = app_event.occurred_at.astimezone(dt.UTC)
        rows.append(
            {
                "municipality_id": phone.municipality_id,
                "source": e.AuditSource.APP,
                "action": action,
                "door_device_id": door.id if door else None,
                "employee_id": session.employee.id,
                "citizen_id": who.citizen(door, occurred) if door else None,
                "phone_id": phone.id,
                "credential_id": None,
                "reason_code": app_event.reason or default_reason,
                "occurred_at": occurred,
                "received_at": now,
                "door_seq": None,
                "prev_hash": None,
                "event_hash": None,
                "signature": None,
                "raw": None,
                "idempotency_key": key,
                "chain_gap": False,
                "chain_broken": False,
            }
        )
    if not rows:
        return report
    report.stored = queries.insert_app_events(db, rows=rows)
    report.duplicates += len(rows) - report.stored
    return report
