"""The webhook dispatcher: due deliveries out of the outbox, signed, POSTed, retried.

- **Order per (subscription, resource)**: a delivery waits while an older pending one of the
  same subscription and resource exists (``queries.claim_due``); other resources go on. When the
  head of a queue succeeds, the next one is due at once (it has been due since it was written).
- **Claim, send, record**: a claim (one short transaction) takes the due heads, on PostgreSQL
  ``FOR UPDATE SKIP LOCKED``, and leases them (``next_attempt_at`` moves ``LEASE`` ahead), so
  several servers never send the same delivery and a crashed one's lease runs out. The POST
  runs outside any transaction; its outcome is written in another short one.
- **Retry**: 2xx is delivered; anything else (an error, a timeout) is retried after
  ``SCHEDULE`` (±10 %), and after the last step (about three days) the delivery is ``failed``
  (it can be replayed). Every attempt is logged in ``webhook_attempt``.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final

import anyio
import httpx
from sqlalchemy.orm import Session

from carekey.store import models as m
from carekey.store.db import declare_writes
from carekey.webhooks import queries as q
from carekey.webhooks import service, signing, targets

log = logging.getLogger(__name__)

_S = dt.timedelta(seconds=1)
_MIN = dt.timedelta(minutes=1)
_H = dt.timedelta(hours=1)
SCHEDULE: Final = (
    5 * _S,
    30 * _S,
    2 * _MIN,
    5 * _MIN,
    15 * _MIN,
    30 * _MIN,
    1 * _H,
    2 * _H,
    4 * _H,
    8 * _H,
    16 * _H,
    24 * _H,
    24 * _H,
)
JITTER: Final = 0.1
LEASE: Final = dt.timedelta(minutes=2)
TIMEOUT_S: Final = 10.0
POLL_S: Final = 1.0
MAX_ERROR: Final = 500
STOP_WAIT_S: Final = 15.0

Sessions = Callable[[], Session]


def retry_delay(attempts: int, *, rng: random.Random | None = None) -> dt.timedelta | None:
    """The wait after the ``attempts``-th failed attempt, with ±10 % jitter; ``None`` once the
    schedule is spent (the delivery fails)."""
    if attempts < 1 or attempts > len(SCHEDULE):
        return None
    base = SCHEDULE[attempts - 1]
    factor = 1.0 + (rng or random).uniform(-JITTER, JITTER)
    return base * factor


@dataclass(frozen=True)
class _Job:
    delivery_id: int
    url: str
    body: str
    headers: dict[str, str]


@dataclass(frozen=True)
class _Outcome:
    status_code: int | None
    error: str | None
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def _claim(sessions: Sessions, *, now: dt.datetime, batch: int, server_secret: str) -> list[_Job]:
    jobs: list[_Job] = []
    with sessions() as db, db.begin():
        declare_writes(db, False)
        if not q.any_due(db, now=now):
            return jobs  # the common case: a cheap read, no write lock taken
    with sessions() as db, db.begin():
        declare_writes(db, True)  # on SQLite: BEGIN IMMEDIATE, like a request that writes
        for delivery in q.claim_due(db, now=now, limit=batch):
            event = q.event_of(db, delivery.event_id)
            subscription = q.subscription(db, delivery.subscription_id)
            delivery.next_attempt_at = now + LEASE
            keys = service.active_secrets(
                db, subscription_id=subscription.id, server_secret=server_secret, now=now
            )
            if not keys:
                delivery.status = "failed"
                delivery.last_error = "no active signing secret"
                continue
            body = service.body_of(event)
            stamp = int(now.timestamp())
            headers = signing.headers(event.msg_id, stamp, body, keys)
            jobs.append(_Job(delivery.id, subscription.url, body, headers))
    return jobs


def _send(client: httpx.Client, job: _Job, *, private_ok: bool = True) -> _Outcome:
    started = time.monotonic()
    if not private_ok:
        refused = targets.refusal(job.url)
        if refused is not None:
            return _Outcome(None, refused, 0)  # a failed attempt: retried, logged, visible
    try:
        response = client.post(job.url, content=job.body.encode(), headers=job.headers)
    except httpx.HTTPError as exc:
        elapsed = int((time.monotonic() - started) * 1000)
        return _Outcome(None, f"{type(exc).__name__}: {exc}"[:MAX_ERROR], elapsed)
    elapsed = int((time.monotonic() - started) * 1000)
    error = None if 200 <= response.status_code < 300 else response.text[:MAX_ERROR] or None
    return _Outcome(response.status_code, error, elapsed)


def _record(
    sessions: Sessions,
    job: _Job,
    outcome: _Outcome,
    *,
    now: dt.datetime,
    rng: random.Random | None,
) -> bool:
    with sessions() as db, db.begin():
        declare_writes(db, True)
        delivery = q.delivery(db, job.delivery_id)
        db.add(
            m.WebhookAttempt(
                delivery_id=delivery.id,
                at=now,
                status_code=outcome.status_code,
                error=outcome.error,
                duration_ms=outcome.duration_ms,
            )
        )
        delivery.attempts += 1
        delivery.last_attempt_at = now
        delivery.last_status_code = outcome.status_code
        delivery.last_error = outcome.error
        if outcome.ok:
            delivery.status = "delivered"
            delivery.delivered_at = now
            delivery.next_attempt_at = None
            return True
        wait = retry_delay(delivery.attempts, rng=rng)
        if wait is None:
            delivery.status = "failed"
            delivery.next_attempt_at = None
        else:
            delivery.next_attempt_at = now + wait
        return False


def deliver_due(
    sessions: Sessions,
    *,
    now: dt.datetime,
    client: httpx.Client,
    server_secret: str,
    batch: int = 100,
    rng: random.Random | None = None,
    stop: Callable[[], bool] | None = None,
    private_ok: bool = True,
) -> int:
    """Send the due deliveries, in order per (subscription, resource); return how many were
    attempted. A success makes the next delivery of its queue due, so this repeats until a
    round claims nothing (or ``batch`` attempts were made)."""
    attempted = 0
    while attempted < batch:
        jobs = _claim(sessions, now=now, batch=batch - attempted, server_secret=server_secret)
        if not jobs:
            break
        progressed = False
        for job in jobs:
            if stop is not None and stop():
                return attempted  # the claimed rest waits for its lease to run out
            outcome = _send(client, job, private_ok=private_ok)
            progressed |= _record(sessions, job, outcome, now=now, rng=rng)
            attempted += 1
        if not progressed:
            break
    return attempted


def new_client() -> httpx.Client:
    """The HTTP client of the dispatcher: 10 s timeout, no redirects followed."""
    return httpx.Client(timeout=TIMEOUT_S, follow_redirects=False)


async def run_dispatcher(
    state: Any, *, stop: asyncio.Event | None = None, poll_s: float = POLL_S
) -> None:
    """Deliver from the outbox every ``poll_s`` seconds until ``stop`` is set (or the task is
    cancelled), with the app's clock (``state.clock``), sessions (``state.sessions``) and
    server secret (``state.settings``)."""
    stop = stop or asyncio.Event()
    secret = state.settings.secret_key.get_secret_value()
    with new_client() as client:
        while not stop.is_set():
            try:
                # anyio's worker thread, not asyncio.to_thread: a cancelled loop (the server
                # stopping) waits for the round to end, so no database connection is left
                # checked out in a thread that outlives the engine.
                await anyio.to_thread.run_sync(
                    functools.partial(
                        deliver_due,
                        state.sessions,
                        now=state.clock.now(),
                        client=client,
                        server_secret=secret,
                        stop=stop.is_set,
                        private_ok=state.settings.webhooks_private_targets_ok,
                    )
                )
            except Exception:  # the loop outlives one bad round (a busy database, say)
                log.exception("webhooks: a round of deliveries failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=poll_s)


async def _nothing() -> None:
    return None


async def start(state: Any, enabled: bool) -> Callable[[], Awaitable[None]]:
    """Start the dispatcher (when ``enabled``) for the server's lifespan; the function returned
    stops it, after the round in progress (at most ``STOP_WAIT_S``, then it is cancelled)."""
    if not enabled:
        return _nothing
    stop = asyncio.Event()
    task = asyncio.create_task(run_dispatcher(state, stop=stop), name="carekey-webhooks")

    async def stopper() -> None:
        stop.set()
        try:
            await asyncio.wait_for(task, timeout=STOP_WAIT_S)
        except (TimeoutError, asyncio.CancelledError):
            task.cancel()

    return stopper
