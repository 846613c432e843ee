"""The network side of an online controller: one :class:`OnlineController` over MQTT (aiomqtt).

:class:`MqttRunner` connects to the broker (``mqtt://host:port``, ``mqtts://`` for TLS with the
system's trust store), with the controller's signed OFFLINE report as its last will (retained,
QoS 1, signed anew at every connection), subscribes to the controller's topics (QoS 1), calls
:meth:`OnlineController.on_connect`, then runs three things until the connection breaks:

* the heartbeat: :meth:`OnlineController.report_state` every ``heartbeat_s``;
* the door's own events (a phone's session over BLE): checked every ``events_poll_s`` and
  published by :meth:`OnlineController.publish_new_events` when there are new ones;
* the commands: each message is fed to :meth:`OnlineController.handle`;
* the outbox: the controller's ``publish`` is synchronous, so it only queues (at most
  :data:`OUTBOX_LIMIT` messages, the oldest dropped first); the runner publishes in order
  with QoS 1. What is queued while the broker is away goes out after the reconnection.

After a broker outage it reconnects with exponential backoff (``backoff_min_s`` doubling up to
``backoff_max_s``, with jitter). ``stop`` ends it cleanly: the controller publishes its OFFLINE
report itself (retained) and disconnects, so the broker discards the will (with
``clear_retained_on_stop`` it clears its retained state and status instead: a simulated door
leaving a shared broker). :meth:`MqttRunner.abort`
models a power cut: the socket is shut without an MQTT DISCONNECT and the broker publishes the
will.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import socket
import ssl
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

import aiomqtt

from carekey.devices.online import OnlineController

_LOGGER = logging.getLogger(__name__)

OUTBOX_LIMIT: Final = 2048


@dataclass(frozen=True, slots=True)
class BrokerUrl:
    """Where the broker is: host, port and whether to speak TLS."""

    host: str
    port: int
    tls: bool


def parse_broker_url(url: str) -> BrokerUrl:
    """``mqtt://host[:1883]`` or ``mqtts://host[:8883]``."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
        raise ValueError(f"not an MQTT broker URL: {url!r} (mqtt://host:port or mqtts://)")
    tls = parts.scheme == "mqtts"
    return BrokerUrl(parts.hostname, parts.port or (8883 if tls else 1883), tls)


class _Outbox:
    """What the controller published, in order, until the runner hands it to the broker."""

    def __init__(self, limit: int = OUTBOX_LIMIT) -> None:
        self.items: deque[tuple[str, bytes, bool]] = deque(maxlen=limit)
        self.ready = asyncio.Event()
        self.dropped = 0

    def put(self, topic: str, payload: bytes, retain: bool) -> None:
        maxlen = self.items.maxlen
        if maxlen is not None and len(self.items) >= maxlen:
            self.dropped += 1
        self.items.append((topic, payload, retain))
        self.ready.set()

    async def get(self) -> tuple[str, bytes, bool]:
        while not self.items:
            self.ready.clear()
            await self.ready.wait()
        return self.items.popleft()

    def unget(self, item: tuple[str, bytes, bool]) -> None:
        self.items.appendleft(item)
        self.ready.set()


class MqttRunner:
    """Runs one controller against one broker; see the module docstring."""

    def __init__(
        self,
        controller: OnlineController,
        *,
        url: str,
        heartbeat_s: float = 30.0,
        keepalive_s: int = 30,
        client_id: str | None = None,
        on_ready: Callable[[], None] | None = None,
        backoff_min_s: float = 0.5,
        backoff_max_s: float = 30.0,
        connect_timeout_s: float = 10.0,
        clear_retained_on_stop: bool = False,
        events_poll_s: float | None = 1.0,
    ) -> None:
        self.controller = controller
        self.broker = parse_broker_url(url)
        self.heartbeat_s = heartbeat_s
        self.keepalive_s = keepalive_s
        self.client_id = client_id or f"carekey-{controller.topics.issuer}-{controller.serial}"
        self.on_ready = on_ready
        self.backoff_min_s = backoff_min_s
        self.backoff_max_s = backoff_max_s
        self.connect_timeout_s = connect_timeout_s
        self.clear_retained_on_stop = clear_retained_on_stop
        self.events_poll_s = events_poll_s
        self.outbox = _Outbox()
        controller.publish = self.outbox.put
        self.connections = 0
        """Successful connections so far (1 + the reconnections)."""
        self.connected = False
        self._client: aiomqtt.Client | None = None
        self._aborted = False

    def _tls(self) -> ssl.SSLContext | None:
        return ssl.create_default_context() if self.broker.tls else None

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Connect, serve, reconnect after outages; return when ``stop`` is set or after
        :meth:`abort`."""
        stop = stop or asyncio.Event()
        delay = self.backoff_min_s
        while not stop.is_set() and not self._aborted:
            try:
                await self._session(stop)
                delay = self.backoff_min_s
            except aiomqtt.MqttError as error:
                self.connected = False
                if self._aborted or stop.is_set():
                    break
                wait = delay * random.uniform(0.5, 1.0)  # noqa: S311 - jitter, not a secret
                _LOGGER.info(
                    "door %s: broker unreachable (%s), again in %.1f s",
                    self.controller.serial,
                    error,
                    wait,
                )
                delay = min(self.backoff_max_s, delay * 2)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=wait)
        self.connected = False

    async def _session(self, stop: asyncio.Event) -> None:
        controller = self.controller
        will_topic, will_payload = controller.will()
        client = aiomqtt.Client(
            self.broker.host,
            self.broker.port,
            identifier=self.client_id,
            keepalive=self.keepalive_s,
            will=aiomqtt.Will(will_topic, will_payload, qos=1, retain=True),
            clean_session=True,
            tls_context=self._tls(),
            timeout=self.connect_timeout_s,
        )
        async with client:
            self._client = client
            try:
                for topic in controller.subscriptions():
                    await client.subscribe(topic, qos=1)
                self.connected = True
                self.connections += 1
                controller.on_connect()
                if self.on_ready is not None:
                    self.on_ready()
                await self._serve(client, stop)
                if stop.is_set() and not self._aborted:
                    await self._goodbye(client, will_topic)
            finally:
                self._client = None

    async def _goodbye(self, client: aiomqtt.Client, will_topic: str) -> None:
        if self.clear_retained_on_stop:
            # A simulated door leaving a shared broker: nothing of it stays retained.
            for topic in (self.controller.topic("state"), will_topic):
                await client.publish(topic, b"", qos=1, retain=True, timeout=5)
            return
        # A clean shutdown: say so, since the broker will not publish the will.
        await client.publish(will_topic, self.controller.will()[1], qos=1, retain=True, timeout=5)

    async def _serve(self, client: aiomqtt.Client, stop: asyncio.Event) -> None:
        tasks = [
            asyncio.create_task(self._publisher(client)),
            asyncio.create_task(self._receiver(client)),
            asyncio.create_task(self._heartbeat()),
            asyncio.create_task(stop.wait()),
        ]
        if self.events_poll_s is not None:
            tasks.append(asyncio.create_task(self._events()))
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            await _cancel_all(tasks)
        for task in done:
            error = task.exception()
            if error is not None:
                raise error

    async def _publisher(self, client: aiomqtt.Client) -> None:
        while True:
            item = await self.outbox.get()
            try:
                await client.publish(item[0], item[1], qos=1, retain=item[2])
            except BaseException:
                self.outbox.unget(item)  # it goes out after the reconnection
                raise

    async def _receiver(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            payload = message.payload
            data = payload if isinstance(payload, bytes) else b""
            self.controller.handle(message.topic.value, data)

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_s)
            self.controller.report_state()

    async def _events(self) -> None:
        # Events the door logged outside a command (a phone's session over BLE) go out promptly.
        assert self.events_poll_s is not None
        controller = self.controller
        while True:
            await asyncio.sleep(self.events_poll_s)
            if controller.firmware.flash.chain.next_seq - 1 > controller.published_seq:
                controller.publish_new_events()

    def abort(self) -> None:
        """A power cut: shut the socket without an MQTT DISCONNECT (the broker publishes the
        will) and end :meth:`run`."""
        self._aborted = True
        client = self._client
        if client is None:
            return
        sock = client._client.socket()
        if isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


async def _cancel_all(tasks: Sequence[asyncio.Task[Any]]) -> None:
    """Cancel ``tasks`` and wait for them. Cancelled again until they are done: on Python 3.11
    ``asyncio.wait_for`` (inside aiomqtt's publish) can swallow a cancellation that arrives
    as its future completes, and the publisher would then wait for the outbox for ever."""
    pending = [task for task in tasks if not task.done()]
    while pending:
        for task in pending:
            task.cancel()
        await asyncio.wait(pending, timeout=0.5)
        pending = [task for task in pending if not task.done()]
    for task in tasks:
        if not task.cancelled():
            task.exception()  # retrieved: an error after the cancellation is not reported


async def run_online(
    controller: OnlineController,
    *,
    url: str,
    heartbeat_s: float = 30,
    keepalive_s: int = 30,
    client_id: str | None = None,
    stop: asyncio.Event | None = None,
    on_ready: Callable[[], None] | None = None,
) -> None:
    """Run ``controller`` against the broker at ``url`` until ``stop`` is set (see
    :class:`MqttRunner`; ``on_ready`` is called after every connection and subscription)."""
    runner = MqttRunner(
        controller,
        url=url,
        heartbeat_s=heartbeat_s,
        keepalive_s=keepalive_s,
        client_id=client_id,
        on_ready=on_ready,
    )
    await runner.run(stop)
