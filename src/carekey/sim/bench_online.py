"""``carekey bench online``: how fast a block reaches every online controller (issue 17).

The set-up is real end to end, on the real broker:

- a database (a fresh SQLite file, or ``--database-url``) with a benchmark municipality whose
  entrances and gates are N controllers (``bench_login.setup_bench_data``);
- N simulated controllers (:mod:`carekey.sim.online_fleet`): real controller firmware behind
  the real online side and the aiomqtt runner, each its own MQTT client, spread over worker
  processes;
- the server's own MQTT bridge (:class:`carekey.online.bridge.OnlineBridge`) in this process,
  with the shared subscription and the batched transactions of a running server.

Each round blocks one phone through the real use case (``revocation.service.block_this_phone``,
one transaction). The session's after-commit hook hands the new version to the bridge, which
signs the delta and publishes it once on the municipality's topic. Every controller checks
it, applies it and answers with a report signed by its door key. The clock runs from the
moment the block's transaction has committed until the bridge has verified and committed each
controller's acknowledgement. ``revocation_ack_p99_s`` and ``revocation_ack_max_s`` are taken
over every (round, controller).

Beside the absolute figures, and measured in the same run on the same machine, come a bare
broker round trip (a publish that comes back to its own client) and one Ed25519 signature plus
its verification. These give ratios that hold up on a noisy, shared machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import json
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy import Engine, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from carekey.access.actor import Actor
from carekey.clock import SystemClock
from carekey.domain import enums as e
from carekey.keyservice.issuer import keyring
from carekey.online.bridge import BrokerAddress, OnlineBridge
from carekey.online.service import Context, Heard
from carekey.online.signals import NOTIFY_KEY
from carekey.protocol import online as wire
from carekey.protocol.keys import Ed25519Signer
from carekey.revocation.service import block_this_phone
from carekey.sim.bench_login import (
    BENCH_MUNICIPALITY_CODE,
    BENCH_SECRET,
    BENCH_SEED,
    setup_bench_data,
)
from carekey.sim.online_fleet import FleetDoor, FleetProcess
from carekey.store import models as m
from carekey.store.cache import CACHE_KEY, TimedCache
from carekey.store.db import create_db_engine, session_factory, unit_of_work
from carekey.store.migrate import upgrade

Echo = Callable[[str], None]
DEFAULT_URL = "mqtt://127.0.0.1:1883"


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def _fleet_doors(engine: Engine, count: int) -> list[FleetDoor]:
    """The benchmark municipality's first ``count`` controllers, with their door keys (the
    same derivation as ``loadgen.door_key``)."""
    with Session(engine) as db:
        serials = list(
            db.execute(
                select(m.DoorDevice.serial)
                .join(m.Municipality, m.Municipality.id == m.DoorDevice.municipality_id)
                .where(m.Municipality.code == BENCH_MUNICIPALITY_CODE)
                .where(
                    m.DoorDevice.kind.in_(
                        (e.DoorKind.ENTRANCE_CONTROLLER, e.DoorKind.GATE_CONTROLLER)
                    )
                )
                .order_by(m.DoorDevice.id)
                .limit(count)
            ).scalars()
        )
    return [
        FleetDoor(
            serial,
            hashlib.sha256(b"carekey-bench-door\x00" + BENCH_SEED + serial.encode()).digest(),
        )
        for serial in serials
    ]


def _live_credentials(engine: Engine, *, municipality_id: int, now: dt.datetime) -> None:
    """One live credential per benchmark phone, so that a block has something to denylist."""
    with engine.begin() as connection:
        phones = connection.execute(
            select(m.Phone.id, m.Phone.employee_id).where(
                m.Phone.municipality_id == municipality_id
            )
        ).all()
        kid = connection.execute(
            select(m.IssuerKey.kid).where(m.IssuerKey.municipality_id == municipality_id)
        ).scalar_one()
        connection.execute(
            insert(m.IssuedCredential),
            [
                {
                    "credential_id": os.urandom(16),
                    "municipality_id": municipality_id,
                    "issuer_kid": kid,
                    "subject_type": e.SubjectType.EMPLOYEE,
                    "employee_id": employee_id,
                    "phone_id": phone_id,
                    "kind": e.CredentialKind.ENTRANCE,
                    "serial": 1,
                    "denylist_version": 0,
                    "door_device_ids": [],
                    "not_before": now - dt.timedelta(minutes=1),
                    "expires_at": now + dt.timedelta(hours=9),
                    "issued_at": now,
                }
                for phone_id, employee_id in phones
            ],
        )


async def _broker_echo_ms(url: str, rounds: int = 50) -> float:
    """The median time for a publish to come back to its own client (QoS 1)."""
    address = BrokerAddress.parse(url)
    topic = f"bench/echo/{uuid.uuid4().hex[:8]}"
    times = []
    async with address.client(identifier=f"carekey-echo-{uuid.uuid4().hex[:8]}") as client:
        await client.subscribe(topic, qos=1)
        messages = client.messages
        for i in range(rounds):
            started = time.perf_counter()
            await client.publish(topic, str(i).encode(), qos=1)
            await anext(messages)
            times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def _sign_verify_us(rounds: int = 2000) -> float:
    signer = Ed25519Signer.generate()
    public = signer.public
    message = os.urandom(200)
    started = time.perf_counter()
    for _ in range(rounds):
        public.verify(signer.sign(message), message)
    return (time.perf_counter() - started) / rounds * 1e6


def run(
    *,
    controllers: int = 1500,
    rounds: int = 5,
    url: str = DEFAULT_URL,
    database_url: str | None = None,
    processes: int | None = None,
    echo: Echo = print,
    round_timeout_s: float = 60.0,
) -> dict[str, Any]:
    """The benchmark; returns the figures (see the module docstring)."""
    if controllers < 1 or rounds < 1:
        raise ValueError("controllers and rounds must be positive")
    with (
        tempfile.TemporaryDirectory(prefix="carekey-bench-online-") as folder,
        _database(database_url, Path(folder)) as db_url,
    ):
        engine = create_db_engine(db_url)
        try:
            return asyncio.run(
                _run(
                    engine,
                    controllers=controllers,
                    rounds=rounds,
                    url=url,
                    processes=processes or (2 if controllers >= 3000 else 1),
                    echo=echo,
                    round_timeout_s=round_timeout_s,
                )
            )
        finally:
            engine.dispose()


@contextlib.contextmanager
def _database(url: str | None, folder: Path) -> Iterator[str]:
    """A fresh database for the run: a SQLite file in ``folder``, or on the PostgreSQL server
    of ``url`` a new ``carekey_bench_online_<random>`` database, dropped afterwards."""
    if url is None:
        yield f"sqlite:///{folder / 'bench.db'}"
        return
    admin = create_db_engine(url, isolation_level="AUTOCOMMIT")
    if admin.dialect.name != "postgresql":
        admin.dispose()
        yield url
        return
    name = f"carekey_bench_online_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


async def _run(
    engine: Engine,
    *,
    controllers: int,
    rounds: int,
    url: str,
    processes: int,
    echo: Echo,
    round_timeout_s: float,
) -> dict[str, Any]:
    started = time.perf_counter()
    upgrade(engine)
    now = dt.datetime.now(dt.UTC)
    # Entrances and gates: two controllers per benchmark property (plus a home lock each).
    data = setup_bench_data(
        engine, employees=rounds, doors=3 * -(-controllers // 2), secret=BENCH_SECRET, now=now
    )
    _live_credentials(engine, municipality_id=data.municipality_id, now=now)
    doors = _fleet_doors(engine, controllers)
    with Session(engine) as db:
        issuer_keys = list(keyring(db, municipality_id=data.municipality_id).active)
        phones = list(
            db.execute(
                select(m.Phone.id).where(m.Phone.municipality_id == data.municipality_id)
            ).scalars()
        )
        admin = (
            db.execute(
                select(m.Employee.id).where(m.Employee.municipality_id == data.municipality_id)
            )
            .scalars()
            .first()
        )
    assert admin is not None
    setup_s = time.perf_counter() - started
    echo(f"{engine.dialect.name}: {len(doors)} controllers (set-up {setup_s:.1f} s)")

    prefix = f"bench/{uuid.uuid4().hex[:10]}"
    info: dict[str, Any] = {CACHE_KEY: TimedCache()}
    sessions = session_factory(engine, info=info)
    heard_state: set[int] = set()
    reports: list[tuple[int, int, float]] = []  # (door, version it signed for, committed at)

    def on_heard(heard: Heard, at: float) -> None:
        if heard.kind is wire.ReportKind.STATE:
            heard_state.add(heard.door_id)
        reports.append((heard.door_id, heard.denylist_version or 0, at))

    ctx = Context(prefix=prefix, secret=BENCH_SECRET, offline_after=dt.timedelta(seconds=90))
    bridge = OnlineBridge(
        sessions=sessions, clock=SystemClock(), ctx=ctx, url=url, on_heard=on_heard
    )
    info[NOTIFY_KEY] = bridge.notify
    echo_ms = await _broker_echo_ms(url)
    sign_us = _sign_verify_us()
    bridge_task = asyncio.create_task(bridge.run())
    samples: list[float] = []
    missing = 0
    failed_blocks = 0
    try:
        await asyncio.wait_for(bridge.connected.wait(), 30)
        with FleetProcess(
            doors,
            url=url,
            prefix=prefix,
            issuer=BENCH_MUNICIPALITY_CODE,
            issuer_keys=issuer_keys,
            processes=processes,
        ) as fleet:
            report = await asyncio.to_thread(fleet.wait_ready, 300.0)
            echo(
                f"fleet: {report.stats.connected} of {len(doors)} controllers connected in "
                f"{report.ready_s:.1f} s ({report.processes} process(es))"
            )
            deadline = time.monotonic() + 120
            while len(heard_state) < len(doors) and time.monotonic() < deadline:
                await asyncio.sleep(0.2)
            echo(f"server: {len(heard_state)} controllers heard online")
            actor = Actor(
                employee_id=admin,
                municipality_id=data.municipality_id,
                roles=frozenset({e.Role.ADMINISTRATOR}),
                label="benchmark",
            )
            for index in range(rounds):
                seen = len(reports)  # every acknowledgement of this round comes after this
                try:
                    committed, version = await asyncio.to_thread(
                        _block, sessions, actor, phones[index % len(phones)]
                    )
                except Exception as exc:  # a saturated database: the round is lost, said so
                    echo(f"round {index + 1}: the block failed ({exc}); the round is skipped")
                    failed_blocks += 1
                    missing += len(doors)
                    continue
                got: dict[int, float] = {}
                limit = time.monotonic() + round_timeout_s
                while len(got) < len(doors) and time.monotonic() < limit:
                    await asyncio.sleep(0.01)
                    batch = reports[seen:]
                    seen += len(batch)
                    for door_id, held, at in batch:
                        if held >= version and door_id not in got:
                            got[door_id] = at
                latencies = [at - committed for at in got.values()]
                samples += latencies
                missing += len(doors) - len(got)
                echo(
                    f"round {index + 1}: v{version}, {len(got)} of {len(doors)} acknowledged, "
                    f"p99 {_percentile(latencies, 0.99):.3f} s, "
                    f"max {max(latencies, default=0):.3f} s"
                )
                await asyncio.sleep(1.0)
    finally:
        bridge_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await bridge_task
    p99 = _percentile(samples, 0.99)
    return {
        "benchmark": "online",
        "controllers": len(doors),
        "rounds": rounds,
        "database": engine.dialect.name,
        "processes": processes,
        "fleet_connect_s": round(report.ready_s, 2),
        "revocation_ack_p50_s": round(_percentile(samples, 0.5), 3),
        "revocation_ack_p99_s": round(p99, 3),
        "revocation_ack_max_s": round(max(samples, default=0.0), 3),
        "missing_acks": missing,
        "failed_blocks": failed_blocks,
        "broker_echo_ms_p50": round(echo_ms, 3),
        "ed25519_sign_verify_us": round(sign_us, 1),
        "ack_p99_over_broker_echo": round(p99 * 1000 / echo_ms, 1) if echo_ms else None,
        "server_messages_handled": bridge.handled,
        "server_messages_refused": bridge.refused,
        "cpus": os.cpu_count() or 0,
    }


def _block(sessions: Any, actor: Actor, phone_id: int) -> tuple[float, int]:
    """Block a phone in one transaction; when it committed and the version it made."""
    with unit_of_work(sessions) as db:
        phone = db.get(m.Phone, phone_id)
        assert phone is not None
        result = block_this_phone(
            db,
            actor=actor,
            phone=phone,
            reason="benchmark",
            lost=True,
            now=dt.datetime.now(dt.UTC),
        )
    committed = time.monotonic()
    assert result.denylist_version is not None
    return committed, result.denylist_version


def cli_command(
    controllers: Annotated[int, typer.Option(help="Online controllers to simulate.")] = 1500,
    rounds: Annotated[int, typer.Option(help="Blocks, one after another.")] = 5,
    url: Annotated[str, typer.Option("--url", help="The MQTT broker.")] = DEFAULT_URL,
    database_url: Annotated[
        str | None,
        typer.Option("--database-url", help="PostgreSQL URL (default: a temporary SQLite file)."),
    ] = None,
    processes: Annotated[
        int | None, typer.Option(help="Fleet worker processes (default 1, 2 from 3,000).")
    ] = None,
) -> None:
    """Spærring til online døre / a block to every online controller: N simulated controllers on
    the real broker; the time until each has acknowledged the new denylist version."""
    result = run(
        controllers=controllers,
        rounds=rounds,
        url=url,
        database_url=database_url,
        processes=processes,
        echo=lambda line: typer.echo(line, err=True),
    )
    typer.echo(json.dumps(result))
