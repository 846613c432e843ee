"""Receipts, door events and app events waiting to reach the server, kept durably in SQLite.

Every ``add_*`` commits (WAL, ``synchronous=FULL``) before it returns, so the app shows "done"
only for things that survive a crash or a flat battery. :meth:`Outbox.drain` uploads due items
in batches to ``POST /api/v1/app/events`` and deletes them only after the server answered.
The server deduplicates (door events and receipts by their signed content, app events by
idempotency key), so the rule is: *sent twice* is harmless, *lost* is not. A crash between the
upload and :meth:`Outbox.mark_sent` therefore re-sends the batch on the next drain.

A failed upload backs the batch off exponentially: the n-th failure in a row schedules the next
attempt after ``min(5 s × 2^(n-1), 15 min)``, shortened by up to 20 % of random jitter so that
many phones coming back online at 7 a.m. do not retry in step. Door event batches of one door are
always uploaded in the order the door gave them: a later batch waits while an earlier one of the
same door is backing off, so the server never sees that door's chain out of order.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import random
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from carekey.app.interfaces import OutboxItem
from carekey.clock import UTC, Clock

# The server's limits (carekey.ingest.service); tests check they still agree.
APP_EVENT_KINDS: Final = frozenset({"login", "logout", "refused", "wiped"})
MAX_DOOR_ID: Final = 32
MAX_REASON: Final = 64
MAX_EVENT_BYTES: Final = 1_024
MAX_EVENTS_PER_UPLOAD: Final = 5_000  # door events and receipts together
MAX_DOORS_PER_UPLOAD: Final = 1_000
MAX_APP_EVENTS_PER_UPLOAD: Final = 1_000
MAX_DOOR_COUNTER: Final = 2**53 - 1  # first_seq, next_seq, events_dropped

EVENTS_PER_ITEM: Final = 500  # a long door log is split into items of at most this many events
BACKOFF_BASE: Final = dt.timedelta(seconds=5)
BACKOFF_CAP: Final = dt.timedelta(minutes=15)
BACKOFF_JITTER: Final = 0.2  # the delay is shortened by up to this fraction
_MAX_ERROR: Final = 500

_DOOR_META: Final = ("first_seq", "next_seq", "events_dropped")

RECEIPT: Final = "receipt"
DOOR_EVENTS: Final = "door_events"
APP_EVENT: Final = "app_event"

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS outbox_item (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL CHECK (kind IN ('receipt', 'door_events', 'app_event')),
    door_id TEXT,
    payload TEXT NOT NULL,
    created_us INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_us INTEGER NOT NULL,
    last_error TEXT
);
CREATE INDEX IF NOT EXISTS outbox_item_due ON outbox_item (next_attempt_us, id);
PRAGMA user_version = 1;
"""


@dataclass(frozen=True, slots=True)
class DrainResult:
    """What one :meth:`Outbox.drain` achieved.

    ``sent`` and ``failed`` count items; ``remaining`` is what still waits (due later or newly
    added); ``error`` describes the failed upload, if any, and ``exception`` is what ``upload``
    raised (so the caller can tell "offline" from a refusal); ``responses`` are the server's
    answers.
    """

    sent: int
    failed: int
    remaining: int
    error: str | None = None
    responses: tuple[dict[str, Any], ...] = ()
    exception: Exception | None = field(default=None, compare=False, repr=False)

    @property
    def ok(self) -> bool:
        """Nothing failed in this drain."""
        return self.failed == 0


def backoff_delay(attempts: int, rng: random.Random) -> dt.timedelta:
    """How long to wait after the ``attempts``-th failure in a row (1, 2, ...).

    ``min(5 s × 2^(attempts-1), 15 min)``, minus up to 20 % jitter from ``rng``.
    """
    if attempts < 1:
        raise ValueError("attempts counts failures and starts at 1")
    base = min(BACKOFF_BASE * (1 << min(attempts - 1, 20)), BACKOFF_CAP)
    return base * (1 - BACKOFF_JITTER * rng.random())


class Outbox:
    """A durable queue of uploads in the SQLite file ``path``.

    ``rng`` drives the backoff jitter (pass ``random.Random(seed)`` in tests). One object per
    file per process; it may be shared between threads.
    """

    def __init__(self, path: Path, *, clock: Clock, rng: random.Random | None = None) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._clock = clock
        self._rng = rng if rng is not None else random.SystemRandom()
        self._lock = threading.Lock()
        # Autocommit mode: each use case opens its own explicit transaction below.
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
        except BaseException:
            self._db.close()
            raise

    def close(self) -> None:
        """Close the database (everything is already committed)."""
        with self._lock:
            self._db.close()

    def __enter__(self) -> Outbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- adding: each committed before it returns -------------------------------------------

    def add_receipt(self, door_id: str, event: bytes) -> int:
        """Queue a door's signed receipt for one of this phone's operations; returns its id."""
        _check_door_id(door_id)
        _check_event(event)
        payload = {"door_id": door_id, "event": _b64(event)}
        with self._transaction() as db:
            return self._insert(db, RECEIPT, door_id, payload)

    def add_door_events(
        self,
        door_id: str,
        events: list[bytes],
        *,
        first_seq: int | None = None,
        next_seq: int | None = None,
        events_dropped: int | None = None,
    ) -> list[int]:
        """Queue entries of a door's signed event log, in the door's order; returns the ids.

        ``first_seq``, ``next_seq`` and ``events_dropped`` are what the door's READ_EVENTS page
        said of its ring (unsigned; the server treats them as information only). Long logs are
        split into items of at most 500 events, each carrying them; all of them are committed
        in one transaction. No events, no items.
        """
        _check_door_id(door_id)
        for event in events:
            _check_event(event)
        meta = {
            name: value
            for name, value in (
                ("first_seq", first_seq),
                ("next_seq", next_seq),
                ("events_dropped", events_dropped),
            )
            if value is not None
        }
        for name, value in meta.items():
            if not 0 <= value <= MAX_DOOR_COUNTER:
                raise ValueError(f"{name} must be 0-{MAX_DOOR_COUNTER}")
        with self._transaction() as db:
            return [
                self._insert(
                    db,
                    DOOR_EVENTS,
                    door_id,
                    {
                        "door_id": door_id,
                        "events": [_b64(e) for e in events[i : i + EVENTS_PER_ITEM]],
                        **meta,
                    },
                )
                for i in range(0, len(events), EVENTS_PER_ITEM)
            ]

    def add_app_event(
        self, kind: str, *, door_id: str | None = None, reason: str | None = None
    ) -> str:
        """Queue an app event (``login``, ``logout``, ``refused``, ``wiped``) that happened now.

        Returns the idempotency key (32 hex characters) the server deduplicates it by.
        """
        if kind not in APP_EVENT_KINDS:
            raise ValueError(f"unknown app event kind {kind!r}")
        if door_id is not None:
            _check_door_id(door_id)
        if reason is not None and len(reason) > MAX_REASON:
            raise ValueError(f"reason longer than {MAX_REASON} characters")
        key = uuid.uuid4().hex
        payload = {
            "idempotency_key": key,
            "kind": kind,
            "occurred_at": self._now().isoformat(),
            "door_id": door_id,
            "reason": reason,
        }
        with self._transaction() as db:
            self._insert(db, APP_EVENT, door_id, payload)
        return key

    # --- reading ------------------------------------------------------------------------------

    def pending(self, limit: int = 500) -> list[OutboxItem]:
        """Items not yet sent, oldest first, whether due now or backing off."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, kind, payload, created_us, attempts FROM outbox_item "
                "ORDER BY id LIMIT ?",
                (limit,),
            ).fetchall()
        return [_item(row) for row in rows]

    def count(self) -> int:
        """How many items wait to be sent."""
        with self._lock:
            (n,) = self._db.execute("SELECT count(*) FROM outbox_item").fetchone()
        return int(n)

    def due(self, now: dt.datetime, limit: int = 500) -> list[OutboxItem]:
        """Items whose next attempt is due at ``now``, oldest first.

        A door event batch is held back while an earlier batch of the same door is not due, so a
        door's log always reaches the server in order.
        """
        with self._lock:
            rows = self._db.execute(
                "SELECT o.id, o.kind, o.payload, o.created_us, o.attempts FROM outbox_item o "
                "WHERE o.next_attempt_us <= :now AND NOT ("
                "  o.kind = 'door_events' AND EXISTS (SELECT 1 FROM outbox_item p "
                "  WHERE p.kind = 'door_events' AND p.door_id = o.door_id AND p.id < o.id "
                "  AND p.next_attempt_us > :now)) "
                "ORDER BY o.id LIMIT :limit",
                {"now": _us(now), "limit": limit},
            ).fetchall()
        return [_item(row) for row in rows]

    def next_attempt_at(self) -> dt.datetime | None:
        """When the earliest waiting item is due (None if the outbox is empty)."""
        with self._lock:
            (us,) = self._db.execute("SELECT min(next_attempt_us) FROM outbox_item").fetchone()
        return None if us is None else _from_us(us)

    def build_upload(self, items: Sequence[OutboxItem]) -> dict[str, Any]:
        """The JSON body of ``POST /api/v1/app/events`` for ``items``.

        Door event batches of the same door are joined in item order into one ``doors`` entry;
        its ``first_seq``, ``next_seq`` and ``events_dropped`` are the highest the items carry
        (each only grows at the door).
        """
        doors: dict[str, list[str]] = {}
        meta: dict[str, dict[str, int]] = {}
        receipts: list[dict[str, Any]] = []
        app_events: list[dict[str, Any]] = []
        for item in sorted(items, key=lambda i: i.id):
            if item.kind == DOOR_EVENTS:
                door_id = item.payload["door_id"]
                doors.setdefault(door_id, []).extend(item.payload["events"])
                known = meta.setdefault(door_id, {})
                for name in _DOOR_META:
                    value = item.payload.get(name)
                    if isinstance(value, int):
                        known[name] = max(known.get(name, value), value)
            elif item.kind == RECEIPT:
                receipts.append(dict(item.payload))
            elif item.kind == APP_EVENT:
                app_events.append(dict(item.payload))
            else:  # pragma: no cover - the table's CHECK constraint forbids it
                raise ValueError(f"unknown outbox item kind {item.kind!r}")
        return {
            "doors": [
                {"door_id": d, "events": events, **meta.get(d, {})} for d, events in doors.items()
            ],
            "receipts": receipts,
            "app_events": app_events,
        }

    # --- outcomes -----------------------------------------------------------------------------

    def mark_sent(self, ids: Sequence[int]) -> None:
        """The server has these items: delete them. Unknown ids are ignored (already sent)."""
        with self._transaction() as db:
            db.executemany("DELETE FROM outbox_item WHERE id = ?", [(i,) for i in ids])

    def mark_failed(self, ids: Sequence[int], error: str) -> None:
        """The upload of these items failed: count the attempt and back off (see module doc)."""
        now = self._now()
        with self._transaction() as db:
            for item_id in ids:
                row = db.execute(
                    "SELECT attempts FROM outbox_item WHERE id = ?", (item_id,)
                ).fetchone()
                if row is None:
                    continue
                attempts = int(row[0]) + 1
                db.execute(
                    "UPDATE outbox_item SET attempts = ?, next_attempt_us = ?, last_error = ? "
                    "WHERE id = ?",
                    (
                        attempts,
                        _us(now + backoff_delay(attempts, self._rng)),
                        error[:_MAX_ERROR],
                        item_id,
                    ),
                )

    def retry_now(self) -> int:
        """Make every waiting item due at once (the network is back, the user asked to sync);
        the attempt counts stay, so a failure after this backs off as before. Returns how many
        items were waiting."""
        now = _us(self._now())
        with self._transaction() as db:
            cursor = db.execute(
                "UPDATE outbox_item SET next_attempt_us = ? WHERE next_attempt_us > ?", (now, now)
            )
            return cursor.rowcount

    def drain(
        self, upload: Callable[[dict[str, Any]], dict[str, Any]], *, batch: int = 500
    ) -> DrainResult:
        """Upload every due item, ``batch`` items per request, until none is due or one fails.

        ``upload`` posts the body and returns the server's answer, raising on any failure (no
        network, an error status). Items are deleted only after ``upload`` returned; on an
        exception they back off and the drain stops and returns (it does not re-raise: see
        ``DrainResult.exception``). Items still backing off are not tried; call
        :meth:`retry_now` first when the network has just come back. Batches also respect the
        server's limits on events, doors and app events per upload. Safe to call again after a
        crash anywhere.
        """
        if batch < 1:
            raise ValueError("batch must be at least 1")
        sent = 0
        responses: list[dict[str, Any]] = []
        seen: set[int] = set()
        while True:
            items = _fit_limits(self.due(self._now(), limit=batch))
            if not items or seen.intersection(i.id for i in items):
                break
            ids = [i.id for i in items]
            seen.update(ids)
            try:
                responses.append(upload(self.build_upload(items)))
            except Exception as exc:  # any failure means "not delivered": retry later
                error = f"{type(exc).__name__}: {exc}"
                self.mark_failed(ids, error)
                return DrainResult(sent, len(ids), self.count(), error, tuple(responses), exc)
            self.mark_sent(ids)
            sent += len(ids)
        return DrainResult(sent, 0, self.count(), None, tuple(responses))

    # --- internals ----------------------------------------------------------------------------

    def _now(self) -> dt.datetime:
        return self._clock.now().astimezone(UTC)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _insert(
        self, db: sqlite3.Connection, kind: str, door_id: str | None, payload: dict[str, Any]
    ) -> int:
        now = _us(self._now())
        cursor = db.execute(
            "INSERT INTO outbox_item (kind, door_id, payload, created_us, next_attempt_us) "
            "VALUES (?, ?, ?, ?, ?)",
            (kind, door_id, json.dumps(payload, separators=(",", ":")), now, now),
        )
        item_id = cursor.lastrowid
        assert item_id is not None  # an INSERT always sets it
        return item_id


def _fit_limits(items: list[OutboxItem]) -> list[OutboxItem]:
    """The longest prefix of ``items`` that one upload may carry."""
    events = doors = app_events = 0
    door_ids: set[str] = set()
    for n, item in enumerate(items):
        if item.kind == APP_EVENT:
            app_events += 1
        else:
            events += len(item.payload["events"]) if item.kind == DOOR_EVENTS else 1
            if item.kind == DOOR_EVENTS and item.payload["door_id"] not in door_ids:
                door_ids.add(item.payload["door_id"])
                doors += 1
        if (
            events > MAX_EVENTS_PER_UPLOAD
            or doors > MAX_DOORS_PER_UPLOAD
            or app_events > MAX_APP_EVENTS_PER_UPLOAD
        ):
            return items[: max(n, 1)]
    return items


def _item(row: tuple[Any, ...]) -> OutboxItem:
    item_id, kind, payload, created_us, attempts = row
    return OutboxItem(
        id=int(item_id),
        kind=str(kind),
        payload=json.loads(payload),
        created_at=_from_us(created_us),
        attempts=int(attempts),
    )


def _check_door_id(door_id: str) -> None:
    if not 0 < len(door_id) <= MAX_DOOR_ID:
        raise ValueError(f"door_id must be 1-{MAX_DOOR_ID} characters")


def _check_event(event: bytes) -> None:
    if not 0 < len(event) <= MAX_EVENT_BYTES:
        raise ValueError(f"a signed event is 1-{MAX_EVENT_BYTES} bytes")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _us(when: dt.datetime) -> int:
    """Microseconds since the epoch: exact, and sorts as numbers (ISO text would not)."""
    if when.tzinfo is None:
        raise ValueError("outbox times must be timezone-aware")
    delta = when.astimezone(UTC) - dt.datetime(1970, 1, 1, tzinfo=UTC)
    return delta // dt.timedelta(microseconds=1)


def _from_us(us: int) -> dt.datetime:
    return dt.datetime(1970, 1, 1, tzinfo=UTC) + dt.timedelta(microseconds=int(us))
