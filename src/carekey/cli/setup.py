"""``carekey municipality create`` and ``carekey admin create``: setting up a real municipality on
an empty database, with no seed data (README, "I drift / In production").

Districts are made in the administration (Distrikter → Opret distrikt) by the administrator,
or with ``carekey district create`` here, before the staff file is imported.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from carekey.cli.main import DatabaseUrl, _engine, _fail, _settings, _unreachable, app, console
from carekey.domain.errors import DomainError

municipality_app = typer.Typer(help="Kommuner / municipalities.", no_args_is_help=True)
admin_app = typer.Typer(help="Administratorer / administrators.", no_args_is_help=True)
district_app = typer.Typer(help="Distrikter / districts.", no_args_is_help=True)
app.add_typer(municipality_app, name="municipality")
app.add_typer(admin_app, name="admin")
app.add_typer(district_app, name="district")

Code = Annotated[str, typer.Option("--code", help="Kommunekode (fire cifre) / municipality code.")]
Name = Annotated[str, typer.Option("--name", help="Navn / name.")]
Municipality = Annotated[
    str, typer.Option("--municipality", help="Kommunekode / municipality code, e.g. 0101.")
]


def _check_schema(engine: Engine) -> None:
    from carekey.store.migrate import current_revision, head_revision

    if current_revision(engine) != head_revision(engine):
        _fail("Databasen er ikke opdateret; kør `carekey db upgrade` / run `carekey db upgrade`")


@municipality_app.command("create")
def municipality_create(
    code: Code,
    name: Name,
    timezone: Annotated[
        str, typer.Option(help="Tidszone / time zone (IANA).")
    ] = "Europe/Copenhagen",
    database_url: DatabaseUrl = None,
) -> None:
    """Opret en kommune med standardpolitik og egne udstedernøgler / create a municipality with
    the default policy and its own issuer keys (random, sealed with CAREKEY_SECRET_KEY)."""
    from carekey.keyservice.municipalities import create_municipality

    settings = _settings(database_url)
    engine = _engine(settings)
    try:
        _check_schema(engine)
        with Session(engine) as db, db.begin():
            made = create_municipality(
                db,
                code=code,
                name=name,
                timezone=timezone,
                secret=settings.secret_key.get_secret_value(),
                now=dt.datetime.now(dt.UTC),
            )
            row = made.municipality
            shown = (row.code, row.name, row.timezone)
    except DomainError as exc:
        _fail(str(exc))
    except OperationalError as exc:
        _unreachable(exc, settings)
    finally:
        engine.dispose()
    console.print(
        f"Kommune oprettet / municipality created: {shown[0]} {shown[1]} ({shown[2]})",
        soft_wrap=True,
    )
    console.print(
        f"  udstedernøgler / issuer keys: home_care {made.home_care_kid.hex()}, "
        f"partner {made.partner_kid.hex()} (forseglet / sealed)",
        soft_wrap=True,
    )
    console.print(
        "Næste skridt / next: carekey admin create --municipality "
        f"{shown[0]} --employee-number … --name …",
        soft_wrap=True,
        highlight=False,
    )


@admin_app.command("create")
def admin_create(
    municipality: Municipality,
    employee_number: Annotated[
        str, typer.Option("--employee-number", help="Medarbejdernummer / employee number.")
    ],
    name: Name,
    email: Annotated[str | None, typer.Option(help="E-mail.")] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Opret en administrator med en engangsadgangskode (vises én gang) / create an
    administrator with a one-time password (shown once); TOTP is set up at the first sign-in."""
    from carekey.staff.setup import create_administrator

    settings = _settings(database_url)
    engine = _engine(settings)
    try:
        _check_schema(engine)
        with Session(engine) as db, db.begin():
            made = create_administrator(
                db,
                municipality_code=municipality,
                employee_number=employee_number,
                full_name=name,
                email=email,
                now=dt.datetime.now(dt.UTC),
            )
            number, full_name = made.employee.employee_number, made.employee.full_name
    except DomainError as exc:
        _fail(str(exc))
    except OperationalError as exc:
        _unreachable(exc, settings)
    finally:
        engine.dispose()
    console.print(
        f"Administrator oprettet / administrator created: {full_name} ({number}), "
        f"kommune / municipality {municipality.strip()}",
        soft_wrap=True,
        highlight=False,
    )
    console.print(
        f"Engangsadgangskode / one-time password: [bold]{made.password}[/]",
        soft_wrap=True,
        highlight=False,
    )
    console.print(
        "Den vises kun nu. Ved første login vælges en ny adgangskode, og en godkender-app "
        "sættes op / shown only now. At the first sign-in a new password is chosen and an "
        "authenticator app is set up.",
        soft_wrap=True,
    )


@district_app.command("create")
def district_create(
    municipality: Municipality,
    code: Annotated[str, typer.Option("--code", help="Distriktskode / district code, e.g. D01.")],
    name: Name,
    database_url: DatabaseUrl = None,
) -> None:
    """Opret et distrikt / create a district (also: Distrikter → Opret in the administration)."""
    from carekey.districts.service import create_district_for_setup

    settings = _settings(database_url)
    engine = _engine(settings)
    try:
        _check_schema(engine)
        with Session(engine) as db, db.begin():
            view = create_district_for_setup(
                db,
                municipality_code=municipality,
                code=code,
                name=name,
                now=dt.datetime.now(dt.UTC),
            )
            shown = (view.district.code, view.district.name)
    except DomainError as exc:
        _fail(str(exc))
    except OperationalError as exc:
        _unreachable(exc, settings)
    finally:
        engine.dispose()
    console.print(
        f"Distrikt oprettet / district created: {shown[0]} {shown[1]}",
        soft_wrap=True,
        highlight=False,
    )
