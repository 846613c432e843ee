"""What the municipality's work orders cost (issue 16): sums per month, district, property or
citizen, what is paid (signed-off orders) and what is pending (done, not signed off yet), and
the same report as CSV for Danish Excel and as an Excel workbook (cells typed by people stay
text, never formulas)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from typing import Final

# openpyxl ships no type information.
from openpyxl import Workbook  # type: ignore[import-untyped]
from sqlalchemy.orm import Session

from carekey.access import Action, Actor, reach
from carekey.audit.actions import record_admin_action
from carekey.clock import COPENHAGEN
from carekey.domain.errors import DomainError
from carekey.workorders import queries as sql

GROUPS: Final = ("month", "district", "property", "citizen")
GROUP_LABELS: Final = {
    "month": ("Måned", "Month"),
    "district": ("Distrikt", "District"),
    "property": ("Ejendom", "Property"),
    "citizen": ("Borger", "Citizen"),
}
CSV_HEADER: Final = (
    "Gruppe",
    "Ordrer",
    "Betalt (kr.)",
    "Afventer godkendelse (kr.)",
    "Materialer (kr.)",
    "Arbejdsløn (kr.)",
)


@dataclass(frozen=True)
class CostLine:
    """The sums of one group (money in øre)."""

    key: str
    label: str
    orders: int
    paid_ore: int
    pending_ore: int
    material_ore: int
    labour_ore: int


@dataclass(frozen=True)
class CostReport:
    """The lines of one grouping and the totals."""

    group: str
    month: str | None
    lines: list[CostLine]

    @property
    def paid_ore(self) -> int:
        """What the municipality has paid (signed-off orders)."""
        return sum(line.paid_ore for line in self.lines)

    @property
    def pending_ore(self) -> int:
        """Done orders not yet signed off."""
        return sum(line.pending_ore for line in self.lines)


def _month_bounds(month: str | None) -> tuple[dt.datetime | None, dt.datetime | None]:
    if not month:
        return None, None
    try:
        first = dt.datetime.strptime(month, "%Y-%m").replace(tzinfo=dt.UTC)
    except ValueError:
        raise DomainError(
            "costs.bad_month", "Måneden skal skrives åååå-mm", "Write the month as yyyy-mm"
        ) from None
    after = (first + dt.timedelta(days=32)).replace(day=1)
    return first, after


def cost_report(
    db: Session, *, actor: Actor, group: str = "month", month: str | None = None
) -> CostReport:
    """The costs in the actor's reach (``READ_COSTS``) grouped by ``group`` (one of
    ``GROUPS``), optionally of one month of completion (``yyyy-mm``)."""
    scope = reach(actor, Action.READ_COSTS)
    if group not in GROUPS:
        raise DomainError(
            "costs.bad_group",
            "Vælg måned, distrikt, ejendom eller borger",
            "Choose month, district, property or citizen",
        )
    since, until = _month_bounds(month)
    rows = sql.cost_rows(db, scope, group=group, since=since, until=until)
    lines = [CostLine(str(k), str(label), n, p, q, a, b) for k, label, n, p, q, a, b in rows]
    return CostReport(group, month or None, lines)


def kroner(ore: int) -> str:
    """Øre as Danish kroner: 1234567 → "12.345,67"."""
    whole, part = divmod(ore, 100)
    return f"{whole:,}".replace(",", ".") + f",{part:02d}"


def _cell(value: str) -> str:
    # A cell starting with = + - @ is a formula to Excel; names typed by people must stay text.
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def record_export(
    db: Session, *, actor: Actor, report: CostReport, fmt: str, now: dt.datetime
) -> None:
    """Write "``actor`` exported the costs" to the log of administrative actions."""
    record_admin_action(
        db,
        actor=actor,
        municipality_id=actor.municipality_id,
        action="costs.exported",
        target_type="costs",
        target_id=actor.municipality_id,
        now=now,
        details={"group": report.group, "month": report.month, "format": fmt},
    )


def costs_csv(report: CostReport) -> str:
    """The report as CSV for Danish Excel: UTF-8 BOM, semicolons, a Danish header row, a
    total row last."""
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for line in report.lines:
        writer.writerow(
            [
                _cell(line.label),
                line.orders,
                kroner(line.paid_ore),
                kroner(line.pending_ore),
                kroner(line.material_ore),
                kroner(line.labour_ore),
            ]
        )
    writer.writerow(
        [
            "I alt",
            sum(x.orders for x in report.lines),
            kroner(report.paid_ore),
            kroner(report.pending_ore),
            "",
            "",
        ]
    )
    return buffer.getvalue()


def costs_xlsx(report: CostReport, *, now: dt.datetime) -> bytes:
    """The report as an Excel workbook: amounts as numbers in kroner, labels as text."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Omkostninger")
    sheet.append(list(CSV_HEADER))
    for line in report.lines:
        sheet.append(
            [
                _cell(line.label),
                line.orders,
                line.paid_ore / 100,
                line.pending_ore / 100,
                line.material_ore / 100,
                line.labour_ore / 100,
            ]
        )
    sheet.append(["I alt", None, report.paid_ore / 100, report.pending_ore / 100])
    sheet.append([f"Udtrukket {now.astimezone(COPENHAGEN):%Y-%m-%d %H:%M}"])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
