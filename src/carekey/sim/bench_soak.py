"""``carekey bench soak``: a morning's mixed load for minutes; does a worker's memory stay flat?

Method:

1. **Data.** With ``--database-url postgresql://…``, a new database ``carekey_soak_<pid>`` on
   that server (dropped afterwards); without, a temporary SQLite file. It is migrated and given
   the benchmark municipality of ``carekey bench login`` (:func:`carekey.sim.bench_login.
   setup_bench_data`: ``employees`` care workers with enrolled phones, ``doors`` doors each) and
   one administrator with a TOTP secret, for the office's reads.
2. **Server.** ``carekey serve --workers N`` (default 2) as a subprocess on loopback, started
   through :mod:`carekey.sim.soak_server` (the same CLI; with ``--trace-dir`` each worker also
   writes ``tracemalloc`` snapshots, for finding what grows).
3. **Load.** A separate process (:mod:`carekey.sim.soak_load`) logs half the staff in, signs the
   administrator in, then starts ``rate`` requests per second for ``minutes`` minutes on a fixed
   schedule, each a login, key-bundle refresh, heartbeat, event upload or office read in the
   proportions of :data:`carekey.sim.soak_load.DEFAULT_MIX`: a moderate rate, not saturation.
   Every 5 s it reads each worker's RSS; every 30 s it prints throughput, errors, p50/p99 per
   kind and the RSS per worker.
4. **Result.** ``rss_growth_mb_per_min`` per worker is the least-squares slope of its RSS
   samples after the first 2 minutes (after the first half of a shorter run); the target is
   at most 1 MB/min. The CLI ends with one JSON line: ``errors`` (0 while the database is up),
   ``rss_growth_mb_per_min``, ``p99_ms`` and ``p50_ms`` per kind, throughput and the RSS at the
   start of the fit and at the end.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, Final

import pyotp
import typer
from rich.console import Console
from sqlalchemy import Engine, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from carekey.auth.passwords import hash_password
from carekey.config import normalize_database_url
from carekey.domain import enums as e
from carekey.sim import server
from carekey.sim.bench_login import (
    BENCH_MUNICIPALITY_CODE,
    BENCH_PASSWORD,
    BENCH_SECRET,
    BENCH_SEED,
    run_load_process,
    setup_bench_data,
    vacuum_analyze,
)
from carekey.sim.cpumeter import CpuMeter
from carekey.sim.soak_load import SoakPlan, process_main, rss_slope, warmup_s
from carekey.sim.soak_server import TRACE_DIR_ENV
from carekey.store import models as m
from carekey.store.db import create_db_engine
from carekey.store.migrate import upgrade
from carekey.store.sealed import seal

ADMIN_NUMBER: Final = "BADMIN"
TARGET_MB_PER_MIN: Final = 1.0

Echo = Callable[[str], None]


@contextlib.contextmanager
def soak_database(database_url: str | None, folder: Path) -> Iterator[str]:
    """A SQLite file in ``folder`` when ``database_url`` is None, else a new database
    ``carekey_soak_<pid>`` on the PostgreSQL server of ``database_url``, dropped afterwards."""
    if database_url is None:
        yield f"sqlite:///{folder / 'soak.db'}"
        return
    url = make_url(normalize_database_url(database_url))
    if url.get_backend_name() != "postgresql":
        yield database_url
        return
    name = f"carekey_soak_{os.getpid()}"
    admin = create_db_engine(database_url, isolation_level="AUTOCOMMIT", pool_pre_ping=False)
    try:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield url.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def add_admin(engine: Engine, *, municipality_id: int, now: dt.datetime) -> str:
    """An administrator of the benchmark municipality with the benchmark password and a TOTP
    secret (returned, base32), so the load can sign in to the administration API."""
    totp = pyotp.random_base32()
    with engine.begin() as connection:
        employee_id = connection.execute(
            insert(m.Employee).returning(m.Employee.id),
            {
                "municipality_id": municipality_id,
                "employee_number": ADMIN_NUMBER,
                "full_name": "Benchmark administrator",
                "email": None,
                "password_hash": hash_password(BENCH_PASSWORD),
                "totp_secret_sealed": seal(totp.encode(), secret=BENCH_SECRET, purpose="totp"),
                "status": e.EmployeeStatus.ACTIVE,
                "blocked_reason": None,
                "blocked_at": None,
                "session_epoch": 0,
                "created_at": now,
            },
        ).scalar_one()
        connection.execute(
            insert(m.EmployeeRole), {"employee_id": employee_id, "role": e.Role.ADMINISTRATOR}
        )
    return totp


def _run_load(plan: SoakPlan, echo: Echo, *, timeout_s: float) -> dict[str, Any]:
    """Run the load process; relay its lines; return its figures."""
    figures: dict[str, Any] = run_load_process(process_main, plan, echo, timeout_s=timeout_s)
    return figures


def summary(figures: dict[str, Any], *, duration_s: float) -> dict[str, Any]:
    """The JSON line's figures from the load's: per worker the RSS slope after the warm-up and
    the RSS at the start of the fit and at the end; the RSS samples themselves are left out."""
    after = warmup_s(duration_s)
    samples: dict[str, list[list[float]]] = figures["rss_samples"]
    growth: dict[str, float | None] = {}
    first: dict[str, float] = {}
    last: dict[str, float] = {}
    for name, points in sorted(samples.items()):
        pairs = [(float(t), float(mb)) for t, mb in points]
        slope = rss_slope(pairs, after_s=after)
        growth[name] = None if slope is None else round(slope, 2)
        fitted = [mb for t, mb in pairs if t >= after] or [pairs[-1][1]]
        first[name] = round(fitted[0], 1)
        last[name] = round(pairs[-1][1], 1)
    slopes = [g for g in growth.values() if g is not None]
    result = {k: v for k, v in figures.items() if k != "rss_samples"}
    result.update(
        {
            "rss_growth_mb_per_min": growth,
            "rss_fit_after_s": round(after, 1),
            "rss_mb_at_fit_start": first,
            "rss_mb_at_end": last,
            "rss_target_mb_per_min": TARGET_MB_PER_MIN,
            "rss_within_target": bool(slopes) and max(slopes) <= TARGET_MB_PER_MIN,
        }
    )
    return result


def run(
    *,
    database_url: str | None,
    echo: Echo = print,
    minutes: float = 10.0,
    rate: float = 25.0,
    employees: int = 200,
    doors: int = 200,
    workers: int = 2,
    trace_dir: Path | None = None,
) -> dict[str, Any]:
    """Run the soak against a fresh database next to ``database_url`` (a SQLite file when None);
    prints progress with ``echo`` and returns the figures of the JSON line."""
    if minutes <= 0 or rate <= 0 or employees < 1 or doors < 1 or workers < 1:
        raise ValueError("minutes, rate, employees, doors and workers must be positive")
    duration_s = minutes * 60
    with (
        tempfile.TemporaryDirectory(prefix="carekey-soak-") as folder,
        soak_database(database_url, Path(folder)) as url,
    ):
        engine = create_db_engine(url)
        backend = engine.dialect.name
        try:
            started = time.perf_counter()
            upgrade(engine)
            now = dt.datetime.now(dt.UTC)
            data = setup_bench_data(
                engine, employees=employees, doors=doors, secret=BENCH_SECRET, now=now
            )
            totp = add_admin(engine, municipality_id=data.municipality_id, now=now)
            with engine.connect() as connection:
                citizen_ids = list(
                    connection.execute(
                        select(m.Citizen.id).where(
                            m.Citizen.municipality_id == data.municipality_id
                        )
                    ).scalars()
                )
            vacuum_analyze(engine)
            echo(
                f"{backend}: {data.citizens} citizens, {data.door_devices} doors, "
                f"{employees} employees with phones "
                f"(setup {time.perf_counter() - started:.1f} s)"
            )
            extra_env = {TRACE_DIR_ENV: str(trace_dir)} if trace_dir is not None else {}
            with server.running_server(
                engine.url.render_as_string(hide_password=False),
                secret=BENCH_SECRET,
                log_path=Path(folder) / "server.log",
                workers=workers,
                keep_alive_s=120,
                module="carekey.sim.soak_server",
                extra_env=extra_env,
            ) as (base_url, server_pid):
                echo(
                    f"server: carekey serve, {workers} worker(s), {base_url}; "
                    f"{rate:g} requests/s for {minutes:g} min from a separate process"
                )
                plan = SoakPlan(
                    base_url=base_url,
                    municipality=BENCH_MUNICIPALITY_CODE,
                    password=BENCH_PASSWORD,
                    workers=data.workers,
                    seed=BENCH_SEED,
                    doors=data.home_lock_serials,
                    admin_number=ADMIN_NUMBER,
                    admin_totp=totp,
                    citizen_ids=citizen_ids,
                    server_pid=server_pid,
                    duration_s=duration_s,
                    rate=rate,
                )
                meter = CpuMeter(server_pid, database=backend)
                before = meter.sample()
                figures = _run_load(plan, echo, timeout_s=duration_s + 300 + employees)
                after = meter.sample()
        finally:
            engine.dispose()
    result = summary(figures, duration_s=duration_s)
    if before is not None and after is not None and figures["seconds"] > 0:
        seconds = after.machine_total - before.machine_total
        cores = os.cpu_count() or 1
        result["server_cpu_cores"] = round((after.server - before.server) / (seconds / cores), 2)
        result["machine_busy_cores"] = round(
            (after.machine_busy - before.machine_busy) / (seconds / cores), 2
        )
    result.update(
        {
            "database": backend,
            "minutes": minutes,
            "rate_per_s": rate,
            "server_workers": workers,
            "employees": employees,
            "doors_per_employee": doors,
            "cpus": os.cpu_count() or 0,
        }
    )
    growth = ", ".join(
        f"{name} {g if g is not None else '?'} MB/min"
        for name, g in result["rss_growth_mb_per_min"].items()
    )
    echo(
        f"[bold]{result['throughput_per_s']} req/s, {result['errors']} errors; RSS growth "
        f"after {result['rss_fit_after_s']:g} s: {growth}; p99 ms {result['p99_ms']}[/]"
    )
    return result


def cli_command(
    minutes: Annotated[
        float, typer.Option(min=0.01, help="Minutter med belastning / minutes of load.")
    ] = 10.0,
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            help="postgresql://user@host:port/db: en ny database på den server / a new database "
            "on that server; uden / without: en ny SQLite-fil / a fresh SQLite file.",
            show_default=False,
        ),
    ] = None,
    rate: Annotated[
        float, typer.Option(min=0.1, help="Forespørgsler pr. sekund / requests per second.")
    ] = 25.0,
    employees: Annotated[
        int, typer.Option(min=1, help="Medarbejdere med telefon / employees with phones.")
    ] = 200,
    doors: Annotated[
        int, typer.Option(min=3, help="Døre pr. medarbejder / doors per employee.")
    ] = 200,
    workers: Annotated[
        int, typer.Option(min=1, help="Serverprocesser / server worker processes.")
    ] = 2,
    trace_dir: Annotated[
        Path | None,
        typer.Option(
            help="Skriv tracemalloc-øjebliksbilleder fra hver proces her / write tracemalloc "
            "snapshots of each worker here (to find what grows).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Belastning i minutter: vokser hukommelsen? / load for minutes: does memory grow?

    Ends with one JSON line (see :mod:`carekey.sim.bench_soak`).
    """
    console = Console()
    try:
        result = run(
            database_url=database_url,
            echo=console.print,
            minutes=minutes,
            rate=rate,
            employees=employees,
            doors=doors,
            workers=workers,
            trace_dir=trace_dir,
        )
    except (RuntimeError, ValueError, OperationalError) as exc:
        Console(stderr=True).print(f"[bold red]Fejl / error:[/] {exc}")
        raise typer.Exit(2) from exc
    print(json.dumps(result, sort_keys=True))  # the machine-readable last line
