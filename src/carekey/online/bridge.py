"""The server's MQTT client: it takes the doors' messages from the broker and sends the server's.

One bridge runs in every server instance (started by the server's lifespan when
``CAREKEY_MQTT_URL`` is set). Several instances share the work without talking to each other:

- the doors' reports arrive in an MQTT 5 **shared subscription** (``$share/carekey/…``): the
  broker hands each message to exactly one instance;
- a revocation committed in any instance is published by that instance at once (the session's
  after-commit hook, :mod:`carekey.online.signals`), one publish per municipality that the
  broker fans out to its controllers; nothing goes through PostgreSQL ``NOTIFY``;
- every instance reconciles every ``TICK_S`` seconds from the database alone (doors still
  behind, doors gone silent), so a process that died between its commit and its publish
  loses nothing.

Database work runs in worker threads, a batch of messages per transaction, so a burst of
acknowledgements (1,500 controllers answering one revocation) costs a few commits, not 1,500.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import ssl
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Final, TypeVar
from urllib.parse import urlsplit

import aiomqtt
import anyio
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from sqlalchemy.orm import Session, sessionmaker

from carekey.clock import Clock
from carekey.config import Settings
from carekey.online import service
from carekey.online.service import Context, Handled, Heard, Outgoing
from carekey.protocol import online as wire
from carekey.store.db import unit_of_work

log = logging.getLogger(__name__)

TICK_S: Final = 5.0
BATCH_MAX: Final = 500
RECEIVE_MAXIMUM: Final = 65_535
DB_TRIES: Final = 3
_A = TypeVar("_A")
EVENTS_BATCH_MAX: Final = 10
"""Event batches per transaction: ingest is the heavy part, and on SQLite a transaction holds
the one write lock, so it is kept short for the reports' transactions in between."""
BATCH_WAIT_S: Final = 0.02
RECONNECT_MAX_S: Final = 30.0


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    """Where the broker is, from ``mqtt://[user[:password]@]host[:port]`` or ``mqtts://``."""

    host: str
    port: int
    tls: bool
    username: str | None = None
    password: str | None = None

    @classmethod
    def parse(cls, url: str) -> BrokerAddress:
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
            raise ValueError(
                f"Ugyldig MQTT-adresse {url!r}: forventede mqtt://vært:port / "
                f"invalid MQTT URL {url!r}: expected mqtt://host:port"
            )
        tls = parts.scheme == "mqtts"
        return cls(
            parts.hostname,
            parts.port or (8883 if tls else 1883),
            tls,
            parts.username,
            parts.password,
        )

    def client(self, *, identifier: str, **options: object) -> aiomqtt.Client:
        """An aiomqtt client (MQTT 5) for this broker. It announces a receive maximum of
        65,535: the broker may then have that many QoS 1 messages in flight to the server
        instead of queueing them. Mosquitto drops what is queued past ``max_queued_messages``
        (default 1,000), which a single revocation's 1,500 acknowledgements would pass."""
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        properties.ReceiveMaximum = RECEIVE_MAXIMUM
        return aiomqtt.Client(
            self.host,
            self.port,
            username=self.username,
            password=self.password,
            identifier=identifier,
            protocol=aiomqtt.ProtocolVersion.V5,
            tls_context=ssl.create_default_context() if self.tls else None,
            properties=properties,
            **options,  # type: ignore[arg-type]
        )


class OnlineBridge:
    """The bridge of one server instance. ``on_heard`` (for the benchmark and tests) is called
    with each report taken and the ``time.monotonic()`` at which its transaction committed."""

    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        clock: Clock,
        ctx: Context,
        url: str,
        share: str | None = "carekey",
        on_heard: Callable[[Heard, float], None] | None = None,
        identifier: str | None = None,
    ) -> None:
        self.sessions = sessions
        self.clock = clock
        self.ctx = ctx
        self.address = BrokerAddress.parse(url)
        self.share = share
        self.on_heard = on_heard
        self.identifier = identifier or f"carekey-server-{uuid.uuid4().hex[:12]}"
        self.connected = asyncio.Event()
        self.refused = 0
        self.handled = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._outbox: asyncio.Queue[Outgoing] = asyncio.Queue()
        self._changed: asyncio.Queue[set[tuple[int, int]]] = asyncio.Queue()
        self._reports: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()
        self._events: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()
        self._reports_busy = False
        self._db_lock = asyncio.Lock()

    # --- called from request threads ---

    def notify(self, changed: set[tuple[int, int]]) -> None:
        """Denylist versions committed (any thread): published as deltas at once."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return  # not running: the next reconcile of any instance sends them
        loop.call_soon_threadsafe(self._changed.put_nowait, set(changed))

    # --- the loop ---

    async def run(self) -> None:
        """Connect, serve, reconnect with backoff after a broker outage; until cancelled."""
        self._loop = asyncio.get_running_loop()
        delay = 0.5
        while True:
            try:
                async with self.address.client(identifier=self.identifier, keepalive=30) as client:
                    await client.subscribe(
                        [(f, 1) for f in wire.server_filters(self.ctx.prefix, share=self.share)]
                    )
                    self.connected.set()
                    delay = 0.5
                    log.info("online: connected to %s:%s", self.address.host, self.address.port)
                    async with asyncio.TaskGroup() as tasks:
                        tasks.create_task(self._consume(client))
                        tasks.create_task(self._work(self._reports, BATCH_MAX))
                        tasks.create_task(self._work(self._events, EVENTS_BATCH_MAX, yields=True))
                        tasks.create_task(self._publish(client))
                        tasks.create_task(self._pushes())
                        tasks.create_task(self._tick())
            except* aiomqtt.MqttError as group:
                self.connected.clear()
                log.warning(
                    "online: broker connection lost (%s); again in %.1f s",
                    group.exceptions[0],
                    delay,
                )
            await asyncio.sleep(delay)
            delay = min(delay * 2, RECONNECT_MAX_S)

    async def _consume(self, client: aiomqtt.Client) -> None:
        """Sort the doors' messages: reports (state, answers, wills) go before events, so an
        acknowledgement never waits behind the ingest of a thousand doors' event batches."""
        async for message in client.messages:
            if not isinstance(message.payload, bytes | bytearray) or not message.payload:
                continue  # an empty retained payload clears a topic: nothing to handle
            item = (str(message.topic), bytes(message.payload))
            if item[0].endswith("/events"):
                self._events.put_nowait(item)
            else:
                self._reports.put_nowait(item)

    async def _work(
        self, queue: asyncio.Queue[tuple[str, bytes]], batch_max: int, *, yields: bool = False
    ) -> None:
        """Handle what ``queue`` holds, a batch (at most ``batch_max``, collected for at most
        ``BATCH_WAIT_S``) per transaction in a worker thread. With ``yields`` (the events) a
        batch waits while reports are waiting or being handled: acknowledgements first."""
        while True:
            batch = [await queue.get()]
            while yields and (self._reports_busy or not self._reports.empty()):
                await asyncio.sleep(0.005)
            deadline = time.monotonic() + BATCH_WAIT_S
            while len(batch) < batch_max:
                if queue.empty():
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    await asyncio.sleep(min(remaining, 0.005))
                    continue
                batch.append(queue.get_nowait())
            if not yields:
                self._reports_busy = True
            try:
                outgoing = await self._db(self.handle_batch, batch)
            finally:
                if not yields:
                    self._reports_busy = False
            for out in outgoing:
                self._outbox.put_nowait(out)

    async def _db(self, work: Callable[[_A], list[Outgoing]], arg: _A) -> list[Outgoing]:
        """Database work in a worker thread, one piece at a time (on SQLite the bridge's own
        transactions would otherwise wait for each other's write lock). A database that is
        busy or down costs this piece (logged, tried again ``DB_TRIES`` times), never the
        broker connection: what is lost comes back with the doors' next reports and the
        reconcile."""
        for attempt in range(1, DB_TRIES + 1):
            try:
                async with self._db_lock:
                    return await anyio.to_thread.run_sync(work, arg)
            except Exception as exc:  # the loop must outlive the database
                log.warning(
                    "online: database work failed (%s), attempt %d of %d",
                    type(exc).__name__,
                    attempt,
                    DB_TRIES,
                )
                await asyncio.sleep(0.5 * attempt)
        return []

    async def _publish(self, client: aiomqtt.Client) -> None:
        while True:
            out = await self._outbox.get()
            await client.publish(out.topic, out.payload, qos=1, retain=out.retain)

    async def _pushes(self) -> None:
        while True:
            changed = await self._changed.get()
            while not self._changed.empty():
                changed |= self._changed.get_nowait()
            for out in await self._db(self.push, changed):
                self._outbox.put_nowait(out)

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(TICK_S)
            for out in await self._db(lambda _none: self.tick(), None):
                self._outbox.put_nowait(out)

    # --- database work (worker threads; also called directly by the simulation) ---

    def _now(self) -> dt.datetime:
        return self.clock.now()

    def handle_batch(self, items: list[tuple[str, bytes]]) -> list[Outgoing]:
        """Handle messages in one transaction; what to publish in answer."""
        outgoing: list[Outgoing] = []
        heard: list[Heard] = []
        try:
            results = self._handle(items, isolate=False)
        except Exception:  # one bad message must not lose the batch: again, one by one
            log.exception("online: a batch failed; handling its messages one by one")
            results = self._handle(items, isolate=True)
        for handled in results:
            self.handled += 1
            if handled.refused:
                self.refused += 1
            outgoing += handled.outgoing
            if handled.heard is not None:
                heard.append(handled.heard)
        if self.on_heard is not None:
            at = time.monotonic()
            for h in heard:
                self.on_heard(h, at)
        return outgoing

    def _handle(self, items: list[tuple[str, bytes]], *, isolate: bool) -> list[Handled]:
        """The batch in one transaction; with ``isolate`` each message in a savepoint of its
        own, and one that fails is left out (logged)."""
        results: list[Handled] = []
        with unit_of_work(self.sessions) as db:
            now = self._now()
            lookup = service.Lookup(db, self.ctx, (topic for topic, _ in items))
            for topic, payload in items:
                if not isolate:
                    results.append(
                        service.handle_message(
                            db, topic=topic, payload=payload, now=now, ctx=self.ctx, lookup=lookup
                        )
                    )
                    continue
                try:
                    with db.begin_nested():
                        results.append(
                            service.handle_message(
                                db, topic=topic, payload=payload, now=now, ctx=self.ctx
                            )
                        )
                except Exception:
                    log.exception("online: could not handle a message on %r", topic[:200])
        return results

    def push(self, changed: set[tuple[int, int]]) -> list[Outgoing]:
        """The deltas of committed versions."""
        with unit_of_work(self.sessions, writes=False) as db:
            return service.pushes(db, changed=changed, now=self._now(), ctx=self.ctx)

    def tick(self) -> list[Outgoing]:
        """Reconcile and sweep (every instance, every ``TICK_S``)."""
        with unit_of_work(self.sessions) as db:
            now = self._now()
            service.sweep(db, now=now, ctx=self.ctx)
            return service.reconcile(db, now=now, ctx=self.ctx)


def online_bridge(
    settings: Settings, *, sessions: sessionmaker[Session], clock: Clock
) -> OnlineBridge:
    """The bridge for the server's settings (``mqtt_url`` must be set)."""
    if not settings.mqtt_url:
        raise ValueError("CAREKEY_MQTT_URL is not set")
    ctx = Context(
        prefix=settings.mqtt_topic_prefix,
        secret=settings.secret_key.get_secret_value(),
        offline_after=dt.timedelta(seconds=settings.online_offline_after_s),
    )
    return OnlineBridge(sessions=sessions, clock=clock, ctx=ctx, url=settings.mqtt_url)


@contextlib.asynccontextmanager
async def running(bridge: OnlineBridge) -> AsyncIterator[OnlineBridge]:
    """Run ``bridge`` in the background for the block (the server's lifespan, tests)."""
    task = asyncio.create_task(bridge.run())
    try:
        yield bridge
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
