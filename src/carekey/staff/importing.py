"""Importing employees from a CSV file: a preview of every row's outcome, then, once confirmed,
all rows together, or none.

The file is read by ``staff.import_reading`` (encoding, separator, headings, normalised fields)
and goes through the same use cases as a form (``staff.service``), row by row, each in its own
savepoint: a row the use case refuses is rejected with its reason. The import is all or
nothing: a confirmation writes only if no row is rejected and the plan is still the one the user
saw (its digest); otherwise everything is undone. A reason is a ``DomainError`` (a stable code,
a Danish and an English text), so the page shows it in the user's language. Nothing here
commits: the request's unit of work does.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from carekey.access import Actor
from carekey.districts import service as districts
from carekey.domain import enums as e
from carekey.domain.changes import UNSET
from carekey.domain.errors import DomainError
from carekey.staff import job_titles
from carekey.staff import queries as sql
from carekey.staff.import_reading import ENCODINGS, IMPORT_MAX_ROWS, Record, read_file
from carekey.staff.service import (
    EmployeeChanges,
    EmployeeView,
    NewEmployee,
    create_employee,
    get_employee,
    update_employee,
)

__all__ = ["IMPORT_MAX_BYTES", "IMPORT_MAX_ROWS", "ImportPlan", "ImportRow", "plan_import"]

IMPORT_MAX_BYTES = 512 * 1024
IMPORT_REASON = "CSV-import"
JOB_TITLES_PAGE = "/employees/job-titles"


@dataclass
class ImportRow:
    """One line of the file and what the import makes of it."""

    line: int
    employee_number: str
    full_name: str
    action: str = ""  # "create", "update", "unchanged" or "" (rejected)
    problem: DomainError | None = None
    email: str | None = None
    title: str = ""
    starts_on: dt.date | None = None
    roles: list[e.Role] = field(default_factory=list)
    district_codes: list[str] = field(default_factory=list)


@dataclass
class ImportPlan:
    """The whole file: every row's outcome, the encoding it was read in, the columns ignored,
    and a digest of the plan."""

    rows: list[ImportRow]
    problem: DomainError | None = None
    encoding: str = ""
    ignored: list[str] = field(default_factory=list)
    written: bool = False

    @property
    def encoding_label(self) -> str:
        """The encoding as a person calls it (``Windows-1252``)."""
        return ENCODINGS.get(self.encoding, self.encoding)

    @property
    def accepted(self) -> list[ImportRow]:
        """The rows without a problem."""
        return [r for r in self.rows if r.problem is None]

    @property
    def rejected(self) -> list[ImportRow]:
        """The rows with a problem: while there is one, nothing is imported."""
        return [r for r in self.rows if r.problem is not None]

    @property
    def importable(self) -> bool:
        """True if the file can be imported: no row rejected and something to do."""
        return bool(self.rows) and not self.rejected

    def count(self, action: str) -> int:
        """How many accepted rows have ``action``."""
        return sum(1 for r in self.accepted if r.action == action)

    @property
    def digest(self) -> str:
        """What the preview promised: confirming checks that it still holds."""
        plan = [(r.line, r.action, r.problem.code if r.problem else "") for r in self.rows]
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
    use case refuses is rejected with its reason. Everything is undone again unless no row is
    rejected and the plan's digest equals ``commit_if`` (what the user confirmed): then every
    row stays, all of them together (``written``)."""
    read = read_file(content)
    if read.problem:
        return ImportPlan([], problem=read.problem, encoding=read.encoding)
    choices = districts.list_districts(db, actor=actor)
    known = {v.district.name.lower(): v.district.id for v in choices}
    known.update({v.district.code.lower(): v.district.id for v in choices})
    titles = job_titles.title_table(db, actor=actor)
    # Matched in any case, so that an import never makes "e1" beside an existing "E1".
    numbers = sql.employee_numbers(db, actor.municipality_id)
    lines_of: dict[str, list[int]] = {}
    for record in read.records:
        if record.employee_number:
            lines_of.setdefault(record.employee_number, []).append(record.line)
    rows: list[ImportRow] = []
    outer = db.begin_nested()
    try:
        for record in read.records:
            row = ImportRow(
                record.line,
                record.employee_number,
                record.full_name,
                problem=record.problem,
                email=record.email,
                title=record.fields.get("title", "").strip(),
                starts_on=record.starts_on,
            )
            rows.append(row)
            row.problem = row.problem or _judge(row, record, lines_of, titles, known)
            if row.problem is None:
                ids = sorted({known[d.lower()] for d in row.district_codes})
                existing = numbers.get(row.employee_number.lower())
                _import_row(db, actor, row, record, ids, existing, now)
    except BaseException:
        outer.rollback()
        raise
    plan = ImportPlan(rows, encoding=read.encoding, ignored=read.ignored)
    if commit_if is not None and plan.digest == commit_if and plan.importable:
        outer.commit()
        plan.written = True
    else:
        outer.rollback()
    return plan


def _judge(
    row: ImportRow,
    record: Record,
    lines_of: dict[str, list[int]],
    titles: job_titles.TitleTable,
    known: dict[str, int],
) -> DomainError | None:
    """The reason the row cannot be imported, before any use case sees it; ``None`` if none.
    Fills in the row's roles and districts."""
    others = [n for n in lines_of.get(row.employee_number, []) if n != row.line]
    if others:
        where = ", ".join(str(n) for n in others)
        return DomainError(
            "import.duplicate_number",
            f"Medarbejdernummeret står også på linje {where}; hvert nummer må kun stå én gang.",
            f"The employee number is also on line {where}; each number may appear only once.",
        )
    problem, roles = _roles(record, titles)
    if problem:
        return problem
    row.roles = roles
    row.district_codes = _split_list(record.fields.get("districts", ""))
    unknown = [d for d in row.district_codes if d.lower() not in known]
    if unknown:
        district = ", ".join(unknown)
        return DomainError(
            "import.unknown_district",
            f"Ukendt distrikt: {district}. Brug distriktets kode eller navn, som under Distrikter.",
            f"Unknown district: {district}. Use the district's code or name, as under Districts.",
        )
    return None


def _roles(
    record: Record, titles: job_titles.TitleTable
) -> tuple[DomainError | None, list[e.Role]]:
    """The row's roles: the ``Rolle`` column if it has any, else the job title's role."""
    words = _split_list(record.fields.get("roles", ""))
    if words:
        unknown = [w for w in words if job_titles.role_of_word(w) is None]
        if unknown:
            role = ", ".join(unknown)
            return DomainError(
                "import.unknown_role",
                f"Ukendt rolle: {role}. Brug plejemedarbejder, distriktsleder, administrator, "
                "revisor eller montør.",
                f"Unknown role: {role}. Use plejemedarbejder, distriktsleder, administrator, "
                "revisor or montør.",
            ), []
        found = {job_titles.role_of_word(w) for w in words}
        return None, sorted((r for r in found if r is not None), key=list(e.Role).index)
    title = job_titles.normalise_title(record.fields.get("title", ""))
    if not title:
        return None, []
    role_of_title = titles.role_of(title)
    if role_of_title is None:
        return DomainError(
            "import.unknown_title",
            f"Ukendt stilling: »{title}«. Tilføj den under Stillinger og roller "
            f"({JOB_TITLES_PAGE}), og importér igen.",
            f"Unknown job title: “{title}”. Add it under Job titles and roles "
            f"({JOB_TITLES_PAGE}) and import again.",
        ), []
    return None, [role_of_title]


def _import_row(
    db: Session,
    actor: Actor,
    row: ImportRow,
    record: Record,
    district_ids: list[int],
    existing: tuple[int, str] | None,
    now: dt.datetime,
) -> None:
    try:
        with db.begin_nested():
            if existing is None:
                if not row.roles:
                    raise DomainError(
                        "import.no_role",
                        "Angiv en rolle eller en stilling for en ny medarbejder.",
                        "Give a new employee a role or a job title.",
                    )
                new = NewEmployee(
                    employee_number=row.employee_number,
                    full_name=row.full_name,
                    email=row.email,
                    roles=row.roles,
                    district_ids=district_ids,
                    starts_on=row.starts_on,
                )
                create_employee(db, actor=actor, new=new, now=now, reason=IMPORT_REASON)
                row.action = "create"
                return
            employee_id, row.employee_number = existing
            before = get_employee(db, actor=actor, employee_id=employee_id)
            snapshot = _snapshot(before)
            changes = EmployeeChanges(
                full_name=row.full_name,
                email=row.email if "email" in record.fields else UNSET,
                roles=row.roles if row.roles else UNSET,
                district_ids=district_ids if "districts" in record.fields else UNSET,
                starts_on=row.starts_on if row.starts_on is not None else UNSET,
            )
            after = update_employee(
                db,
                actor=actor,
                employee_id=employee_id,
                changes=changes,
                now=now,
                reason=IMPORT_REASON,
            )
            row.action = "update" if snapshot != _snapshot(after) else "unchanged"
    except DomainError as exc:
        row.problem = exc
        row.action = ""


def _snapshot(view: EmployeeView) -> tuple[object, ...]:
    x = view.employee
    return (x.full_name, x.email, x.starts_on, list(view.roles), [d.id for d in view.districts])


def _split_list(value: str) -> list[str]:
    return [part.strip() for part in re.split(r"[,|+/]", value) if part.strip()]
