"""The audit log as files for the office: CSV for Danish Excel, and an Excel workbook.

Both carry the same Danish header and cells (``AuditRow.to_csv``); names typed by people stay
text, never formulas. Every export is itself a line in the log of administrative actions.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Final

# openpyxl ships no type information and types-openpyxl is not a dev dependency (yet).
from openpyxl import Workbook  # type: ignore[import-untyped]
from openpyxl.cell import WriteOnlyCell  # type: ignore[import-untyped]
from openpyxl.styles import Font  # type: ignore[import-untyped]
from sqlalchemy.orm import Session

from carekey.access import Actor
from carekey.audit import service as audit_log
from carekey.audit.actions import record_admin_action

XLSX_MAX_ROWS: Final = 50_000
"""An Excel export holds at most this many rows; beyond it the office narrows the filter or
takes the CSV, which streams without limit."""

CSV_HEADER: Final = (
    "Tidspunkt (dansk tid)",
    "Tidspunkt (UTC)",
    "Handling",
    "Årsag",
    "Medarbejder",
    "Medarbejdernummer",
    "Partner",
    "Borger",
    "Dør (serienummer)",
    "Dørtype",
    "Adresse",
    "Kilde",
    "Hændelsesnummer",
    "Markeringer",
)
CSV_HEADER_EN: Final = (
    "Time (Danish time)",
    "Time (UTC)",
    "Action",
    "Reason",
    "Employee",
    "Employee number",
    "Partner",
    "Citizen",
    "Door (serial number)",
    "Door kind",
    "Address",
    "Source",
    "Event number",
    "Flags",
)


def header_row(language: str = "da") -> tuple[str, ...]:
    """The header row of an export in ``language``."""
    return CSV_HEADER_EN if language == "en" else CSV_HEADER


def record_export(
    db: Session, *, actor: Actor, now: dt.datetime, filters: Mapping[str, object]
) -> None:
    """Write "``actor`` exported the audit log with these filters" to the log of administrative
    actions, in the request's transaction."""
    # Exporting personal data is itself an action worth a line in the log.
    record_admin_action(
        db,
        actor=actor,
        municipality_id=actor.municipality_id,
        action="audit.exported",
        target_type="audit_log",
        target_id=actor.municipality_id,
        now=now,
        details={k: (str(v) if v is not None else None) for k, v in filters.items()},
    )


def _cell(value: str) -> str:
    # A cell starting with = + - @ is a formula to Excel; names typed by people must stay text.
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def audit_csv(rows: Iterable[audit_log.AuditRow], language: str = "da") -> Iterator[str]:
    """The audit log as CSV for Danish Excel: UTF-8 BOM, semicolons, a header row and every
    code in words of ``language`` (Danish unless the user reads English).

    Yields text in chunks of rows, so a large export streams instead of sitting in memory.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    buffer.write("\ufeff")
    writer.writerow(header_row(language))
    for count, row in enumerate(rows, start=1):
        writer.writerow([_cell(c) for c in row.to_csv(language)])
        if count % 500 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def audit_workbook(
    db: Session,
    *,
    actor: Actor,
    filters: Mapping[str, Any],
    max_rows: int = XLSX_MAX_ROWS,
    language: str = "da",
) -> bytes | None:
    """The log rows the actor may read under ``filters`` (``query_audit``'s keyword arguments)
    as an Excel workbook, or None when there are more than ``max_rows``."""
    # One cheap look past the limit first, so a huge filter is refused without reading it.
    beyond = audit_log.query_audit(db, actor=actor, limit=1, offset=max_rows, **filters)
    if beyond.rows:
        return None
    rows = audit_log.iter_audit(db, actor=actor, **filters)
    return audit_xlsx(rows, max_rows=max_rows, language=language)


def audit_xlsx(
    rows: Iterable[audit_log.AuditRow], *, max_rows: int = XLSX_MAX_ROWS, language: str = "da"
) -> bytes | None:
    """The audit log as an Excel workbook with the CSV's Danish header, or None when there are
    more than ``max_rows`` rows. Times are real Excel date-times in Danish time; people's names
    are always text, never formulas."""
    taken: list[audit_log.AuditRow] = []
    more = False
    # Read to the end even past the limit: stopping a server-side cursor half-way leaves it open.
    for row in rows:
        if len(taken) < max_rows:
            taken.append(row)
        else:
            more = True
    if more:
        return None
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Revisionslog")
    sheet.freeze_panes = "A2"
    widths = (19, 22, 22, 28, 26, 16, 24, 24, 16, 14, 40, 8, 14, 20)
    for number, width in enumerate(widths, start=1):
        sheet.column_dimensions[_column(number)].width = width
    bold = Font(bold=True)
    header = []
    for title in header_row(language):
        cell = WriteOnlyCell(sheet, value=title)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    for row in taken:
        cells: list[Any] = []
        for index, text in enumerate(row.to_csv(language)):
            if index == 0:
                when = WriteOnlyCell(sheet, value=row.local_time.replace(tzinfo=None))
                when.number_format = "yyyy-mm-dd hh:mm:ss"
                cells.append(when)
            elif index == 12 and row.door_seq is not None:
                cells.append(row.door_seq)
            else:
                cell = WriteOnlyCell(sheet, value=text)
                cell.data_type = "s"  # never a formula, whatever a name starts with
                cells.append(cell)
        sheet.append(cells)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _column(number: int) -> str:
    return chr(ord("A") + number - 1)
