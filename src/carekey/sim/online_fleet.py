"""A fleet of simulated online entrance controllers, each its own MQTT client (issue 17).

For the benchmark and the tests: :func:`build_fleet` makes N doors (serials ``ENT-ON-000001``…,
fresh door keys, reproducible with ``seed``) whose serials and public keys the server registers;
:func:`run_fleet` runs them in one asyncio loop, each door a real
:class:`~carekey.devices.controller.EntranceController` behind an
:class:`~carekey.devices.online.OnlineController` and an :class:`~carekey.devices.mqtt.MqttRunner`;
:class:`FleetProcess` spreads them over worker processes (one loop each) and says when every
door is connected and subscribed::

    doors = build_fleet(1500, seed=7)
    register(doors)  # the server side: serial, door_id, public_key
    with FleetProcess(doors, url="mqtt://127.0.0.1:1883", prefix=p, issuer="101",
                      issuer_keys=[issuer_key.public], processes=2) as fleet:
        report = fleet.wait_ready(timeout=60)
        ...  # block someone, time the acknowledgements on the server side
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import multiprocessing
import multiprocessing.synchronize
import os
import queue
import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Final

from carekey.clock import SystemClock
from carekey.devices.controller import EntranceController
from carekey.devices.mqtt import MqttRunner
from carekey.devices.online import OnlineController
from carekey.protocol.keys import DoorKey, DoorPublicKey, IssuerKeyring, IssuerPublicKey

SERIAL_PREFIX: Final = "ENT-ON-"
CONNECT_CONCURRENCY: Final = 256
"""Connections a worker opens at the same time (the rest wait their turn)."""


@dataclass(frozen=True, slots=True)
class FleetDoor:
    """One simulated controller as the server registers it (and as a worker rebuilds it)."""

    serial: str
    door_key_seed: bytes = field(repr=False)

    @property
    def door_id(self) -> bytes:
        return self.serial.encode()

    @property
    def door_key(self) -> DoorKey:
        return DoorKey.from_seed(self.door_key_seed)

    @property
    def public_key(self) -> DoorPublicKey:
        return self.door_key.public


def build_fleet(
    n: int, *, seed: int | None = None, start: int = 1, serial_prefix: str = SERIAL_PREFIX
) -> list[FleetDoor]:
    """N doors with serials ``{serial_prefix}{start:06d}``…; door keys from ``seed`` (None:
    from the OS)."""
    rng = random.Random(seed) if seed is not None else None  # noqa: S311 - reproducible tests
    return [
        FleetDoor(
            f"{serial_prefix}{i:06d}",
            rng.randbytes(32) if rng is not None else os.urandom(32),
        )
        for i in range(start, start + n)
    ]


@dataclass(slots=True)
class FleetStats:
    """What one loop of the fleet saw."""

    doors: int = 0
    connected: int = 0
    """Doors connected and subscribed at least once."""
    connect_s: float | None = None
    """From the start until every door was connected and subscribed."""
    connections: int = 0
    handled: int = 0
    refused: int = 0
    failed: int = 0
    """Doors that were not connected within the connect timeout."""

    def merge(self, other: FleetStats) -> None:
        self.doors += other.doors
        self.connected += other.connected
        self.connections += other.connections
        self.handled += other.handled
        self.refused += other.refused
        self.failed += other.failed
        if other.connect_s is not None:
            self.connect_s = max(self.connect_s or 0.0, other.connect_s)


def make_controller(
    door: FleetDoor, *, issuer: str, issuer_keys: Iterable[IssuerPublicKey], prefix: str
) -> OnlineController:
    """The door's firmware (commissioned: it knows the time) and its online side."""
    firmware = EntranceController(
        door_id=door.door_id,
        door_key=door.door_key,
        keyring=IssuerKeyring.of(list(issuer_keys)),
        clock=SystemClock(),
    )
    now = datetime.now(UTC)
    firmware.clock.set(now)
    firmware.flash.last_token_time = now
    return OnlineController(
        firmware, issuer=issuer, serial=door.serial, prefix=prefix, publish=_not_yet
    )


def _not_yet(topic: str, payload: bytes, retain: bool) -> None:
    raise RuntimeError("the runner sets publish")  # pragma: no cover


async def run_fleet(
    doors: Sequence[FleetDoor],
    *,
    url: str,
    prefix: str,
    issuer: str,
    issuer_keys: Iterable[IssuerPublicKey],
    stop: asyncio.Event,
    ready: asyncio.Event | None = None,
    heartbeat_s: float = 30.0,
    keepalive_s: int = 30,
    client_tag: str | None = None,
    connect_timeout_s: float = 120.0,
    concurrency: int = CONNECT_CONCURRENCY,
    on_stats: Callable[[FleetStats], None] | None = None,
    clear_retained: bool = True,
) -> FleetStats:
    """Run ``doors`` in this loop until ``stop``; ``ready`` is set once every door is connected
    and subscribed (or the connect timeout passed); ``on_stats`` is called then with the stats.
    Client ids are ``{client_tag}-{serial}`` (default tag: this process id). When stopped, the
    doors clear what they left retained (``clear_retained``) rather than report offline."""
    keys = list(issuer_keys)
    tag = client_tag or f"fleet{os.getpid()}"
    stats = FleetStats(doors=len(doors))
    gate = asyncio.Semaphore(concurrency)
    began = time.monotonic()
    runners: list[MqttRunner] = []
    tasks: list[asyncio.Task[None]] = []
    firsts: list[asyncio.Event] = []

    def first_ready(event: asyncio.Event) -> Callable[[], None]:
        def mark() -> None:
            if not event.is_set():
                event.set()
                stats.connected += 1

        return mark

    async def start(runner: MqttRunner, first: asyncio.Event) -> None:
        async with gate:
            tasks.append(asyncio.create_task(runner.run(stop)))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(first.wait(), timeout=connect_timeout_s)

    for door in doors:
        controller = make_controller(door, issuer=issuer, issuer_keys=keys, prefix=prefix)
        first = asyncio.Event()
        runner = MqttRunner(
            controller,
            url=url,
            heartbeat_s=heartbeat_s * random.uniform(0.9, 1.1),  # noqa: S311 - spread, not secret
            keepalive_s=keepalive_s,
            client_id=f"{tag}-{door.serial}",
            on_ready=first_ready(first),
            clear_retained_on_stop=clear_retained,
            events_poll_s=None,  # nobody opens these doors over BLE: no task per door for it
        )
        runners.append(runner)
        firsts.append(first)
    starters = [asyncio.create_task(start(r, f)) for r, f in zip(runners, firsts, strict=True)]
    try:
        await asyncio.gather(*starters)
        stats.connect_s = time.monotonic() - began
        stats.failed = stats.doors - stats.connected
        if on_stats is not None:
            on_stats(stats)
        if ready is not None:
            ready.set()
        await stop.wait()
    finally:
        stop.set()
        loop = asyncio.get_running_loop()
        previous = loop.get_exception_handler()
        loop.set_exception_handler(_quiet_shutdown)
        for starter in starters:
            starter.cancel()
        await asyncio.gather(*starters, return_exceptions=True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 30)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.sleep(0)
        loop.set_exception_handler(previous)
    stats.connections = sum(r.connections for r in runners)
    stats.handled = sum(r.controller.handled for r in runners)
    stats.refused = sum(r.controller.refused for r in runners)
    return stats


def _quiet_shutdown(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """While thousands of clients disconnect at once, paho asks to watch a socket it has just
    closed (``add_writer`` on a closed fd, EBADF): harmless, and not worth a traceback each."""
    error = context.get("exception")
    if isinstance(error, OSError) and error.errno == errno.EBADF:
        return
    loop.default_exception_handler(context)


# --- worker processes ---------------------------------------------------------------------------


def _worker(
    doors: list[FleetDoor],
    options: dict[str, Any],
    stop: multiprocessing.synchronize.Event,
    results: multiprocessing.Queue[tuple[str, FleetStats]],
) -> None:
    async def main() -> FleetStats:
        done = asyncio.Event()

        async def watch() -> None:
            while not stop.is_set():
                await asyncio.sleep(0.1)
            done.set()

        watcher = asyncio.create_task(watch())
        try:
            return await run_fleet(
                doors,
                stop=done,
                on_stats=lambda s: results.put(("ready", s)),
                **options,
            )
        finally:
            watcher.cancel()

    final = asyncio.run(main())
    results.put(("done", final))


@dataclass(slots=True)
class FleetReport:
    """All workers together."""

    stats: FleetStats
    processes: int
    ready_s: float
    """From starting the processes until every worker's doors were connected."""


class FleetProcess:
    """``doors`` in ``processes`` worker processes, each one asyncio loop (a context manager).

    :meth:`wait_ready` blocks until every worker has connected and subscribed all of its doors
    and returns the report; leaving the context stops the workers (clean disconnects)."""

    def __init__(
        self,
        doors: Sequence[FleetDoor],
        *,
        url: str,
        prefix: str,
        issuer: str,
        issuer_keys: Iterable[IssuerPublicKey],
        processes: int = 1,
        heartbeat_s: float = 30.0,
        keepalive_s: int = 30,
        client_tag: str | None = None,
    ) -> None:
        self.doors = list(doors)
        self.processes = max(1, min(processes, len(self.doors) or 1))
        tag = client_tag or f"fleet{os.getpid()}-{os.urandom(3).hex()}"
        self._options: dict[str, Any] = {
            "url": url,
            "prefix": prefix,
            "issuer": issuer,
            "issuer_keys": list(issuer_keys),
            "heartbeat_s": heartbeat_s,
            "keepalive_s": keepalive_s,
        }
        self._tag = tag
        self._ctx = multiprocessing.get_context("spawn")
        self._stop = self._ctx.Event()
        self._results: multiprocessing.Queue[tuple[str, FleetStats]] = self._ctx.Queue()
        self._workers: list[multiprocessing.process.BaseProcess] = []
        self._started = 0.0
        self.report: FleetReport | None = None
        self.final: FleetStats | None = None

    def __enter__(self) -> FleetProcess:
        self._started = time.monotonic()
        share = -(-len(self.doors) // self.processes)
        for index in range(self.processes):
            chunk = self.doors[index * share : (index + 1) * share]
            options = {**self._options, "client_tag": f"{self._tag}-w{index}"}
            worker = self._ctx.Process(
                target=_worker,
                args=(chunk, options, self._stop, self._results),
                name=f"carekey-fleet-{index}",
                daemon=True,
            )
            worker.start()
            self._workers.append(worker)
        return self

    def wait_ready(self, timeout: float = 120.0) -> FleetReport:
        """Block until every worker reported its doors connected; the merged report."""
        total = FleetStats()
        deadline = time.monotonic() + timeout
        readies = 0
        while readies < len(self._workers):
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{readies} of {len(self._workers)} fleet workers ready")
            try:
                kind, stats = self._results.get(timeout=min(left, 1.0))
            except queue.Empty:
                if any(w.exitcode not in (None, 0) for w in self._workers):
                    raise RuntimeError("a fleet worker died") from None
                continue
            if kind == "ready":
                readies += 1
                total.merge(stats)
        self.report = FleetReport(total, len(self._workers), time.monotonic() - self._started)
        return self.report

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        final = FleetStats()
        deadline = time.monotonic() + 60
        finished = 0
        while finished < len(self._workers) and time.monotonic() < deadline:
            try:
                kind, stats = self._results.get(timeout=1.0)
            except queue.Empty:
                if all(not w.is_alive() for w in self._workers):
                    break
                continue
            if kind == "done":
                finished += 1
                final.merge(stats)
        for worker in self._workers:
            worker.join(timeout=10)
            if worker.is_alive():
                worker.terminate()
                worker.join(timeout=5)
        self._results.close()
        self.final = final
