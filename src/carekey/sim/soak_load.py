"""The client side of ``carekey bench soak``: a morning's mixed load at a fixed rate, for minutes.

Runs in its own process (``multiprocessing``, spawn), like :mod:`carekey.sim.loadgen`, whose
phone logic it reuses: asyncio (uvloop when installed) and the lean HTTP/1.1 client. Requests are
started on a fixed schedule (open loop: ``rate`` per second, whatever earlier ones are doing), each
of a kind drawn from a fixed mix:

- ``login``: password, device proof, the day's key bundle (the phone's session is renewed);
- ``bundle``: a key-bundle refresh with the session token;
- ``heartbeat``: the phone's heartbeat, carrying the denylist version it has;
- ``events``: a door's next signed events (``events_per_upload``), continuing its hash chain;
- ``admin``: an office read through the administration API (citizens searched by name, doors,
  employees, the audit log, one citizen), with a token signed in once at the start.

Latency counts from when a request was due to its last byte. Every ``sample_s`` seconds the
resident set (``VmRSS`` of ``/proc/<pid>/status``) of each server worker is read (the workers are
the server's children started by ``multiprocessing``); every ``report_s`` seconds a progress line
gives the window's throughput, errors, p50/p99 per kind and the workers' RSS. The result is the
whole run's figures with the RSS samples; :func:`rss_slope` fits the growth per minute.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from carekey.protocol.events import EventChain, EventKind
from carekey.sim.http_client import HttpClient, HttpError
from carekey.sim.loadgen import APP, LoadPlan, Worker, _Load, _run, door_key, percentile

KINDS: Final = ("login", "bundle", "heartbeat", "events", "admin")
# A morning: mostly refreshes and heartbeats, some uploads after visits, a few logins and reads.
DEFAULT_MIX: Final = {
    "login": 0.05,
    "bundle": 0.4,
    "heartbeat": 0.35,
    "events": 0.12,
    "admin": 0.08,
}
PROC: Final = Path("/proc")
ADMIN = "/api/v1/admin"

Report = Callable[[str], None]


@dataclass(frozen=True)
class SoakPlan:
    """Everything the load process needs; plain data, so it pickles across ``spawn``."""

    base_url: str
    municipality: str
    password: str
    workers: list[Worker]
    seed: bytes
    doors: list[str]
    admin_number: str
    admin_totp: str
    citizen_ids: list[int]
    server_pid: int | None
    duration_s: float
    rate: float = 25.0
    mix: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_MIX))
    events_per_upload: int = 20
    sample_s: float = 5.0
    report_s: float = 30.0
    max_in_flight: int = 200
    random_seed: int = 14


# --- RSS of the workers --------------------------------------------------------------------------


def worker_pids(server_pid: int) -> list[int]:
    """The server's worker processes: its children started by ``multiprocessing``'s spawn (not
    its resource tracker), oldest first; the server itself when it has none (one worker)."""
    found: list[int] = []
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == server_pid and b"spawn_main" in cmdline:
            found.append(int(entry.name))
    return sorted(found) or [server_pid]


def rss_mb(pid: int) -> float | None:
    """The resident set of ``pid`` in MB (``VmRSS``), None when it is gone."""
    try:
        for line in (PROC / str(pid) / "status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def rss_slope(samples: Sequence[tuple[float, float]], *, after_s: float) -> float | None:
    """Least-squares slope in MB per minute of ``(seconds, MB)`` samples taken at or after
    ``after_s``; None with fewer than two such samples or all at one time."""
    points = [(t / 60, mb) for t, mb in samples if t >= after_s]
    if len(points) < 2:
        return None
    mean_t = sum(t for t, _ in points) / len(points)
    mean_mb = sum(mb for _, mb in points) / len(points)
    spread = sum((t - mean_t) ** 2 for t, _ in points)
    if spread == 0:
        return None
    return sum((t - mean_t) * (mb - mean_mb) for t, mb in points) / spread


def warmup_s(duration_s: float) -> float:
    """Samples before this are left out of the fit: the first 2 minutes (caches filling, the
    connection pools opening), or the first half of a shorter run."""
    return min(120.0, duration_s / 2)


# --- the load ------------------------------------------------------------------------------------


@dataclass
class _Kind:
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    samples: list[str] = field(default_factory=list)

    def fail(self, what: str) -> None:
        self.errors += 1
        if len(self.samples) < 3:
            self.samples.append(what[:200])


@dataclass
class _Door:
    serial: str
    chain: EventChain


class _Soak:
    def __init__(self, plan: SoakPlan, client: HttpClient, report: Report) -> None:
        self.plan = plan
        self.client = client
        self.report = report
        self.phones = _Load(_login_plan(plan), client, report)
        self.random = random.Random(plan.random_seed)  # noqa: S311 - a load mix, not a secret
        self.doors = [_Door(s, EventChain(s.encode())) for s in plan.doors]
        self.door_turn = 0
        self.denylist_version: dict[int, int] = {}
        self.admin_token = ""
        self.total = {kind: _Kind() for kind in KINDS}
        self.window = {kind: _Kind() for kind in KINDS}
        self.shed = 0
        self.rss: dict[str, list[tuple[float, float]]] = {}
        self.pids: dict[int, str] = {}

    # one request of each kind; each raises on anything but a 2xx answer

    async def login(self) -> None:
        phone = self.random.choice(self.phones.phones)
        bundle = await self.phones.login(phone)
        self.denylist_version[phone.worker.phone_id] = int(bundle["denylist"]["version"])

    async def bundle(self) -> None:
        await self.phones.bundle(self._logged_in())

    async def heartbeat(self) -> None:
        phone = self._logged_in()
        response = await self.client.request(
            "POST",
            f"{APP}/heartbeat",
            json_body={"denylist_version": self.denylist_version.get(phone.worker.phone_id, 0)},
            headers={"Authorization": f"Bearer {phone.token}"},
        )
        response.raise_for_status("heartbeat")

    async def events(self) -> None:
        door = self.doors[self.door_turn % len(self.doors)]
        self.door_turn += 1
        key = door_key(self.plan.seed, door.serial)
        when = dt.datetime.now(dt.UTC).replace(microsecond=0)
        raws: list[str] = []
        chain = door.chain
        for i in range(self.plan.events_per_upload):
            kind = EventKind.UNLOCKED if i % 2 == 0 else EventKind.LOCKED
            signed, chain = chain.append(key, kind=kind, time=when)
            raws.append(base64.b64encode(signed.raw).decode())
        door.chain = chain  # the next upload continues the chain, as the door's log does
        response = await self.client.request(
            "POST",
            f"{APP}/events",
            json_body={"doors": [{"door_id": door.serial, "events": raws}]},
            headers={"Authorization": f"Bearer {self._logged_in().token}"},
        )
        response.raise_for_status("events")

    async def admin(self) -> None:
        pick = self.random.randrange(5)
        number = self.random.randrange(1, 1000)
        path = (
            f"{ADMIN}/citizens?q=Nr.%20{number}",
            f"{ADMIN}/doors?offset={self.random.randrange(0, 200)}&limit=50",
            f"{ADMIN}/employees?q=B{number:03d}",
            f"{ADMIN}/audit?limit=50",
            f"{ADMIN}/citizens/{self.random.choice(self.plan.citizen_ids)}",
        )[pick]
        response = await self.client.request(
            "GET", path, headers={"Authorization": f"Bearer {self.admin_token}"}
        )
        response.raise_for_status("admin")

    def _logged_in(self) -> Any:
        ready = [p for p in self.phones.phones if p.token]
        if not ready:
            raise RuntimeError("no phone is logged in")
        return self.random.choice(ready)

    async def sign_in_admin(self) -> None:
        import pyotp

        response = await self.client.request(
            "POST",
            "/api/v1/auth/token",
            json_body={
                "municipality": self.plan.municipality,
                "employee_number": self.plan.admin_number,
                "password": self.plan.password,
                "totp_code": pyotp.TOTP(self.plan.admin_totp).now(),
            },
        )
        response.raise_for_status("admin sign-in")
        self.admin_token = response.json()["access_token"]

    # --- the schedule --------------------------------------------------------------------------

    async def _one(self, kind: str, due: float) -> None:
        try:
            await getattr(self, kind)()
        except (HttpError, RuntimeError, KeyError, ValueError, TypeError) as exc:
            self.total[kind].fail(repr(exc))
            self.window[kind].fail(repr(exc))
        else:
            ms = (time.perf_counter() - due) * 1000
            self.total[kind].latencies_ms.append(ms)
            self.window[kind].latencies_ms.append(ms)

    def sample_rss(self, elapsed: float) -> dict[str, float]:
        """Read every worker's RSS now; a restarted worker gets a new name."""
        now: dict[str, float] = {}
        if self.plan.server_pid is None:
            return now
        for pid in worker_pids(self.plan.server_pid):
            name = self.pids.setdefault(pid, f"worker_{len(self.pids) + 1}")
            mb = rss_mb(pid)
            if mb is not None:
                self.rss.setdefault(name, []).append((elapsed, mb))
                now[name] = mb
        return now

    def _progress(self, elapsed: float, window_s: float, rss: dict[str, float]) -> None:
        done = sum(len(k.latencies_ms) for k in self.window.values())
        errors = sum(k.errors for k in self.window.values())
        kinds = ", ".join(
            f"{kind} {percentile(k.latencies_ms, 50):.0f}/{percentile(k.latencies_ms, 99):.0f}"
            for kind, k in self.window.items()
            if k.latencies_ms
        )
        memory = ", ".join(f"{name} {mb:.0f} MB" for name, mb in sorted(rss.items()))
        samples = [s for k in self.window.values() for s in k.samples[:1]]
        self.report(
            f"{elapsed / 60:5.1f} min: {done / window_s:.1f} req/s, {errors} errors; "
            f"p50/p99 ms {kinds}; RSS {memory}" + (f"; {samples[:2]}" if samples else "")
        )
        self.window = {kind: _Kind() for kind in KINDS}

    async def run(self) -> dict[str, Any]:
        plan = self.plan
        for phone in self.phones.phones[: max(1, len(self.phones.phones) // 2)]:
            bundle = await self.phones.login(phone)  # half the staff is on duty at the start
            self.denylist_version[phone.worker.phone_id] = int(bundle["denylist"]["version"])
        await self.sign_in_admin()
        kinds = list(plan.mix)
        weights = [plan.mix[k] for k in kinds]
        tasks: set[asyncio.Task[None]] = set()
        started = time.perf_counter()
        self.sample_rss(0.0)
        next_sample = started + plan.sample_s
        next_report, last_report = started + plan.report_s, started
        index = 0
        while True:
            due = started + index / plan.rate
            if due - started >= plan.duration_s:
                break
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            kind = self.random.choices(kinds, weights)[0]
            if len(tasks) >= plan.max_in_flight:
                self.shed += 1  # hopelessly behind: an error, not a latency
                self.total[kind].fail("shed")
                self.window[kind].fail("shed")
            else:
                task = asyncio.create_task(self._one(kind, due))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            index += 1
            now = time.perf_counter()
            if now >= next_sample:
                next_sample += plan.sample_s
                rss = self.sample_rss(now - started)
                if now >= next_report:
                    self._progress(now - started, now - last_report, rss)
                    last_report, next_report = now, next_report + plan.report_s
        if tasks:
            await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - started
        self.sample_rss(elapsed)
        return self.figures(elapsed)

    def figures(self, elapsed: float) -> dict[str, Any]:
        """The run's figures (JSON-ready): counts, rates, p50/p99 per kind, the RSS samples."""
        done = sum(len(k.latencies_ms) for k in self.total.values())
        errors = sum(k.errors for k in self.total.values())
        return {
            "seconds": round(elapsed, 1),
            "requests": done + errors,
            "errors": errors,
            "throughput_per_s": round(done / elapsed, 1) if elapsed > 0 else 0.0,
            "error_rate": round(errors / max(1, done + errors), 5),
            "shed": self.shed,
            "count": {kind: len(k.latencies_ms) for kind, k in self.total.items()},
            "errors_by_kind": {kind: k.errors for kind, k in self.total.items() if k.errors},
            "error_samples": [s for k in self.total.values() for s in k.samples][:5],
            "p50_ms": {
                kind: round(percentile(k.latencies_ms, 50), 1)
                for kind, k in self.total.items()
                if k.latencies_ms
            },
            "p99_ms": {
                kind: round(percentile(k.latencies_ms, 99), 1)
                for kind, k in self.total.items()
                if k.latencies_ms
            },
            "rss_samples": {name: [list(s) for s in v] for name, v in self.rss.items()},
        }


def _login_plan(plan: SoakPlan) -> LoadPlan:
    """The part of a :class:`LoadPlan` that :class:`carekey.sim.loadgen._Load`'s login and
    bundle use."""
    return LoadPlan(
        base_url=plan.base_url,
        municipality=plan.municipality,
        password=plan.password,
        workers=plan.workers,
        seed=plan.seed,
        ingest_doors=[],
    )


async def drive(plan: SoakPlan, report: Report) -> dict[str, Any]:
    """Run the soak against a running server and return its figures."""
    async with HttpClient(plan.base_url, max_connections=64) as client:
        return await _Soak(plan, client, report).run()


def process_main(plan: SoakPlan, queue: Any) -> None:
    """Entry point of the load process: report lines, then ``("result", figures)``."""
    try:
        figures = _run(drive(plan, lambda line: queue.put(("log", line))))
    except BaseException as exc:
        queue.put(("error", f"{type(exc).__name__}: {exc}"))
        raise
    queue.put(("result", figures))
