"""``carekey bench login``: logins, key bundles, health and event ingest over real HTTP.

Method:

1. **Data.** The given database is migrated; a benchmark municipality (code ``9999``,
   "Benchmarkkommune") is bulk-inserted with an active issuer key, districts of
   ``ceil(doors / 3)`` citizens each (every citizen has a home lock, an entrance controller and
   a gate controller, so a care worker of a district gets ``≈ doors`` doors), ``employees`` care
   workers (spread over the districts, about 20 per district) and one phone each, already
   enrolled: the phones' device public keys are written directly, derived from a seed that the
   load process derives the same way. An earlier run's benchmark municipality is deleted first,
   and this run's afterwards, so reruns against a shared PostgreSQL work.
2. **Server.** ``python -m carekey serve --workers N`` (default 2) as a subprocess on
   127.0.0.1 and a free port: the command an operator runs, each worker with its own listening
   socket (``SO_REUSEPORT``, see :mod:`carekey.server.serve`), a fixed ``CAREKEY_SECRET_KEY``,
   keep-alive 120 s; the benchmark waits for ``/healthz``.
3. **Load.** A separate process (:mod:`carekey.sim.loadgen`: asyncio on uvloop and a lean
   HTTP/1.1 client of its own, so the load generator takes little CPU from the server it
   measures) runs the phases: all employees log in once (password checks/s), key-bundle
   refreshes at fixed concurrency (saturation), an open-loop offered load at ``rate``
   bundles/s for ``duration`` seconds (p50/p95/p99 from the due time), ``/healthz`` closed
   loop, and event uploads (ingest: a door's log of 1,000 events per upload, 8 at a time).
4. The server is stopped and the figures are returned (the CLI prints them as one JSON line).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import math
import multiprocessing
import os
import queue as queue_module
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Final

import typer
from rich.console import Console
from sqlalchemy import Connection, Engine, delete, func, insert, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from carekey.auth.passwords import hash_password
from carekey.domain import enums as e
from carekey.keyservice.issuer import create_issuer_key
from carekey.protocol.keys import DeviceKey
from carekey.sim import server
from carekey.sim.loadgen import LoadPlan, Worker, device_scalar, door_key, process_main
from carekey.store import models as m
from carekey.store.db import create_db_engine
from carekey.store.migrate import upgrade

BENCH_MUNICIPALITY_CODE: Final = "9999"
BENCH_MUNICIPALITY_NAME: Final = "Benchmarkkommune"
BENCH_PASSWORD: Final = "benchmark-adgangskode"  # noqa: S105 - synthetic benchmark employees only
BENCH_SECRET: Final = "carekey-benchmark-secret-key-0123456789abcdef"  # noqa: S105 - loopback bench
BENCH_SEED: Final = b"carekey-bench-v1"
WORKERS_PER_DISTRICT: Final = 20
SERIAL_PREFIX: Final = "BENCH"

Echo = Callable[[str], None]


@dataclass(frozen=True)
class BenchData:
    """What the setup wrote: the municipality and the employees with their phones."""

    municipality_id: int
    workers: list[Worker]
    home_lock_serials: list[str]
    districts: int
    citizens: int
    door_devices: int


def _chunks(rows: Sequence[dict[str, Any]], size: int = 1000) -> Iterator[Sequence[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _insert(connection: Connection, model: type[m.Base], rows: list[dict[str, Any]]) -> list[int]:
    """Bulk insert; returns the new ids in the order of ``rows`` (the database assigns them,
    so the benchmark can share a database with other data)."""
    ids: list[int] = []
    table: Any = model.__table__
    for chunk in _chunks(rows):
        result = connection.execute(
            insert(model).returning(table.c.id, sort_by_parameter_order=True), chunk
        )
        ids += [int(row[0]) for row in result]
    return ids


def remove_bench_data(connection: Connection, code: str = BENCH_MUNICIPALITY_CODE) -> bool:
    """Delete the benchmark municipality and everything under it; False if there was none."""
    mid = connection.execute(
        select(m.Municipality.id).where(m.Municipality.code == code)
    ).scalar_one_or_none()
    if mid is None:
        return False
    props = select(m.Property.id).where(m.Property.municipality_id == mid)
    entrances = select(m.Entrance.id).where(m.Entrance.property_id.in_(props))
    employees = select(m.Employee.id).where(m.Employee.municipality_id == mid)
    special = {
        "employee_role": delete(m.EmployeeRole).where(m.EmployeeRole.employee_id.in_(employees)),
        "dwelling": delete(m.Dwelling).where(m.Dwelling.entrance_id.in_(entrances)),
        "entrance": delete(m.Entrance).where(m.Entrance.property_id.in_(props)),
        "gate": delete(m.Gate).where(m.Gate.property_id.in_(props)),
    }
    for table in reversed(m.Base.metadata.sorted_tables):
        if table.name in special:
            connection.execute(special[table.name])
        elif table.name == "municipality":
            connection.execute(delete(table).where(table.c.id == mid))
        elif "municipality_id" in table.c:
            connection.execute(delete(table).where(table.c.municipality_id == mid))
    return True


def setup_bench_data(
    engine: Engine, *, employees: int, doors: int, secret: str, now: dt.datetime
) -> BenchData:
    """Replace the benchmark municipality with a fresh one of the given size (one transaction)."""
    citizens_per_district = max(1, math.ceil(doors / 3))
    districts = max(1, math.ceil(employees / WORKERS_PER_DISTRICT))
    with engine.begin() as connection:
        remove_bench_data(connection)
        (mid,) = _insert(
            connection,
            m.Municipality,
            [
                {
                    "code": BENCH_MUNICIPALITY_CODE,
                    "name": BENCH_MUNICIPALITY_NAME,
                    "timezone": "Europe/Copenhagen",
                    "key_lifetime_minutes": 540,
                    "heartbeat_interval_s": 60,
                    "emergency_key_max_minutes": 480,
                    "wrong_code_limit": 5,
                    "created_at": now,
                }
            ],
        )
        with Session(bind=connection) as session:
            create_issuer_key(
                session,
                municipality_id=mid,
                secret=secret,
                now=now,
                status=e.IssuerKeyStatus.ACTIVE,
            )
            session.flush()
        district_ids = _insert(
            connection,
            m.District,
            [
                {"municipality_id": mid, "code": f"B{d + 1:03d}", "name": f"Benchmark {d + 1}"}
                for d in range(districts)
            ],
        )
        # One citizen per property, each with an entrance, a gate and a home lock: 3 doors.
        n = districts * citizens_per_district
        property_ids = _insert(
            connection,
            m.Property,
            [
                {
                    "municipality_id": mid,
                    "housing_association_id": None,
                    "street": "Benchmarkvej",
                    "house_number": str(i + 1),
                    "postal_code": "9999",
                    "city": "Benchby",
                }
                for i in range(n)
            ],
        )
        entrance_ids = _insert(
            connection,
            m.Entrance,
            [
                {"property_id": p, "label": f"Benchmarkvej {i + 1}"}
                for i, p in enumerate(property_ids)
            ],
        )
        gate_ids = _insert(
            connection, m.Gate, [{"property_id": p, "label": "Port"} for p in property_ids]
        )
        dwelling_ids = _insert(
            connection,
            m.Dwelling,
            [{"entrance_id": ent, "floor": "1", "side": "tv"} for ent in entrance_ids],
        )
        citizen_ids = _insert(
            connection,
            m.Citizen,
            [
                {
                    "municipality_id": mid,
                    "district_id": district_ids[i // citizens_per_district],
                    "dwelling_id": dw,
                    "given_name": "Borger",
                    "family_name": f"Nr. {i + 1}",
                    "status": e.CitizenStatus.ACTIVE,
                    "created_at": now,
                    "removed_at": None,
                }
                for i, dw in enumerate(dwelling_ids)
            ],
        )
        # Every citizen has consented (no key to a home without it: issue 16).
        _insert(
            connection,
            m.ConsentRecord,
            [
                {
                    "municipality_id": mid,
                    "citizen_id": cid,
                    "kind": e.ConsentKind.INSTALLATION,
                    "given_by": e.ConsentGivenBy.CITIZEN,
                    "method": e.ConsentMethod.DIGITAL,
                    "given_at": now,
                }
                for cid in citizen_ids
            ],
        )
        devices: list[dict[str, Any]] = []
        home_serials: list[str] = []
        for kind, prefix, column, places in (
            (e.DoorKind.HOME_LOCK, "HL", "dwelling_id", dwelling_ids),
            (e.DoorKind.ENTRANCE_CONTROLLER, "EC", "entrance_id", entrance_ids),
            (e.DoorKind.GATE_CONTROLLER, "GC", "gate_id", gate_ids),
        ):
            for i, place in enumerate(places):
                serial = f"{SERIAL_PREFIX}-{prefix}-{i + 1:06d}"
                if kind is e.DoorKind.HOME_LOCK:
                    home_serials.append(serial)
                devices.append(
                    {
                        "municipality_id": mid,
                        "kind": kind,
                        "serial": serial,
                        "public_key": door_key(BENCH_SEED, serial).public.key.raw,
                        "firmware_version": "bench",
                        "status": e.DoorStatus.ACTIVE,
                        "dwelling_id": place if column == "dwelling_id" else None,
                        "entrance_id": place if column == "entrance_id" else None,
                        "gate_id": place if column == "gate_id" else None,
                        "battery_pct": 90 if kind is e.DoorKind.HOME_LOCK else None,
                        "clock_offset_ms": 0,
                        "last_seen_at": None,
                        "last_event_seq": 0,
                        "denylist_version_seen": 0,
                        "installed_at": now,
                        "created_at": now,
                    }
                )
        _insert(connection, m.DoorDevice, devices)
        password_hash = hash_password(BENCH_PASSWORD)  # the server's own Argon2id parameters
        employee_ids = _insert(
            connection,
            m.Employee,
            [
                {
                    "municipality_id": mid,
                    "employee_number": f"B{i + 1:05d}",
                    "full_name": f"Medarbejder {i + 1}",
                    "email": None,
                    "password_hash": password_hash,
                    "totp_secret_sealed": None,
                    "status": e.EmployeeStatus.ACTIVE,
                    "blocked_reason": None,
                    "blocked_at": None,
                    "session_epoch": 0,
                    "created_at": now,
                }
                for i in range(employees)
            ],
        )
        connection.execute(
            insert(m.EmployeeRole),
            [{"employee_id": emp, "role": e.Role.CARE_WORKER} for emp in employee_ids],
        )
        connection.execute(
            insert(m.EmployeeDistrict),
            [
                {
                    "employee_id": emp,
                    "district_id": district_ids[i % districts],
                    "municipality_id": mid,
                }
                for i, emp in enumerate(employee_ids)
            ],
        )
        scalars = [device_scalar(BENCH_SEED, i) for i in range(employees)]
        phone_ids = _insert(
            connection,
            m.Phone,
            [
                {
                    "municipality_id": mid,
                    "employee_id": emp,
                    "label": f"BENCH-TLF-{i + 1:05d}",
                    "model": "Benchmark",
                    "public_key": DeviceKey.from_scalar(scalars[i]).public.compressed,
                    "status": e.PhoneStatus.ACTIVE,
                    "blocked_reason": None,
                    "enrolled_at": now,
                    "last_seen_at": None,
                    "session_epoch": 0,
                    "created_at": now,
                }
                for i, emp in enumerate(employee_ids)
            ],
        )
    workers = [Worker(f"B{i + 1:05d}", phone_ids[i], scalars[i]) for i in range(employees)]
    return BenchData(mid, workers, home_serials, districts, n, len(devices))


# --- the server ----------------------------------------------------------------------------------


@contextlib.contextmanager
def running_server(
    database_url: str, *, workers: int, secret: str, log_path: Path, startup_s: float = 60.0
) -> Iterator[tuple[str, int]]:
    """The server for the benchmark: ``sim.server.running_server`` with long keep-alive, so the
    load generator's connections are reused; yields the base URL and the server's pid."""
    with server.running_server(
        database_url,
        secret=secret,
        log_path=log_path,
        workers=workers,
        startup_s=startup_s,
        keep_alive_s=120,
    ) as started:
        yield started


def _run_load(plan: LoadPlan, echo: Echo, *, timeout_s: float) -> dict[str, float | int]:
    """Run the load generator in a separate process; relay its lines; return its figures."""
    figures: dict[str, float | int] = run_load_process(
        process_main, plan, echo, timeout_s=timeout_s
    )
    return figures


def run_load_process(
    target: Callable[[Any, Any], None], plan: Any, echo: Echo, *, timeout_s: float
) -> Any:
    """Run ``target(plan, queue)`` in a spawned process (so the load's CPU is not the server's
    nor this process's), relay its ``("log", line)`` messages to ``echo``, raise on its
    ``("error", text)`` or when it stops without a result or takes longer than ``timeout_s``,
    and return the payload of its result message. The benchmarks of logins and of the soak
    share it."""
    context = multiprocessing.get_context("spawn")
    messages: Any = context.Queue()
    process = context.Process(target=target, args=(plan, messages), daemon=True)
    process.start()
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            try:
                kind, payload = messages.get(timeout=1.0)
            except queue_module.Empty:
                if not process.is_alive():
                    raise RuntimeError(
                        f"the load process stopped without a result (exit {process.exitcode})"
                    ) from None
                if time.monotonic() > deadline:
                    raise RuntimeError("the load process took too long; stopped") from None
                continue
            if kind == "log":
                echo(str(payload))
            elif kind == "error":
                raise RuntimeError(f"the load process failed: {payload}")
            else:
                return payload
    finally:
        process.join(timeout=10)
        if process.is_alive():
            process.terminate()
            process.join(timeout=5)


BENCH_LOCK_ID: Final = 0x43_4B_42_4C  # "CKBL": PostgreSQL advisory lock of a running benchmark


@contextlib.contextmanager
def _exclusive(engine: Engine) -> Iterator[None]:
    """One benchmark at a time per PostgreSQL database (they share municipality 9999)."""
    if engine.dialect.name != "postgresql":
        yield
        return
    with engine.connect() as connection:
        got = connection.execute(select(func.pg_try_advisory_lock(BENCH_LOCK_ID))).scalar_one()
        connection.commit()
        if not got:
            raise RuntimeError(
                "another benchmark is running against this database; wait for it to finish"
            )
        try:
            yield
        finally:
            connection.execute(select(func.pg_advisory_unlock(BENCH_LOCK_ID)))
            connection.commit()


def vacuum_analyze(engine: Engine) -> None:
    """PostgreSQL: reclaim the rows an earlier run deleted and refresh the planner's statistics
    for the rows just written. Autovacuum would do both in production; on a server where it is
    off (this machine's CI configuration), each run would otherwise leave a million dead audit
    rows behind and plan its queries on stale statistics."""
    if engine.dialect.name != "postgresql":
        return
    quote = engine.dialect.identifier_preparer.quote
    tables = ", ".join(quote(table.name) for table in m.Base.metadata.sorted_tables)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql(f"VACUUM (ANALYZE) {tables}")


def _default_sqlite_url(folder: Path) -> str:
    return f"sqlite:///{folder / 'bench.db'}"


def run(
    *,
    database_url: str | None,
    echo: Echo = print,
    employees: int = 200,
    doors: int = 200,
    duration: float = 30.0,
    rate: float = 200.0,
    saturation_s: float = 10.0,
    saturation_concurrency: int = 16,
    healthz_s: float = 3.0,
    ingest_events: int = 100_000,
    workers: int = 2,
    keepalive: bool = True,
    reuse_challenge: bool = True,
    keep_data: bool = False,
) -> dict[str, float | int]:
    """Run the login benchmark against ``database_url`` (a fresh SQLite file when None).

    Prints human-readable figures with ``echo`` as it goes and returns the figures, at least
    ``key_bundles_per_s``, ``p99_ms_at_200_per_s``, ``doors_per_login``,
    ``password_checks_per_s``, ``healthz_per_s`` and ``ingest_events_per_s``.
    """
    if employees < 1 or doors < 1 or duration <= 0 or rate <= 0 or workers < 1:
        raise ValueError("employees, doors, duration, rate and workers must be positive")
    with tempfile.TemporaryDirectory(prefix="carekey-bench-") as folder:
        url = database_url or _default_sqlite_url(Path(folder))
        engine = create_db_engine(url)
        backend = engine.dialect.name
        try:
            with _exclusive(engine):
                started = time.perf_counter()
                upgrade(engine)
                now = dt.datetime.now(dt.UTC)
                data = setup_bench_data(
                    engine, employees=employees, doors=doors, secret=BENCH_SECRET, now=now
                )
                vacuum_analyze(engine)
                echo(
                    f"{backend}: {data.districts} districts, {data.citizens} citizens, "
                    f"{data.door_devices} doors, {employees} employees with enrolled phones "
                    f"(setup {time.perf_counter() - started:.1f} s)"
                )
                plan = LoadPlan(
                    base_url="",
                    municipality=BENCH_MUNICIPALITY_CODE,
                    password=BENCH_PASSWORD,
                    workers=data.workers,
                    seed=BENCH_SEED,
                    ingest_doors=data.home_lock_serials,
                    saturation_s=saturation_s,
                    saturation_concurrency=saturation_concurrency,
                    rate=rate,
                    duration_s=duration,
                    healthz_s=healthz_s,
                    ingest_events=min(ingest_events, len(data.home_lock_serials) * 1000),
                    keepalive=keepalive,
                    reuse_challenge=reuse_challenge,
                )
                budget = 600 + duration + saturation_s + healthz_s + employees + ingest_events / 500
                log_path = Path(folder) / "server.log"
                with running_server(
                    engine.url.render_as_string(hide_password=False),
                    workers=workers,
                    secret=BENCH_SECRET,
                    log_path=log_path,
                ) as (base_url, server_pid):
                    echo(
                        f"server: carekey serve, {workers} worker(s), {base_url}; "
                        "load from a separate process"
                    )
                    plan = dataclasses.replace(
                        plan, base_url=base_url, server_pid=server_pid, database=backend
                    )
                    figures = _run_load(plan, echo, timeout_s=budget)
                if not keep_data:
                    with engine.begin() as connection:
                        remove_bench_data(connection)
                    vacuum_analyze(engine)
        finally:
            engine.dispose()
    result: dict[str, float | int] = {
        "key_bundles_per_s": figures["key_bundles_per_s"],
        "p99_ms_at_200_per_s": figures["p99_ms_at_rate"] if rate == 200 else -1.0,
        "doors_per_login": figures["doors_per_login"],
        "password_checks_per_s": figures["password_checks_per_s"],
        "healthz_per_s": figures["healthz_per_s"],
        "ingest_events_per_s": figures.get("ingest_events_per_s", 0.0),
    }
    result.update({k: v for k, v in figures.items() if k not in result})
    result["employees"] = employees
    result["server_workers"] = workers
    result["client_keepalive"] = int(keepalive)
    result["client_reuses_challenge"] = int(reuse_challenge)
    result["cpus"] = os.cpu_count() or 0
    echo(
        f"[bold]key bundles {result['key_bundles_per_s']}/s, p99 "
        f"{figures['p99_ms_at_rate']} ms at {rate:g}/s, {result['doors_per_login']} doors/login, "
        f"{result['password_checks_per_s']} password checks/s, healthz "
        f"{result['healthz_per_s']}/s, ingest {result['ingest_events_per_s']} events/s[/]"
    )
    return result


def cli_command(
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            help="postgresql://user@host:port/db; uden / without: en ny SQLite-fil / a fresh "
            "SQLite file.",
            show_default=False,
        ),
    ] = None,
    employees: Annotated[
        int, typer.Option(min=1, help="Medarbejdere med telefon / employees with phones.")
    ] = 200,
    doors: Annotated[
        int, typer.Option(min=3, help="Døre pr. medarbejder / doors per employee.")
    ] = 200,
    duration: Annotated[
        float, typer.Option(min=1, help="Sekunder med fast belastning / seconds of offered load.")
    ] = 30.0,
    rate: Annotated[
        float, typer.Option(min=1, help="Nøglebundter pr. sekund / key bundles per second.")
    ] = 200.0,
    workers: Annotated[
        int, typer.Option(min=1, help="Serverprocesser / server worker processes.")
    ] = 2,
    ingest_events: Annotated[
        int, typer.Option(min=0, help="Hændelser at uploade / events to upload (0: skip).")
    ] = 100_000,
) -> None:
    """Mål login og nøglebundter / measure logins and key bundles; ends with one JSON line.

    Register with one line in ``carekey.cli.main``:
    ``bench_app.command("login")(bench_login.cli_command)``.
    """
    console = Console()
    try:
        result = run(
            database_url=database_url,
            echo=console.print,
            employees=employees,
            doors=doors,
            duration=duration,
            rate=rate,
            saturation_s=min(10.0, duration),
            healthz_s=min(3.0, duration),
            workers=workers,
            ingest_events=ingest_events,
        )
    except (RuntimeError, ValueError, OperationalError) as exc:
        Console(stderr=True).print(f"[bold red]Fejl / error:[/] {exc}")
        raise typer.Exit(2) from exc
    print(json.dumps(result, sort_keys=True))  # the machine-readable last line
