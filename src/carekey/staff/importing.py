"""Importing employees from a CSV file: a preview of what would be created, changed and rejected,
then, once confirmed, exactly the accepted rows, all of them together.

The file goes through the same use cases as a form (``staff.service``), row by row, each in its
own savepoint: a row the use case refuses is rejected with its reason. A preview undoes
everything again; a confirmation keeps the rows only if the plan is still the one the user saw
(its digest). A reason is a ``DomainError`` (a stable code, a Danish and an English text), so the
page shows it in the user's language. Nothing here commits: the request's unit of work does.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import re
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from carekey.access import Actor
from carekey.districts import service as districts
from carekey.domain import enums as e
from carekey.domain.changes import UNSET
from carekey.domain.errors import DomainError
from carekey.staff import queries as sql
from carekey.staff.service import (
    EmployeeChanges,
    NewEmployee,
    create_employee,
    get_employee,
    update_employee,
)

IMPORT_MAX_BYTES = 512 * 1024
IMPORT_MAX_ROWS = 5000
IMPORT_REASON = "CSV-import"

_HEADERS = {
    "employee_number": ("medarbejdernummer", "medarbejdernr", "medarbejder nr", "employee_number"),
    "full_name": ("navn", "fulde navn", "name", "full_name"),
    "email": ("email", "e-mail", "mail"),
    "roles": ("roller", "rolle", "roles", "role"),
    "districts": ("distrikter", "distrikt", "districts", "district"),
}
_ROLE_WORDS = {
    "plejemedarbejder": e.Role.CARE_WORKER,
    "medarbejder": e.Role.CARE_WORKER,
    "hjemmehjælper": e.Role.CARE_WORKER,
    "sosu": e.Role.CARE_WORKER,
    "administrator": e.Role.ADMINISTRATOR,
    "admin": e.Role.ADMINISTRATOR,
    "distriktsleder": e.Role.DISTRICT_LEAD,
    "leder": e.Role.DISTRICT_LEAD,
    "revisor": e.Role.AUDITOR,
    "montør": e.Role.INSTALLER,
    **{r.value: r for r in e.Role},
}


@dataclass
class ImportRow:
    """One line of the file and what the import makes of it."""

    line: int
    employee_number: str
    full_name: str
    action: str = ""  # "create", "update", "unchanged" or "" (rejected)
    problem: DomainError | None = None
    roles: list[e.Role] = field(default_factory=list)
    district_codes: list[str] = field(default_factory=list)


@dataclass
class ImportPlan:
    """The whole file: what would be created, updated and rejected, and a digest of the plan."""

    rows: list[ImportRow]
    problem: DomainError | None = None
    warning: DomainError | None = None

    @property
    def accepted(self) -> list[ImportRow]:
        """The rows that will be written."""
        return [r for r in self.rows if r.problem is None]

    @property
    def rejected(self) -> list[ImportRow]:
        """The rows that will not, with their reasons."""
        return [r for r in self.rows if r.problem is not None]

    def count(self, action: str) -> int:
        """How many accepted rows have ``action``."""
        return sum(1 for r in self.accepted if r.action == action)

    @property
    def digest(self) -> str:
        """What the preview promised: confirming checks that it still holds."""
        plan = [(r.line, r.action) for r in self.rows]
        return hashlib.sha256(json.dumps(plan).encode()).hexdigest()[:32]


def plan_import(
    db: Session,
    *,
    actor: Actor,
    content: bytes,
    now: dt.datetime,
    commit_if: str | None = None,
) -> ImportPlan:
    """Run the import through the use cases, row by row, each in its own savepoint: a row the
    use case refuses is rejected with its reason. Everything is undone again unless the plan's
    digest equals ``commit_if`` (what the user confirmed): then exactly the accepted rows stay,
    all of them together."""
    records, rejected, header = _read_csv(content)
    if header.problem:
        return header
    choices = districts.list_districts(db, actor=actor)
    known = {v.district.name.lower(): v.district.id for v in choices}
    known.update({v.district.code.lower(): v.district.id for v in choices})
    rows: list[ImportRow] = list(rejected)
    seen: dict[str, int] = {}
    outer = db.begin_nested()
    try:
        for record in records:
            row = ImportRow(int(record["line"]), record["employee_number"], record["full_name"])
            rows.append(row)
            key = row.employee_number.lower()
            if key and key in seen:
                row.problem = DomainError(
                    "import.duplicate_number",
                    f"Medarbejdernummeret står også på linje {seen[key]}.",
                    f"The employee number is also on line {seen[key]}.",
                )
                continue
            seen[key] = row.line
            words = _split_list(record.get("roles", ""))
            unknown = [w for w in words if w.lower() not in _ROLE_WORDS]
            if unknown:
                role = ", ".join(unknown)
                row.problem = DomainError(
                    "import.unknown_role", f"Ukendt rolle: {role}.", f"Unknown role: {role}."
                )
                continue
            row.roles = sorted({_ROLE_WORDS[w.lower()] for w in words}, key=list(e.Role).index)
            row.district_codes = _split_list(record.get("districts", ""))
            unknown = [d for d in row.district_codes if d.lower() not in known]
            if unknown:
                district = ", ".join(unknown)
                row.problem = DomainError(
                    "import.unknown_district",
                    f"Ukendt distrikt: {district}.",
                    f"Unknown district: {district}.",
                )
                continue
            district_ids = sorted({known[d.lower()] for d in row.district_codes})
            _import_row(db, actor, row, record, district_ids, now)
    except BaseException:
        outer.rollback()
        raise
    rows.sort(key=lambda r: r.line)
    plan = ImportPlan(rows, warning=header.warning)
    if commit_if is not None and plan.digest == commit_if and plan.accepted:
        outer.commit()
    else:
        outer.rollback()
    return plan


def _import_row(
    db: Session,
    actor: Actor,
    row: ImportRow,
    record: dict[str, str],
    district_ids: list[int],
    now: dt.datetime,
) -> None:
    existing = sql.employee_with_number(db, actor.municipality_id, row.employee_number.strip())
    try:
        with db.begin_nested():
            if existing is None:
                if not row.roles:
                    raise DomainError(
                        "import.no_role",
                        "Angiv mindst én rolle for en ny medarbejder",
                        "Give a new employee at least one role",
                    )
                new = NewEmployee(
                    employee_number=row.employee_number,
                    full_name=row.full_name,
                    email=record.get("email") or None,
                    roles=row.roles,
                    district_ids=district_ids,
                )
                create_employee(db, actor=actor, new=new, now=now, reason=IMPORT_REASON)
                row.action = "create"
                return
            before = get_employee(db, actor=actor, employee_id=existing.id)
            snapshot = (
                before.employee.full_name,
                before.employee.email,
                list(before.roles),
                [d.id for d in before.districts],
            )
            changes = EmployeeChanges(
                full_name=row.full_name,
                email=(record.get("email") or None) if "email" in record else UNSET,
                roles=row.roles if row.roles else UNSET,
                district_ids=district_ids if "districts" in record else UNSET,
            )
            after = update_employee(
                db,
                actor=actor,
                employee_id=existing.id,
                changes=changes,
                now=now,
                reason=IMPORT_REASON,
            )
            changed = snapshot != (
                after.employee.full_name,
                after.employee.email,
                list(after.roles),
                [d.id for d in after.districts],
            )
            row.action = "update" if changed else "unchanged"
    except DomainError as exc:
        row.problem = exc
        row.action = ""


# --- reading the file --------------------------------------------------------------------------


def _decode(content: bytes) -> tuple[str, DomainError | None]:
    try:
        return content.decode("utf-8-sig"), None
    except UnicodeDecodeError:
        return content.decode("cp1252", errors="replace"), DomainError(
            "import.not_utf8",
            "Filen er ikke gemt som UTF-8; den er læst som Windows-tegnsæt. "
            "Kontrollér æ, ø og å i forhåndsvisningen.",
            "The file is not saved as UTF-8; it was read as Windows encoding. "
            "Check æ, ø and å in the preview.",
        )


def _split_list(value: str) -> list[str]:
    return [part.strip() for part in re.split(r"[,|+/]", value) if part.strip()]


def _refused(
    code: str, da: str, en: str
) -> tuple[list[dict[str, str]], list[ImportRow], ImportPlan]:
    return [], [], ImportPlan([], problem=DomainError(code, da, en))


def _read_csv(content: bytes) -> tuple[list[dict[str, str]], list[ImportRow], ImportPlan]:
    """Lines of the file as fields by column; lines that cannot be read are rejected. The plan
    returned carries a problem with the whole file, or a warning."""
    text, warning = _decode(content)
    first = text.splitlines()[0] if text.strip() else ""
    if not first.strip():
        return _refused("import.empty", "Filen er tom.", "The file is empty.")
    delimiter = max((";", ",", "\t"), key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    records: list[dict[str, str]] = []
    rejected: list[ImportRow] = []
    try:
        header = [h.strip().lower() for h in next(reader)]
        columns: dict[str, int] = {}
        for name, aliases in _HEADERS.items():
            for index, title in enumerate(header):
                if title in aliases:
                    columns[name] = index
        if "employee_number" not in columns or "full_name" not in columns:
            return _refused(
                "import.no_header",
                "Første linje skal være kolonneoverskrifter, mindst medarbejdernummer og navn "
                "(fx medarbejdernummer;navn;email;roller;distrikter).",
                "The first line must be column headings, at least employee number and name "
                "(e.g. medarbejdernummer;navn;email;roller;distrikter).",
            )
        for cells in reader:
            line = reader.line_num
            if not any(c.strip() for c in cells):
                continue
            if len(records) + len(rejected) >= IMPORT_MAX_ROWS:
                return _refused(
                    "import.too_many_rows",
                    f"Filen har for mange linjer; højst {IMPORT_MAX_ROWS} ad gangen.",
                    f"The file has too many lines; at most {IMPORT_MAX_ROWS} at a time.",
                )
            record = {"line": str(line)}
            for name, index in columns.items():
                record[name] = cells[index].strip() if index < len(cells) else ""
            if len(cells) != len(header):
                rejected.append(
                    ImportRow(
                        line,
                        record["employee_number"],
                        record["full_name"],
                        problem=DomainError(
                            "import.wrong_field_count",
                            f"Linjen har {len(cells)} felter, men overskriften har {len(header)}.",
                            f"The line has {len(cells)} fields, but the heading has {len(header)}.",
                        ),
                    )
                )
                continue
            records.append(record)
    except csv.Error:
        return _refused(
            "import.not_csv", "Filen kan ikke læses som CSV.", "The file cannot be read as CSV."
        )
    return records, rejected, ImportPlan([], warning=warning)
