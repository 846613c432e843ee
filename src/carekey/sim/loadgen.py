"""The client side of ``carekey bench login``: simulated key apps in a separate process.

Runs in its own process (``multiprocessing``, spawn), so the server's CPU time and the load
generator's are not the same Python interpreter. It uses asyncio (on uvloop when installed) and
the lean HTTP/1.1 client of :mod:`carekey.sim.http_client` (keep-alive connections over
loopback, a new one per request when the plan says no keep-alive). The process is bounded in
count and time, and reports progress lines and the final figures through a queue to the parent.

A *key bundle* here is what a logged-in phone does to refresh its keys: sign the
``next_challenge`` of its previous answer with the device key (P-256), or first fetch one with
``POST /challenge`` when it has none, and ``POST /bundle`` with the session token. Its
latency is measured from the moment the request was due (open loop: requests are started on a
fixed schedule whether or not earlier ones have finished, so a slow server cannot hide its
queueing delay) to the last byte of the bundle.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import hashlib
import math
import os
import re
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar

from carekey.protocol.deviceproof import proof_message
from carekey.protocol.events import EventChain, EventKind
from carekey.protocol.keys import P256_ORDER, DeviceKey, DoorKey
from carekey.sim.cpumeter import CpuMeter, per_unit
from carekey.sim.http_client import HttpClient, HttpError

APP: Final = "/api/v1/app"
CHALLENGE_REUSE_S: Final = 90.0  # the server's challenges live 2 minutes


# --- deterministic keys, derived the same way by the setup and by the load generator -----------


def device_scalar(seed: bytes, index: int) -> int:
    """The private scalar of bench phone ``index`` (synthetic phones only, never real keys)."""
    digest = hashlib.sha256(b"carekey-bench-phone\x00" + seed + index.to_bytes(4, "big")).digest()
    return int.from_bytes(digest, "big") % (P256_ORDER - 1) + 1


def door_key(seed: bytes, serial: str) -> DoorKey:
    """The signing key of bench door ``serial`` (synthetic doors only)."""
    return DoorKey.from_seed(
        hashlib.sha256(b"carekey-bench-door\x00" + seed + serial.encode()).digest()
    )


# --- what the parent hands over ----------------------------------------------------------------


@dataclass(frozen=True)
class Worker:
    """One benchmark employee with their phone."""

    employee_number: str
    phone_id: int
    scalar: int


@dataclass(frozen=True)
class LoadPlan:
    """Everything the load process needs; plain data, so it pickles across ``spawn``."""

    base_url: str
    municipality: str
    password: str
    workers: list[Worker]
    seed: bytes
    ingest_doors: list[str]
    login_concurrency: int = 8
    rush_bundle_rate: float = 20.0
    saturation_s: float = 10.0
    saturation_concurrency: int = 16
    rate: float = 200.0
    duration_s: float = 30.0
    max_in_flight: int = 400
    healthz_s: float = 3.0
    healthz_concurrency: int = 16
    ingest_events: int = 100_000
    ingest_events_per_upload: int = 1_000
    ingest_events_per_door: int = 1_000
    ingest_concurrency: int = 8
    ingest_timeout_s: float = 120.0
    keepalive: bool = True
    reuse_challenge: bool = True
    server_pid: int | None = None  # for the CPU accounting (the workers are its children)
    database: str = "sqlite"  # "postgresql": count the local PostgreSQL processes' CPU too


@dataclass
class _Phone:
    worker: Worker
    key: DeviceKey
    token: str = ""
    challenge: str | None = None  # ``next_challenge`` of the last answer, if the server sends one
    challenge_at: float = 0.0


@dataclass
class _Stats:
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)

    def fail(self, what: str) -> None:
        self.errors += 1
        if len(self.error_samples) < 5:
            self.error_samples.append(what[:300])


def percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile (0-100) by nearest rank; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


@dataclass
class _Paced:
    stats: _Stats
    shed: int = 0
    elapsed: float = 0.0


Report = Callable[[str], None]

_NEXT_CHALLENGE = re.compile(rb'"next_challenge"\s*:\s*"([^"]+)"')


def _next_challenge(body: bytes) -> str | None:
    """The ``next_challenge`` of a bundle answer, found without parsing the whole 70 KB of JSON
    (the load generator shares the machine's two cores with the server)."""
    found = _NEXT_CHALLENGE.search(body)
    return found.group(1).decode() if found else None


class _Load:
    def __init__(self, plan: LoadPlan, client: HttpClient, report: Report) -> None:
        self.plan = plan
        self.client = client
        self.report = report
        self.phones = [_Phone(w, DeviceKey.from_scalar(w.scalar)) for w in plan.workers]

    async def _proof(self, phone: _Phone, purpose: str) -> dict[str, str]:
        challenge = phone.challenge
        phone.challenge = None  # single use
        if challenge is None or time.monotonic() - phone.challenge_at > CHALLENGE_REUSE_S:
            response = await self.client.request(
                "POST", f"{APP}/challenge", json_body={"phone_id": phone.worker.phone_id}
            )
            response.raise_for_status("challenge")
            challenge = response.json()["challenge"]
        signature = phone.key.sign(proof_message(challenge, phone.worker.phone_id, purpose))
        return {"challenge": challenge, "signature": base64.b64encode(signature).decode()}

    async def login(self, phone: _Phone) -> dict[str, Any]:
        body = {
            "municipality": self.plan.municipality,
            "employee_number": phone.worker.employee_number,
            "password": self.plan.password,
            "phone_id": phone.worker.phone_id,
            **(await self._proof(phone, "login")),
        }
        response = await self.client.request("POST", f"{APP}/login", json_body=body)
        if response.status_code != 200:
            raise RuntimeError(f"login {response.status_code}: {response.text}")
        bundle: dict[str, Any] = response.json()
        phone.token = bundle["session_token"]
        self._keep_challenge(phone, bundle)
        return bundle

    def _keep_challenge(self, phone: _Phone, answer: dict[str, Any]) -> None:
        if self.plan.reuse_challenge and answer.get("next_challenge"):
            phone.challenge = answer["next_challenge"]
            phone.challenge_at = time.monotonic()

    async def bundle(self, phone: _Phone) -> int:
        """One key-bundle refresh (one request when the last answer carried the next
        challenge, else challenge + bundle); returns the response size in bytes."""
        proof = await self._proof(phone, "bundle")
        response = await self.client.request(
            "POST",
            f"{APP}/bundle",
            json_body=proof,
            headers={"Authorization": f"Bearer {phone.token}"},
        )
        if response.status_code != 200:
            raise RuntimeError(f"bundle {response.status_code}: {response.text}")
        body = response.content
        if self.plan.reuse_challenge:
            self._keep_challenge(phone, {"next_challenge": _next_challenge(body)})
        return len(body)

    # --- phases --------------------------------------------------------------------------------

    async def logins(self) -> dict[str, float | int]:
        """Every employee logs in once, concurrently (bounded): the password-check rate.

        The first quarter logs in alone; while the rest log in, phones already logged in fetch
        bundles at ``rush_bundle_rate``, to see whether bundles queue behind password hashing.
        """
        gate = asyncio.Semaphore(self.plan.login_concurrency)
        stats = _Stats()
        doors: list[int] = []
        credentials: list[int] = []

        async def one(phone: _Phone) -> None:
            async with gate:
                started = time.perf_counter()
                try:
                    bundle = await self.login(phone)
                except (HttpError, RuntimeError, KeyError, ValueError) as exc:
                    stats.fail(repr(exc))
                    return
                stats.latencies_ms.append((time.perf_counter() - started) * 1000)
                doors.append(len(bundle["doors"]))
                credentials.append(len(bundle["credentials"]))

        first = max(1, len(self.phones) // 4)
        started = time.perf_counter()
        await asyncio.gather(*(one(p) for p in self.phones[:first]))
        rush: _Paced | None = None
        if len(self.phones) > first and self.plan.rush_bundle_rate > 0 and self._ready():
            stop = asyncio.Event()
            stream = asyncio.create_task(
                self._paced(self.plan.rush_bundle_rate, total=None, stop=stop)
            )
            await asyncio.gather(*(one(p) for p in self.phones[first:]))
            stop.set()
            rush = await stream
        else:
            await asyncio.gather(*(one(p) for p in self.phones[first:]))
        elapsed = time.perf_counter() - started
        ok = len(stats.latencies_ms)
        figures: dict[str, float | int] = {
            "logins": ok,
            "login_errors": stats.errors,
            "password_checks_per_s": round(ok / elapsed, 1),
            "login_concurrency": self.plan.login_concurrency,
            "login_p50_ms": round(percentile(stats.latencies_ms, 50), 1),
            "login_p99_ms": round(percentile(stats.latencies_ms, 99), 1),
            "doors_per_login": round(sum(doors) / len(doors)) if doors else 0,
            "credentials_per_login": round(sum(credentials) / len(credentials))
            if credentials
            else 0,
        }
        self.report(
            f"logins: {ok}/{len(self.phones)} in {elapsed:.1f} s = "
            f"{figures['password_checks_per_s']}/s (p50 {figures['login_p50_ms']} ms), "
            f"{figures['doors_per_login']} doors, {figures['credentials_per_login']} credentials"
            + (f"; errors {stats.errors}: {stats.error_samples[:2]}" if stats.errors else "")
        )
        if rush is not None:
            lat = rush.stats.latencies_ms
            figures.update(
                {
                    "bundle_rate_during_logins": self.plan.rush_bundle_rate,
                    "bundle_p50_ms_during_logins": round(percentile(lat, 50), 1),
                    "bundle_p99_ms_during_logins": round(percentile(lat, 99), 1),
                    "bundle_errors_during_logins": rush.stats.errors + rush.shed,
                }
            )
            self.report(
                f"  bundles at {self.plan.rush_bundle_rate:g}/s during the logins: {len(lat)} ok, "
                f"p50 {figures['bundle_p50_ms_during_logins']} / "
                f"p99 {figures['bundle_p99_ms_during_logins']} ms"
            )
        return figures

    def _ready(self) -> list[_Phone]:
        ready = [p for p in self.phones if p.token]
        if not ready:
            raise RuntimeError("no employee could log in; nothing to measure")
        return ready

    async def saturation(self) -> dict[str, float | int]:
        """Closed loop at fixed concurrency for a fixed time: key bundles per second."""
        phones = self._ready()
        stats = _Stats()
        sizes: list[int] = []
        deadline = time.perf_counter() + self.plan.saturation_s
        counter = iter(range(1 << 30))

        async def loop() -> None:
            while time.perf_counter() < deadline:
                phone = phones[next(counter) % len(phones)]
                started = time.perf_counter()
                try:
                    sizes.append(await self.bundle(phone))
                except (HttpError, RuntimeError, KeyError, ValueError) as exc:
                    stats.fail(repr(exc))
                    continue
                stats.latencies_ms.append((time.perf_counter() - started) * 1000)

        meter = self._meter()
        before = meter.sample()
        started = time.perf_counter()
        await asyncio.gather(*(loop() for _ in range(self.plan.saturation_concurrency)))
        elapsed = time.perf_counter() - started
        after = meter.sample()
        rate = len(stats.latencies_ms) / elapsed
        figures: dict[str, float | int] = {
            "key_bundles_per_s": round(rate, 1),
            "saturation_concurrency": self.plan.saturation_concurrency,
            "saturation_p50_ms": round(percentile(stats.latencies_ms, 50), 1),
            "saturation_errors": stats.errors,
            "bundle_response_kb": round(sum(sizes) / len(sizes) / 1024, 1) if sizes else 0,
        }
        cpu = per_unit(
            before,
            after,
            len(stats.latencies_ms),
            scale=1e3,
            suffix="ms_per_bundle",
            phase="saturation",
        )
        figures.update(cpu)
        self.report(
            f"saturation: {len(stats.latencies_ms)} bundles in {elapsed:.1f} s = {rate:.1f}/s "
            f"at concurrency {self.plan.saturation_concurrency} "
            f"(p50 {figures['saturation_p50_ms']} ms, {figures['bundle_response_kb']} KiB each)"
            + (f"; errors {stats.errors}: {stats.error_samples[:2]}" if stats.errors else "")
        )
        if cpu:
            self.report("  " + _cpu_line(cpu, "ms_per_bundle", "ms per bundle"))
        return figures

    def _meter(self) -> CpuMeter:
        return CpuMeter(self.plan.server_pid, database=self.plan.database)

    async def _paced(
        self, rate: float, *, total: int | None, stop: asyncio.Event | None = None
    ) -> _Paced:
        """Open loop: start a bundle every 1/rate s (``total`` of them, or until ``stop``);
        latency counts from when each was due, so queueing in the server is not hidden."""
        phones = self._ready()
        result = _Paced(_Stats())
        in_flight = 0
        tasks: list[asyncio.Task[None]] = []

        async def one(index: int, due: float) -> None:
            nonlocal in_flight
            try:
                await self.bundle(phones[index % len(phones)])
            except (HttpError, RuntimeError, KeyError, ValueError) as exc:
                result.stats.fail(repr(exc))
            else:
                result.stats.latencies_ms.append((time.perf_counter() - due) * 1000)
            finally:
                in_flight -= 1

        started = time.perf_counter()
        next_report = started + 5
        index = 0
        while (total is None or index < total) and not (stop is not None and stop.is_set()):
            due = started + index / rate
            delay = due - time.perf_counter()
            if delay > 0:
                if stop is None:
                    await asyncio.sleep(delay)
                else:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), delay)
                    if stop.is_set():
                        break
            if in_flight >= self.plan.max_in_flight:
                result.shed += 1  # hopelessly behind: counted as an error, not as a latency
            else:
                in_flight += 1
                tasks.append(asyncio.create_task(one(index, due)))
            index += 1
            now = time.perf_counter()
            if total is not None and now >= next_report:
                next_report = now + 5
                self.report(
                    f"  offered load: {now - started:4.0f} s, {len(result.stats.latencies_ms)} "
                    f"done, {in_flight} in flight, "
                    f"p99 so far {percentile(result.stats.latencies_ms, 99):.0f} ms"
                )
        await asyncio.gather(*tasks)
        result.elapsed = time.perf_counter() - started
        return result

    async def offered_load(self) -> dict[str, float | int]:
        """Bundles at ``rate``/s for ``duration`` s: p50/p95/p99 from the due time."""
        rate, duration = self.plan.rate, self.plan.duration_s
        paced = await self._paced(rate, total=max(1, int(rate * duration)))
        lat, errors = paced.stats.latencies_ms, paced.stats.errors + paced.shed
        figures: dict[str, float | int] = {
            "offered_rate_per_s": rate,
            "offered_duration_s": duration,
            "achieved_bundles_per_s": round(len(lat) / paced.elapsed, 1),
            "p50_ms_at_rate": round(percentile(lat, 50), 1),
            "p95_ms_at_rate": round(percentile(lat, 95), 1),
            "p99_ms_at_rate": round(percentile(lat, 99), 1),
            "max_ms_at_rate": round(max(lat), 1) if lat else 0.0,
            "errors_at_rate": errors,
        }
        self.report(
            f"offered {rate:g}/s for {duration:g} s: {len(lat)} ok, {errors} errors or shed; "
            f"p50 {figures['p50_ms_at_rate']} / p95 {figures['p95_ms_at_rate']} / "
            f"p99 {figures['p99_ms_at_rate']} ms"
            + (f"; {paced.stats.error_samples[:2]}" if paced.stats.errors else "")
        )
        return figures

    async def settle(self, limit_s: float = 90.0) -> float:
        """Wait until the server answers ``/healthz`` quickly again (after an overload it may
        still be working off requests whose clients gave up); returns the seconds waited."""
        started = time.perf_counter()
        while time.perf_counter() - started < limit_s:
            try:
                response = await self.client.request("GET", "/healthz", timeout=2.0)
            except HttpError:
                continue
            if response.status_code == 200:
                break
            await asyncio.sleep(0.5)
        waited = time.perf_counter() - started
        if waited > 1:
            self.report(f"  (server busy with abandoned requests; settled after {waited:.0f} s)")
        return waited

    async def healthz(self) -> dict[str, float | int]:
        """The bare endpoint, closed loop, same server and run."""
        settle_s = await self.settle()
        count = errors = 0
        deadline = time.perf_counter() + self.plan.healthz_s

        async def loop() -> None:
            nonlocal count, errors
            while time.perf_counter() < deadline:
                try:
                    response = await self.client.request("GET", "/healthz")
                except HttpError:
                    errors += 1
                    continue
                if response.status_code == 200:
                    count += 1
                else:
                    errors += 1

        started = time.perf_counter()
        await asyncio.gather(*(loop() for _ in range(self.plan.healthz_concurrency)))
        rate = count / (time.perf_counter() - started)
        self.report(f"healthz: {rate:.0f}/s ({errors} errors)")
        return {
            "healthz_per_s": round(rate, 1),
            "healthz_errors": errors,
            "settle_s_after_rate": round(settle_s, 1),
        }

    def _uploads(self) -> list[dict[str, Any]]:
        """Signed, chained door events, grouped into upload bodies (built before timing)."""
        plan = self.plan
        per_door = plan.ingest_events_per_door
        doors_needed = math.ceil(plan.ingest_events / per_door)
        serials = plan.ingest_doors[:doors_needed]
        when = dt.datetime.now(dt.UTC)
        batches: list[dict[str, Any]] = []
        for serial in serials:
            key = door_key(plan.seed, serial)
            chain = EventChain(serial.encode())
            raws: list[str] = []
            for i in range(per_door):
                signed, chain = chain.append(
                    key,
                    kind=EventKind.UNLOCKED if i % 2 == 0 else EventKind.LOCKED,
                    time=when + dt.timedelta(seconds=i),
                )
                raws.append(base64.b64encode(signed.raw).decode())
            batches.append({"door_id": serial, "events": raws})
        doors_per_upload = max(1, plan.ingest_events_per_upload // per_door)
        return [
            {"doors": batches[i : i + doors_per_upload]}
            for i in range(0, len(batches), doors_per_upload)
        ]

    async def ingest(self) -> dict[str, float | int]:
        """Large uploads of signed door events, a few at a time: stored events per second."""
        phones = self._ready()
        await self.settle()
        building = time.perf_counter()
        uploads = self._uploads()
        events = sum(len(b["events"]) for u in uploads for b in u["doors"])
        self.report(
            f"ingest: {events} signed events in {len(uploads)} uploads built in "
            f"{time.perf_counter() - building:.1f} s; uploading"
        )
        stored = flagged = 0
        stats = _Stats()
        queue = list(enumerate(uploads))

        async def loop() -> None:
            nonlocal stored, flagged
            while queue:
                index, body = queue.pop(0)
                phone = phones[index % len(phones)]
                started = time.perf_counter()
                try:
                    response = await self.client.request(
                        "POST",
                        f"{APP}/events",
                        json_body=body,
                        headers={"Authorization": f"Bearer {phone.token}"},
                        timeout=self.plan.ingest_timeout_s,
                    )
                except HttpError as exc:
                    stats.fail(repr(exc))
                    continue
                if response.status_code != 200:
                    stats.fail(f"events {response.status_code}: {response.text}")
                    continue
                result = response.json()
                stored += int(result.get("stored", 0))
                flagged += sum(int(v) for v in result.get("flagged", {}).values())
                stats.latencies_ms.append((time.perf_counter() - started) * 1000)

        meter = self._meter()
        before = meter.sample()
        started = time.perf_counter()
        await asyncio.gather(*(loop() for _ in range(self.plan.ingest_concurrency)))
        elapsed = time.perf_counter() - started
        cpu = per_unit(
            before, meter.sample(), stored, scale=1e6, suffix="us_per_event", phase="ingest"
        )
        rate = stored / elapsed if elapsed > 0 else 0.0
        self.report(
            f"ingest: {stored} stored ({flagged} flagged) in {elapsed:.1f} s = "
            f"{rate:.0f} events/s, "
            f"upload p50 {percentile(stats.latencies_ms, 50):.0f} ms"
            + (f"; errors {stats.errors}: {stats.error_samples[:2]}" if stats.errors else "")
        )
        if cpu:
            self.report("  " + _cpu_line(cpu, "us_per_event", "µs per event"))
        return {
            "ingest_events_per_s": round(rate, 1),
            "ingest_events_stored": stored,
            "ingest_events_flagged": flagged,
            "ingest_upload_p50_ms": round(percentile(stats.latencies_ms, 50), 1),
            "ingest_errors": stats.errors,
            **cpu,
        }


def _cpu_line(cpu: dict[str, float], suffix: str, unit: str) -> str:
    """``CPU ms per bundle: server 4.3, PostgreSQL 2.1, load generator 0.3; 1.9 cores busy``."""
    parts = [f"server {cpu[f'server_cpu_{suffix}']:g}"]
    if f"postgres_cpu_{suffix}" in cpu:
        parts.append(f"PostgreSQL {cpu[f'postgres_cpu_{suffix}']:g}")
    parts.append(f"load generator {cpu[f'loadgen_cpu_{suffix}']:g}")
    busy = [v for k, v in cpu.items() if k.startswith("busy_cores_")]
    tail = f"; machine {busy[0]:g} of {os.cpu_count() or 1} cores busy" if busy else ""
    return f"CPU {unit}: " + ", ".join(parts) + tail


Phase = Callable[[], Awaitable[dict[str, float | int]]]


async def drive(plan: LoadPlan, report: Report) -> dict[str, float | int]:
    """Run every phase against a running server and return the merged figures."""
    # Without keep-alive every request is a new connection, as from many separate phones; the
    # kernel then spreads them over the uvicorn workers instead of pinning a few long-lived ones.
    async with HttpClient(plan.base_url, max_connections=256, keepalive=plan.keepalive) as client:
        load = _Load(plan, client, report)
        figures: dict[str, float | int] = {}
        phases: list[Phase] = [load.logins, load.saturation, load.offered_load, load.healthz]
        if plan.ingest_events > 0:
            phases.append(load.ingest)
        for phase in phases:
            figures.update(await phase())
        return figures


_T = TypeVar("_T")


def _run(main: Coroutine[Any, Any, _T]) -> _T:
    """``asyncio.run``, on uvloop when it is installed (it comes with ``uvicorn[standard]``,
    except on Windows): measured, it takes about a third off the client's CPU per key bundle."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    return uvloop.run(main)


def process_main(plan: LoadPlan, queue: Any) -> None:
    """Entry point of the load process: report lines, then ``("result", figures)``."""
    try:
        figures = _run(drive(plan, lambda line: queue.put(("log", line))))
    except BaseException as exc:
        queue.put(("error", f"{type(exc).__name__}: {exc}"))
        raise
    queue.put(("result", figures))
