"""Reading a staff export as HR systems and Excel write it: the encoding (UTF-8 with or without
a byte order mark, or Windows-1252), the separator (semicolon, comma or tab), the column headings
under their Danish and English names, and every field normalised (names, e-mail, employee
numbers, dates). Nothing here touches the database: ``staff.importing`` judges the rows.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass, field

from carekey.domain.errors import DomainError

IMPORT_MAX_ROWS = 5000

# Headings compared without case, spaces or punctuation: "Medarb.nr." is "medarbnr".
HEADERS: dict[str, tuple[str, ...]] = {
    "employee_number": (
        "medarbejdernummer",
        "medarbejdernr",
        "medarbnr",
        "medarbejderid",
        "employeenumber",
        "employeeno",
    ),
    "full_name": ("navn", "fuldtnavn", "fuldenavn", "name", "fullname"),
    "given_name": ("fornavn", "fornavne", "firstname", "givenname"),
    "family_name": ("efternavn", "lastname", "surname", "familyname"),
    "email": ("email", "mail", "emailadresse", "epost"),
    "districts": ("distrikt", "distrikter", "district", "districts"),
    "roles": ("rolle", "roller", "role", "roles"),
    "title": ("stilling", "stillingsbetegnelse", "jobtitel", "title", "jobtitle"),
    "starts_on": ("startdato", "ansættelsesdato", "ansatfra", "startdate", "startson"),
}
ENCODINGS = {"utf-8-sig": "UTF-8 (BOM)", "utf-8": "UTF-8", "cp1252": "Windows-1252"}
_EMAIL = re.compile(r"^[a-z0-9!#$%&'*+/=?^_`{|}~.-]+@[a-z0-9æøå-]+(\.[a-z0-9æøå-]+)*\.[a-z]{2,}$")
_DMY = re.compile(r"^(\d{1,2})[-./](\d{1,2})[-./](\d{4})$")
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")


@dataclass
class Record:
    """One line of the file, its fields normalised, or the reason it cannot be read."""

    line: int
    employee_number: str = ""
    full_name: str = ""
    fields: dict[str, str] = field(default_factory=dict)
    email: str | None = None
    starts_on: dt.date | None = None
    problem: DomainError | None = None


@dataclass
class ReadFile:
    """The file as read: its records, the encoding used, the ignored columns, or a problem."""

    records: list[Record] = field(default_factory=list)
    encoding: str = ""
    columns: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    problem: DomainError | None = None


def heading_key(title: str) -> str:
    """A heading without case, spaces or punctuation (letters æøå kept)."""
    return "".join(c for c in title.lower() if c.isalnum())


def decode(content: bytes) -> tuple[str, str]:
    """The text and the encoding it was read in: UTF-8 with a byte order mark, UTF-8, or else
    Windows-1252 (what Danish Excel writes as "CSV (semikolonsepareret)")."""
    if content.startswith(b"\xef\xbb\xbf"):
        return content.decode("utf-8-sig", errors="replace"), "utf-8-sig"
    try:
        return content.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return content.decode("cp1252", errors="replace"), "cp1252"


def tidy(value: str) -> str:
    """Trimmed, with runs of white space (also non-breaking) made one space."""
    return re.sub(r"\s+", " ", value.replace("\xa0", " ")).strip()


def person_name(value: str) -> str:
    """A name trimmed and single-spaced; one written in capitals only (``JENS HANSEN``) is
    given ordinary capitals (``Jens Hansen``), any other is kept as written (``McDonald``)."""
    name = tidy(value)
    if name.isupper():
        name = "-".join(
            " ".join(w[:1].upper() + w[1:].lower() for w in part.split(" "))
            for part in name.split("-")
        )
    return name


def employee_number(value: str) -> str:
    """Trimmed, without inner spaces, in capitals (``e 01234`` is ``E01234``)."""
    return re.sub(r"\s+", "", value).upper()


def email_of(value: str) -> str | None:
    """Lower case, or ``None`` if empty; ``DomainError`` if it is not an e-mail address."""
    text = tidy(value).lower()
    if not text:
        return None
    if len(text) > 200 or not _EMAIL.match(text) or ".." in text:
        raise DomainError(
            "import.bad_email",
            f"E-mailadressen »{text}« er ugyldig; ret den i filen, eller lad feltet stå tomt.",
            f"The e-mail address “{text}” is invalid; correct it in the file or leave it empty.",
        )
    return text


def date_of(value: str) -> dt.date | None:
    """A date written ``dd-mm-yyyy``, ``dd.mm.yyyy``, ``d-m-yyyy`` or ``yyyy-mm-dd``, or
    ``None`` if empty; ``DomainError`` if it is not such a date, or no such day exists."""
    text = tidy(value)
    if not text:
        return None
    dmy, iso = _DMY.match(text), _ISO.match(text)
    try:
        if dmy:
            return dt.date(int(dmy[3]), int(dmy[2]), int(dmy[1]))
        if iso:
            return dt.date(int(iso[1]), int(iso[2]), int(iso[3]))
    except ValueError:
        pass
    raise DomainError(
        "import.bad_date",
        f"Startdatoen »{text}« er ikke en gyldig dato; skriv fx 01-03-2027 eller 2027-03-01.",
        f"The start date “{text}” is not a valid date; write e.g. 01-03-2027 or 2027-03-01.",
    )


def _refused(code: str, da: str, en: str) -> ReadFile:
    return ReadFile(problem=DomainError(code, da, en))


def _columns(header: list[str]) -> tuple[dict[str, int], list[str]]:
    columns: dict[str, int] = {}
    ignored: list[str] = []
    for index, title in enumerate(header):
        key = heading_key(title)
        name = next((n for n, aliases in HEADERS.items() if key in aliases), None)
        if name is None or name in columns:
            if title.strip():
                ignored.append(title.strip())
            continue
        columns[name] = index
    return columns, ignored


def read_file(content: bytes) -> ReadFile:
    """Lines of the file as normalised records; a line that cannot be read carries its problem,
    a problem with the whole file (empty, no headings, too long, not CSV) is the result's."""
    text, encoding = decode(content)
    lines = text.splitlines()
    first = lines[0] if lines else ""
    if not first.strip():
        return _refused("import.empty", "Filen er tom.", "The file is empty.")
    delimiter = max((";", ",", "\t"), key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    result = ReadFile(encoding=encoding)
    try:
        header = next(reader)
        if len(first) == 5 and first.lower().startswith("sep="):
            # Excel's own hint line ("sep=;") names the separator; the headings follow it.
            reader = csv.reader(io.StringIO(text, newline=""), delimiter=first[4])
            next(reader)
            header = next(reader)
        columns, result.ignored = _columns(header)
        if "employee_number" not in columns or not {"full_name", "given_name"} & columns.keys():
            return _refused(
                "import.no_header",
                "Første linje skal være kolonneoverskrifter, mindst medarbejdernummer og navn "
                "(fx Medarbejdernr.;Fornavn;Efternavn;E-mail;Stilling;Distrikt;Startdato).",
                "The first line must be column headings, at least employee number and name "
                "(e.g. Medarbejdernr.;Fornavn;Efternavn;E-mail;Stilling;Distrikt;Startdato).",
            )
        result.columns = list(columns)
        for cells in reader:
            if not any(c.strip() for c in cells):
                continue  # an empty line, or one of only separators: skipped silently
            if len(result.records) >= IMPORT_MAX_ROWS:
                return _refused(
                    "import.too_many_rows",
                    f"Filen har for mange linjer; højst {IMPORT_MAX_ROWS} ad gangen.",
                    f"The file has too many lines; at most {IMPORT_MAX_ROWS} at a time.",
                )
            result.records.append(_record(reader.line_num, cells, header, columns))
    except csv.Error:
        return _refused(
            "import.not_csv", "Filen kan ikke læses som CSV.", "The file cannot be read as CSV."
        )
    return result


def _record(line: int, cells: list[str], header: list[str], columns: dict[str, int]) -> Record:
    # Excel leaves out trailing empty fields on some lines: a short line is padded.
    padded = cells + [""] * (len(header) - len(cells))
    fields = {name: padded[index] for name, index in columns.items()}
    record = Record(line, fields=fields)
    record.employee_number = employee_number(fields["employee_number"])
    given = " ".join(fields.get(k, "") for k in ("given_name", "family_name"))
    record.full_name = person_name(fields.get("full_name") or given)
    if any(c.strip() for c in cells[len(header) :]):
        record.problem = DomainError(
            "import.wrong_field_count",
            f"Linjen har {len(cells)} felter, men overskriften har {len(header)}; "
            "kontrollér semikolon og anførselstegn.",
            f"The line has {len(cells)} fields, but the heading has {len(header)}; "
            "check semicolons and quotes.",
        )
        return record
    try:
        record.email = email_of(fields.get("email", ""))
        record.starts_on = date_of(fields.get("starts_on", ""))
    except DomainError as exc:
        record.problem = exc
    return record
