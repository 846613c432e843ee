"""The installer's commands of ``carekey app`` (issue 16): ``orders``, ``commission`` and
``decommission``. Registered on the key app's command group by ``carekey.app.cli``."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from carekey.app.cli import _run, app, kind_name
from carekey.app.client import AppError
from carekey.app.installer import InstallerWork

KIND_NAMES = {"install": ("Montering", "Install"), "restore": ("Genopretning", "Restore")}
KIND_NAMES["service"] = ("Service", "Service")


def door_key_of(text: str) -> bytes:
    """The door's public key from its pairing label: 64 hex digits or base64 of 32 bytes."""
    raw = text.strip()
    try:
        key = bytes.fromhex(raw) if len(raw) == 64 else base64.b64decode(raw, validate=True)
    except (ValueError, binascii.Error):
        key = b""
    if len(key) != 32:
        raise AppError(
            "app.door_key_invalid",
            "Dørens nøgle skal være 32 byte (64 hex-tegn eller base64)",
            "The door's key must be 32 bytes (64 hex digits or base64)",
        )
    return key


def order_rows(orders: list[dict[str, Any]], lang: str = "da") -> list[tuple[str, ...]]:
    """The table rows of the installer's orders (id, kind, status, place, door, when)."""
    rows: list[tuple[str, ...]] = []
    for order in orders:
        da, en = KIND_NAMES.get(str(order["kind"]), (str(order["kind"]),) * 2)
        door = order.get("door_serial") or "-"
        if order.get("door_kind"):
            door = f"{kind_name(str(order['door_kind']), lang)} {door}"
        when = str(order.get("scheduled_for") or "")[:16].replace("T", " ")
        kind = da if lang == "da" else en
        rows.append((str(order["id"]), kind, str(order["status"]), str(order["place"]), door, when))
    return rows


@app.command("orders")
def orders_command(ctx: typer.Context) -> None:
    """Installatør: mine arbejdsordrer / installer: my work orders."""
    run = _run(ctx)
    with run.errors(), run.working("Henter ordrer …", "Fetching orders …"):
        orders = InstallerWork(run.keyapp()).orders()
    table = Table(title=run.t("Arbejdsordrer", "Work orders"))
    for da, en in (
        ("Nr.", "No."),
        ("Type", "Kind"),
        ("Status", "Status"),
        ("Sted", "Place"),
        ("Dør", "Door"),
        ("Planlagt", "Scheduled"),
    ):
        table.add_column(run.t(da, en))
    for row in order_rows(orders, run.lang):
        table.add_row(*(escape(cell) for cell in row))
    run.out.print(table)
    if not orders:
        run.out.print(run.t("Ingen arbejdsordrer.", "No work orders."))


@app.command("commission")
def commission_command(
    ctx: typer.Context,
    order: Annotated[int, typer.Argument(help="Arbejdsordrens nr. / the work order's number.")],
    door: Annotated[str, typer.Option("--door", help="Dørens serienummer / the door's serial.")],
    door_key: Annotated[
        str,
        typer.Option("--door-key", help="Dørens nøgle fra mærkaten / the door's key (label)."),
    ],
) -> None:
    """Installatør: sæt en dør i drift / installer: commission a door for an install order."""
    run = _run(ctx)
    with run.errors():
        key = door_key_of(door_key)
        with run.working("Sætter døren i drift …", "Commissioning the door …"):
            done = InstallerWork(run.keyapp()).commission(
                order, door_serial=door, door_public_key=key
            )
    run.out.print(
        run.t(
            f"Døren {escape(str(done['serial']))} er i drift ({done['status']}).",
            f"The door {escape(str(done['serial']))} is in service ({done['status']}).",
        )
    )


@app.command("decommission")
def decommission_command(
    ctx: typer.Context,
    order: Annotated[int, typer.Argument(help="Arbejdsordrens nr. / the work order's number.")],
    disposition: Annotated[
        str,
        typer.Option(
            "--disposition", help="stock (på lager) eller scrapped (kasseret) / stock or scrapped."
        ),
    ] = "stock",
) -> None:
    """Installatør: tag en dør ud af drift / installer: decommission a restore order's door."""
    run = _run(ctx)
    if disposition not in ("stock", "scrapped"):
        run.fail(
            run.t("--disposition er stock eller scrapped", "--disposition is stock or scrapped")
        )
    with run.errors(), run.working("Tager døren ud af drift …", "Decommissioning the door …"):
        done = InstallerWork(run.keyapp()).decommission(order, disposition=disposition)
    run.out.print(
        run.t(
            f"Døren {escape(str(done['serial']))} er taget ned ({done['status']}).",
            f"The door {escape(str(done['serial']))} is taken down ({done['status']}).",
        )
    )
