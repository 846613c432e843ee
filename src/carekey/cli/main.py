"""``carekey``: database, seed data, server and benchmarks from one command."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from carekey.app import cli as keyapp_cli
from carekey.config import Environment, Settings, get_settings
from carekey.domain.errors import DomainError
from carekey.store.db import create_db_engine, writer_engine

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from carekey.keyservice.freshness import Policy

app = typer.Typer(
    help="CareKey — nøglefri hjemmepleje / keyless home care.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Databasen / the database.", no_args_is_help=True)
bench_app = typer.Typer(help="Målinger / benchmarks.", no_args_is_help=True)
app.add_typer(db_app, name="db")
policy_app = typer.Typer(
    help="Nøgle-appens politik / the key app's policy (proof of freshness, sealing).",
    no_args_is_help=True,
)
app.add_typer(bench_app, name="bench")
app.add_typer(policy_app, name="policy")
app.add_typer(keyapp_cli.app, name="app")

console = Console()
err = Console(stderr=True)

DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help="postgresql://user@host:port/db eller sqlite:///sti (ellers CAREKEY_DATABASE_URL).",
        show_default=False,
    ),
]


def _settings(database_url: str | None) -> Settings:
    settings = get_settings()
    if database_url:
        settings = settings.model_copy(update={"database_url": database_url})
    return settings


def _engine(settings: Settings) -> Engine:
    try:
        return writer_engine(create_db_engine(settings.resolved_database_url))
    except ValueError as exc:
        _fail(str(exc))


def _fail(message: str, code: int = 2) -> NoReturn:
    err.print(f"[bold red]Fejl / error:[/] {message}")
    raise typer.Exit(code)


def _unreachable(exc: OperationalError, settings: Settings) -> NoReturn:
    _fail(
        "Databasen svarer ikke / the database does not answer "
        f"({settings.resolved_database_url.split('@')[-1]}): {exc.orig}"
    )


@db_app.command("upgrade")
def db_upgrade(database_url: DatabaseUrl = None) -> None:
    """Opdatér databaseskemaet til nyeste version / migrate the schema to the newest version."""
    from carekey.store.migrate import current_revision, upgrade

    settings = _settings(database_url)
    engine = _engine(settings)
    try:
        before = current_revision(engine)
        upgrade(engine)
        after = current_revision(engine)
    except OperationalError as exc:
        _unreachable(exc, settings)
    finally:
        engine.dispose()
    if before == after:
        console.print(f"Skemaet er allerede nyeste version / schema already at [bold]{after}[/]")
    else:
        console.print(
            f"Skema opdateret / schema migrated: {before or 'tom / empty'} → [bold]{after}[/]"
        )


@db_app.command("current")
def db_current(database_url: DatabaseUrl = None) -> None:
    """Vis skemaets version / show the schema version."""
    from carekey.store.migrate import current_revision, head_revision

    settings = _settings(database_url)
    engine = _engine(settings)
    try:
        current, head = current_revision(engine), head_revision(engine)
    except OperationalError as exc:
        _unreachable(exc, settings)
    finally:
        engine.dispose()
    state = "nyeste / current" if current == head else "skal opdateres / needs upgrade"
    console.print(f"{current or 'tom / empty'} ({state}; nyeste / head: {head})")


@app.command("seed")
def seed_command(
    profile: Annotated[
        str, typer.Option(help="small eller copenhagen / small or copenhagen.")
    ] = "small",
    seed: Annotated[int, typer.Option(help="Tilfældighedsfrø / random seed.")] = 1,
    if_empty: Annotated[
        bool,
        typer.Option(
            "--if-empty", help="Spring over hvis der allerede er data / skip if data exists."
        ),
    ] = False,
    base_time: Annotated[
        str | None,
        typer.Option(
            "--base-time",
            help="Tidspunktet dataene gælder fra, ISO 8601 (fx 2026-01-05T07:00Z); ellers i "
            "morges kl. 06 / the time the data is as of (ISO 8601); default this morning 06:00.",
            show_default=False,
        ),
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Opret en syntetisk kommune / build a synthetic municipality (deterministic per seed and
    base time). Only in development: never in a production database."""
    from carekey.seed.service import PROFILES, demo_base_time, is_empty
    from carekey.seed.service import seed as run_seed
    from carekey.store.migrate import current_revision, head_revision

    if profile not in PROFILES:
        _fail(f"ukendt profil / unknown profile {profile!r}: vælg / choose {', '.join(PROFILES)}")
    settings = _settings(database_url)
    if settings.environment is not Environment.DEVELOPMENT:
        _fail(
            "`carekey seed` laver demodata og kører kun i udvikling (CAREKEY_ENVIRONMENT="
            f"{settings.environment.value}); opret en rigtig kommune med `carekey municipality "
            "create` / `carekey seed` makes demo data and runs in development only; set up a "
            "real municipality with `carekey municipality create`"
        )
    base = _base_time(base_time) if base_time else demo_base_time()
    engine = _engine(settings)
    try:
        if current_revision(engine) != head_revision(engine):
            _fail(
                "Databasen er ikke opdateret; kør `carekey db upgrade` / run `carekey db upgrade`"
            )
        started = time.perf_counter()
        with engine.begin() as connection:
            if if_empty and not is_empty(connection):
                console.print("Databasen har allerede data; intet gjort / data present; skipped")
                return
            with Progress(
                TextColumn("[progress.description]{task.description:<48}"),
                BarColumn(),
                TextColumn("{task.completed}/{task.total}"),
                TimeElapsedColumn(),
                console=console,
                transient=False,
            ) as bar:
                task = bar.add_task(f"seed {profile}", total=None)

                def progress(step: str, done: int, total: int) -> None:
                    bar.update(task, description=step, completed=done, total=total)

                summary = run_seed(
                    connection,
                    profile=profile,
                    seed=seed,
                    secret=settings.secret_key.get_secret_value(),
                    progress=progress,
                    base_time=base,
                )
        elapsed = time.perf_counter() - started
    except DomainError as exc:
        _fail(str(exc))
    except OperationalError as exc:
        _unreachable(exc, settings)
    finally:
        engine.dispose()
    table = Table("tabel / table", "rækker / rows", title=f"{profile}, seed {seed}")
    for name, count in summary.counts.items():
        table.add_row(name, f"{count:,}".replace(",", "."))
    console.print(table)
    console.print(f"Færdig på / done in {elapsed:.1f} s")


def _base_time(text: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        _fail(
            f"ugyldigt tidspunkt / invalid time {text!r}: brug / use ISO 8601, "
            "e.g. 2026-01-05T07:00Z"
        )
    if value.tzinfo is None:
        _fail(f"angiv tidszonen / give the time zone: {text!r} (e.g. 2026-01-05T07:00Z or +01:00)")
    return value


MunicipalityCode = Annotated[
    str, typer.Option("--municipality", help="Kommunekode / municipality code, e.g. 0101.")
]


def _print_policy(code: str, policy: Policy) -> None:
    console.print(f"Kommune / municipality {code}", soft_wrap=True)
    console.print(
        f"  friskhedsbevis / proof of freshness: {policy.freshness_s // 60} min "
        f"({policy.freshness_s} s)",
        soft_wrap=True,
    )
    console.print(f"  lås efter / seal after: {policy.seal_after_s} s", soft_wrap=True)
    console.print(
        f"  advarsel / warning: {policy.freshness_warn_s // 60} min før / before", soft_wrap=True
    )


def _policy_session(database_url: str | None, work: Callable[[Session], Policy]) -> Policy:
    from sqlalchemy.orm import Session

    settings = _settings(database_url)
    engine = _engine(settings)
    try:
        with Session(engine) as db, db.begin():
            return work(db)
    except DomainError as exc:
        _fail(str(exc))
    except OperationalError as exc:
        _unreachable(exc, settings)
    finally:
        engine.dispose()


@policy_app.command("show")
def policy_show(municipality: MunicipalityCode, database_url: DatabaseUrl = None) -> None:
    """Vis politikken / show the policy."""
    from carekey.keyservice.freshness import show_policy

    policy = _policy_session(
        database_url, lambda db: show_policy(db, municipality_code=municipality)
    )
    _print_policy(municipality, policy)


@policy_app.command("set")
def policy_set(
    municipality: MunicipalityCode,
    freshness_min: Annotated[
        int | None,
        typer.Option(help="Friskhedsbevisets levetid i minutter (5-120) / proof lifetime, min."),
    ] = None,
    seal_after_s: Annotated[
        int | None,
        typer.Option(help="Lås nøglerne efter N s uden brug (30-1800) / seal after N s idle."),
    ] = None,
    warn_min: Annotated[
        int | None,
        typer.Option(help="Advar N minutter før beviset udløber / warn N min before it ends."),
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Sæt politikken / set the policy (the values given; the others stay)."""
    from carekey.keyservice.freshness import set_policy

    policy = _policy_session(
        database_url,
        lambda db: set_policy(
            db,
            municipality_code=municipality,
            freshness_s=None if freshness_min is None else freshness_min * 60,
            seal_after_s=seal_after_s,
            freshness_warn_s=None if warn_min is None else warn_min * 60,
        ),
    )
    _print_policy(municipality, policy)


issuer_app = typer.Typer(help="Udstedernøgler / issuer keys.", no_args_is_help=True)
app.add_typer(issuer_app, name="issuer")


@issuer_app.command("ensure")
def issuer_ensure(
    municipality: MunicipalityCode,
    partner: Annotated[
        bool,
        typer.Option(
            "--partner",
            help="Partnerudstedernøglen (kun opgange og porte stoler på den) / the partner key.",
        ),
    ] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Opret en aktiv udstedernøgle, hvis kommunen ingen har / create an active issuer key if
    the municipality has none (sealed with the server's secret)."""

    from sqlalchemy.orm import Session

    from carekey.domain.enums import IssuerKeyPurpose
    from carekey.keyservice.issuer import ensure_issuer_key

    settings = _settings(database_url)
    engine = _engine(settings)
    purpose = IssuerKeyPurpose.PARTNER if partner else IssuerKeyPurpose.HOME_CARE
    try:
        with Session(engine) as db, db.begin():
            row, created = ensure_issuer_key(
                db,
                municipality_code=municipality,
                purpose=purpose,
                secret=settings.secret_key.get_secret_value(),
                now=dt.datetime.now(dt.UTC),
            )
            kid = row.kid.hex()
    except DomainError as exc:
        _fail(str(exc))
    except OperationalError as exc:
        _unreachable(exc, settings)
    finally:
        engine.dispose()
    what = "oprettet / created" if created else "findes allerede / already there"
    console.print(f"{purpose.value} nøgle / key {kid}: {what}", soft_wrap=True)


permissions_app = typer.Typer(
    help="Tilladelser fra boligforeninger / permissions from housing associations.",
    no_args_is_help=True,
)
app.add_typer(permissions_app, name="permissions")


@permissions_app.command("remind")
def permissions_remind(database_url: DatabaseUrl = None) -> None:
    """Påmind boligforeningerne om åbne anmodninger efter fristen / remind the associations of
    every open request past its due date (once per reminder interval)."""

    from sqlalchemy.orm import Session

    from carekey.consents.permissions import remind_overdue

    settings = _settings(database_url)
    engine = _engine(settings)
    try:
        with Session(engine) as db, db.begin():
            reminded = [r.id for r in remind_overdue(db, now=dt.datetime.now(dt.UTC))]
    except DomainError as exc:
        _fail(str(exc))
    except OperationalError as exc:
        _unreachable(exc, settings)
    finally:
        engine.dispose()
    console.print(f"Påmindet / reminded: {len(reminded)}", soft_wrap=True)
    print(json.dumps({"reminded": reminded}))


webhooks_app = typer.Typer(help="Signerede webhooks / signed webhooks.", no_args_is_help=True)
app.add_typer(webhooks_app, name="webhooks")


@webhooks_app.command("deliver")
def webhooks_deliver(
    once: Annotated[
        bool, typer.Option("--once", help="Én runde og stop / one round, then stop.")
    ] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Send de ventende webhooks / deliver the due webhooks (until stopped, or ``--once``).
    Safe beside running servers: deliveries are claimed under a lock and leased."""

    from sqlalchemy.orm import sessionmaker

    from carekey.webhooks import dispatch

    settings = _settings(database_url)
    engine = _engine(settings)
    sessions = sessionmaker(engine, expire_on_commit=False)
    secret = settings.secret_key.get_secret_value()
    total = 0
    try:
        with dispatch.new_client() as client:
            while True:
                total += dispatch.deliver_due(
                    sessions,
                    now=dt.datetime.now(dt.UTC),
                    client=client,
                    server_secret=secret,
                    private_ok=settings.webhooks_private_targets_ok,
                )
                if once:
                    break
                time.sleep(dispatch.POLL_S)
    except KeyboardInterrupt:
        pass
    except OperationalError as exc:
        _unreachable(exc, settings)
    finally:
        engine.dispose()
    console.print(f"Forsøgt / attempted: {total}", soft_wrap=True)
    print(json.dumps({"attempted": total}))


@app.command("serve")
def serve(
    host: Annotated[str | None, typer.Option(help="Adresse / address.")] = None,
    port: Annotated[int | None, typer.Option(help="Port (ellers / else CAREKEY_PORT).")] = None,
    demo: Annotated[
        Path | None,
        typer.Option(
            help="Start også simulerede demo-døre fra denne mappe / also serve simulated demo "
            "doors from this folder (make demo)."
        ),
    ] = None,
    door_port: Annotated[
        int | None,
        typer.Option(
            min=1024,
            max=65000,
            help="Med --demo: første port til de simulerede døre (ellers CAREKEY_DEMO_DOOR_PORT, "
            "18301) / with --demo: the simulated doors' first port.",
            show_default=False,
        ),
    ] = None,
    live: Annotated[
        bool,
        typer.Option(
            help="Med --demo: nogle medarbejderes telefoner går ture i baggrunden / with --demo: "
            "a few care workers' phones walk visits in the background."
        ),
    ] = True,
    database_url: DatabaseUrl = None,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            max=64,
            help="Serverprocesser, hver med sin egen socket (SO_REUSEPORT) / server processes, "
            "each with its own socket (SO_REUSEPORT).",
        ),
    ] = 1,
    keep_alive: Annotated[
        int,
        typer.Option(
            min=1,
            max=3600,
            help="Sekunder en ledig forbindelse holdes åben / seconds an idle connection is kept.",
        ),
    ] = 5,
) -> None:
    """Start serveren / start the server (uvicorn)."""
    from carekey.devices.doorserver import DoorServer
    from carekey.server import serve as serving
    from carekey.sim.live import LiveActivity

    settings = _settings(database_url)
    engine = _engine(settings)
    host = host or settings.host
    port = port or settings.port
    url = f"http://{host}:{port}"
    servers: list[DoorServer] = []
    activity: LiveActivity | None = None
    try:
        _check_before_serving(engine, settings, demo=demo is not None)
        # Every port first: a taken one is said before anything says "kører på".
        try:
            serving.check_port_free(host, port)
        except serving.PortTakenError as exc:
            _fail(
                f"kan ikke lytte på {host}:{port}, porten er optaget; vælg en anden med --port "
                f"eller CAREKEY_PORT (make demo PORT=…) / cannot listen on {host}:{port}, the "
                f"port is taken; choose another with --port or CAREKEY_PORT ({exc.reason})"
            )
        if demo is not None:
            from carekey.sim.demo import (
                DemoPortTakenError,
                instructions,
                prepare_demo,
                start_demo_doors,
            )

            info = prepare_demo(
                engine,
                secret=settings.secret_key.get_secret_value(),
                demo_dir=demo,
                first_port=door_port or settings.demo_door_port,
            )
            try:
                servers = start_demo_doors(demo)
            except DemoPortTakenError as exc:
                _fail(
                    f"demo-dørens port {exc.port} er optaget; vælg en anden første port med "
                    f"--door-port eller CAREKEY_DEMO_DOOR_PORT / the demo door's port {exc.port} "
                    "is taken; choose another first port with --door-port or "
                    f"CAREKEY_DEMO_DOOR_PORT ({exc.reason})"
                )
            console.print(
                f"[bold]Demo:[/] {len(servers)} simulerede døre / simulated doors på / on "
                f"127.0.0.1:{info.doors[0].port}–{info.doors[-1].port}"
            )
            for line in instructions(info, server_url=url):
                console.print(line, soft_wrap=True, highlight=False)
            if live:
                activity = LiveActivity(
                    writer_engine(create_db_engine(settings.resolved_database_url)),
                    server_url=url,
                    secret=settings.secret_key.get_secret_value(),
                    data_dir=demo / "live",
                    echo=console.print,
                ).start()
    except OperationalError as exc:
        _unreachable(exc, settings)
    except OSError as exc:
        _fail(f"demo-dørene kunne ikke starte / the demo doors could not start: {exc}")
    finally:
        engine.dispose()
    console.print(
        f"[bold green]CareKey kører på / is running at[/] {url}"
        + (f" ({workers} processer / workers)" if workers > 1 else "")
    )
    console.print(f"  sundhed / health: {url}/healthz    API: {url}/docs    stop: Ctrl+C")
    try:
        code = serving.run(
            settings,
            host=host,
            port=port,
            workers=workers,
            keep_alive_s=keep_alive,
            echo=console.print,
        )
    except serving.ServeError as exc:
        _fail(str(exc))
    finally:
        if activity is not None:
            activity.stop()
        for server in servers:
            server.stop()
    if code:
        raise typer.Exit(code)


def _check_before_serving(engine: Engine, settings: Settings, *, demo: bool) -> None:
    """A current schema; outside development no demo and no issuer key made by the seed."""
    from sqlalchemy.orm import Session

    from carekey.keyservice.municipalities import seeded_keys_in_use, seeded_keys_message
    from carekey.store.migrate import current_revision, head_revision

    if current_revision(engine) != head_revision(engine):
        _fail("Databasen er ikke opdateret; kør `carekey db upgrade` / run `carekey db upgrade`")
    if settings.environment is Environment.DEVELOPMENT:
        return
    if demo:
        _fail(
            "--demo kører kun i udvikling (CAREKEY_ENVIRONMENT="
            f"{settings.environment.value}) / --demo runs in development only"
        )
    with Session(engine) as db:
        codes = seeded_keys_in_use(db)
    if codes:
        _fail(seeded_keys_message(codes, settings.environment.value))


door_app = typer.Typer(help="Simulerede døre / simulated doors.", no_args_is_help=True)
app.add_typer(door_app, name="door")


@door_app.command("serve")
def door_serve(
    state: Annotated[Path, typer.Option(help="Dørens tilstandsfil / the door's state file.")],
    host: Annotated[str, typer.Option(help="Adresse / address (loopback).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 47001,
) -> None:
    """Kør en simuleret dør på en lokal port / serve a simulated door on a local port."""
    from carekey.devices.doorserver import serve_cli
    from carekey.devices.statefile import DoorStateError

    try:
        serve_cli(state_path=state, host=host, port=port, echo=console.print)
    except (DoorStateError, OSError, ValueError) as exc:
        _fail(str(exc))


@bench_app.command("protocol")
def bench_protocol() -> None:
    """Mål dørprotokollen / measure the door protocol; ends with one JSON line."""
    try:
        from carekey.sim.bench_protocol import run
    except ImportError as exc:  # pragma: no cover - until the protocol benchmark lands
        _fail(f"protokolmålingen findes ikke endnu / not available yet: {exc}")
    result = run(echo=console.print)
    print(json.dumps(result, sort_keys=True))  # the machine-readable last line


sim_app = typer.Typer(help="Simulering / simulation.", no_args_is_help=True)
app.add_typer(sim_app, name="sim")


@sim_app.command("day")
def sim_day(
    profile: Annotated[str, typer.Option(help="small eller copenhagen.")] = "copenhagen",
    seed: Annotated[int, typer.Option(help="Tilfældighedsfrø / random seed.")] = 1,
    report: Annotated[
        Path | None, typer.Option(help="Mappe til HTML-rapporten / folder for the HTML report.")
    ] = None,
    employees_fraction: Annotated[
        float | None,
        typer.Option(help="Andel af de vagthavende telefoner, der simuleres / share simulated."),
    ] = None,
    route_fraction: Annotated[
        float | None,
        typer.Option(help="Andel af dem, der går hele ruten / share walking whole routes."),
    ] = None,
    freshness_min: Annotated[
        float | None,
        typer.Option(
            min=5,
            max=120,
            help="Friskhedsbevisets levetid i minutter / proof of freshness lifetime, minutes.",
        ),
    ] = None,
    online_fraction: Annotated[
        float,
        typer.Option(
            min=0.0,
            max=1.0,
            help="Andel af opgange og porte online over MQTT / share of entrances and gates "
            "online over MQTT.",
        ),
    ] = 0.25,
    database_url: DatabaseUrl = None,
) -> None:
    """En hel dag i kommunen / a whole simulated day; ends with one JSON line."""
    from carekey.sim.day import cli_command

    cli_command(
        profile,
        seed,
        database_url,
        report,
        employees_fraction,
        route_fraction,
        freshness_min,
        online_fraction,
    )


@bench_app.command("all")
def bench_all(
    write: Annotated[
        Path, typer.Option(help="Dokumentet der opdateres / the document to update.")
    ] = Path("docs/benchmarks.md"),
    postgres: Annotated[
        str, typer.Option(help="PostgreSQL til målingerne / PostgreSQL for the runs ('' = none).")
    ] = "postgresql://postgres@127.0.0.1:5432/postgres",
) -> None:
    """Alle målinger; opdaterer oversigten i docs/benchmarks.md / every benchmark, then the
    summary in docs/benchmarks.md is rewritten (make bench)."""
    from carekey.sim import bench_all as runner

    results = runner.run_all(postgres_url=postgres or None, echo=err.print)
    runner.write(results, write)
    console.print(f"Skrev / wrote {write}")
    print(json.dumps({k: v for k, v in results.items() if k != "machine"}, default=str))


def _register_benchmarks() -> None:
    from carekey.sim import bench_login, bench_online, bench_soak, bench_web, screenshots

    bench_app.command("login")(bench_login.cli_command)
    bench_app.command("online")(bench_online.cli_command)
    bench_app.command("soak")(bench_soak.cli_command)
    bench_app.command("web")(bench_web.cli_command)
    app.command("screenshots")(screenshots.cli_command)


_register_benchmarks()


def _register_setup() -> None:
    # municipality create, admin create, district create: they register on ``app`` themselves.
    from carekey.cli import setup  # noqa: F401


_register_setup()


def run() -> None:
    """Entry point of the ``carekey`` script."""
    app()
