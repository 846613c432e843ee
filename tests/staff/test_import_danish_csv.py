"""Acceptance (issue 18): a real municipality's staff export from Danish Excel imports as it is.

The file has every quirk an HR system's export has: a byte order mark (or Windows-1252), CRLF
lines, semicolons, æøå, a quoted field containing a semicolon, Danish headings under other
names, stray spaces and capitals, an empty line, both date forms, job titles instead of roles,
and rows that cannot be imported (a duplicate employee number, a bad e-mail, an unknown
district, an unknown job title, an impossible date). Each row's outcome and reason code is
checked; a refused import writes nothing at all; the corrected file imports completely.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from carekey.access import Actor
from carekey.domain import enums as e
from carekey.staff import job_titles
from carekey.staff.importing import ImportPlan, plan_import
from carekey.store import models as m
from tests.store.actors import administrator
from tests.store.factories import make_world

NOW = dt.datetime(2026, 11, 26, 7, 0, tzinfo=dt.UTC)
HEADER = "Medarb.nr.;Fornavn;Efternavn;E-mail;Stilling;Distrikt;Startdato;Bemærkning"
QUIRKY = [
    HEADER,
    " e100 ;  SØREN  ;  ØSTERGÅRD ; Soeren.Oestergaard@KK.Example ;Social- og "
    'sundhedshjælper;D01;01-03-2027;"Deltid; nat"',  # 2: create, normalised
    "E101;Åse;Æblemand;aase@kk.example;SYGEPLEJERSKE;Nørrebro;2027-03-15;",  # 3: duplicate of 7
    "E102;Bo;Bak;bo(at)kk.example;Sygeplejerske;D01;;",  # 4: bad e-mail
    "E103;Cia;Cold;;Terapeut;D99;;",  # 5: unknown district
    ";;;;;;;",  # 6: empty, skipped silently
    "e101 ;Dan;Dyr;;Leder;D01;;",  # 7: duplicate of 3 (in another case)
    "E104;Eva;Ek;;Kok;D01;;",  # 8: unknown job title
    "E105;Finn;McDonald;;Hjemmehjælper;D01;31-02-2027;",  # 9: impossible date
    "E106;Gry;Gram;;Teamleder;D01;5-1-2027;",  # 10: create, d-m-yyyy
]
CLEAN = [
    HEADER,
    QUIRKY[1],
    "E101;Åse;Æblemand;aase@kk.example;SYGEPLEJERSKE;Nørrebro;2027-03-15;",
    "E102;Bo;Bak;BO@KK.EXAMPLE;Sygeplejerske;D01;;",
    "",
    "E106;Gry;Gram;;Teamleder;D01;5-1-2027;",
]


def _excel(lines: list[str], encoding: str = "utf-8-sig") -> bytes:
    return "\r\n".join(lines).encode(encoding) + b"\r\n"


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine) as db:
        yield db


@pytest.fixture
def actor(session: Session) -> Actor:
    world = make_world(session)
    return administrator(world, session)


def _counts(db: Session) -> tuple[int, ...]:
    tables = (m.Employee, m.EmployeeRole, m.EmployeeDistrict, m.AdminAction, m.AuditEvent)
    return tuple(db.execute(select(func.count()).select_from(t)).scalar_one() for t in tables)


def _outcomes(plan: ImportPlan) -> dict[int, str]:
    return {r.line: r.problem.code if r.problem else r.action for r in plan.rows}


def test_a_quirky_export_is_judged_row_by_row_and_refused_whole(
    session: Session, actor: Actor
) -> None:
    before = _counts(session)
    preview = plan_import(session, actor=actor, content=_excel(QUIRKY), now=NOW)
    assert preview.problem is None
    assert preview.encoding == "utf-8-sig"
    assert preview.ignored == ["Bemærkning"]
    assert _outcomes(preview) == {
        2: "create",
        3: "import.duplicate_number",
        4: "import.bad_email",
        5: "import.unknown_district",
        7: "import.duplicate_number",
        8: "import.unknown_title",
        9: "import.bad_date",
        10: "create",
    }
    rows = {r.line: r for r in preview.rows}
    first = rows[2]
    assert (first.employee_number, first.full_name) == ("E100", "Søren Østergård")
    assert first.email == "soeren.oestergaard@kk.example"
    assert first.starts_on == dt.date(2027, 3, 1)
    assert first.roles == [e.Role.CARE_WORKER]
    assert rows[10].starts_on == dt.date(2027, 1, 5)
    assert rows[10].roles == [e.Role.DISTRICT_LEAD]
    reasons = {n: r.problem for n, r in rows.items() if r.problem}
    assert "linje 7" in reasons[3].message_da
    assert "line 7" in reasons[3].message_en
    assert "linje 3" in reasons[7].message_da
    assert "Stillinger og roller" in reasons[8].message_da
    assert "/employees/job-titles" in reasons[8].message_en
    assert "31-02-2027" in reasons[9].message_da
    assert "D99" in reasons[5].message_en
    assert not preview.importable
    assert _counts(session) == before

    # Confirming the very plan the user saw still writes nothing: a row is rejected.
    refused = plan_import(
        session, actor=actor, content=_excel(QUIRKY), now=NOW, commit_if=preview.digest
    )
    assert refused.digest == preview.digest
    assert not refused.written
    assert _counts(session) == before


@pytest.mark.parametrize("encoding", ["utf-8-sig", "cp1252"])
def test_the_corrected_export_imports_completely(
    session: Session, actor: Actor, encoding: str
) -> None:
    content = _excel(CLEAN, encoding)
    preview = plan_import(session, actor=actor, content=content, now=NOW)
    assert preview.encoding == encoding
    assert _outcomes(preview) == {2: "create", 3: "create", 4: "create", 6: "create"}
    assert preview.importable
    done = plan_import(session, actor=actor, content=content, now=NOW, commit_if=preview.digest)
    assert done.written
    found = {
        x.employee_number: x
        for x in session.execute(
            select(m.Employee).where(m.Employee.employee_number.like("E1%"))
        ).scalars()
    }
    assert sorted(found) == ["E100", "E101", "E102", "E106"]
    assert found["E100"].full_name == "Søren Østergård"
    assert found["E100"].email == "soeren.oestergaard@kk.example"
    assert found["E100"].starts_on == dt.date(2027, 3, 1)
    assert found["E101"].full_name == "Åse Æblemand"
    assert found["E102"].email == "bo@kk.example"
    assert found["E106"].starts_on == dt.date(2027, 1, 5)
    assert {r.role for r in found["E106"].roles} == {e.Role.DISTRICT_LEAD}
    created = session.execute(
        select(func.count())
        .select_from(m.AdminAction)
        .where(m.AdminAction.action == "employee.created")
    ).scalar_one()
    assert created == 4

    again = plan_import(session, actor=actor, content=content, now=NOW)
    assert set(_outcomes(again).values()) == {"unchanged"}
    moved = content.replace(b"2027-03-15", b"2027-04-01")
    later = plan_import(session, actor=actor, content=moved, now=NOW)
    assert _outcomes(later)[3] == "update"


def test_a_job_title_the_municipality_adds_is_used_and_a_lead_gives_only_care_work(
    session: Session, actor: Actor
) -> None:
    lines = [HEADER, "E104;Eva;Ek;;Kok;D01;;", "E107;Ida;Is;;Leder;D01;;"]
    assert _outcomes(plan_import(session, actor=actor, content=_excel(lines), now=NOW)) == {
        2: "import.unknown_title",
        3: "create",
    }
    job_titles.add_job_title(session, actor=actor, title="  KOK ", role="plejemedarbejder", now=NOW)
    plan = plan_import(session, actor=actor, content=_excel(lines), now=NOW)
    assert _outcomes(plan) == {2: "create", 3: "create"}
    assert plan.rows[0].roles == [e.Role.CARE_WORKER]

    district = session.execute(select(m.District)).scalars().first()
    assert district is not None
    lead = m.Employee(
        municipality_id=actor.municipality_id,
        employee_number="L1",
        full_name="Lise Leder",
        roles=[m.EmployeeRole(role=e.Role.DISTRICT_LEAD)],
    )
    session.add(lead)
    session.flush()
    session.add(
        m.EmployeeDistrict(
            employee_id=lead.id, district_id=district.id, municipality_id=actor.municipality_id
        )
    )
    session.flush()
    as_lead = Actor(
        lead.id,
        actor.municipality_id,
        frozenset({e.Role.DISTRICT_LEAD}),
        "Lise",
        frozenset({district.id}),
    )
    judged = plan_import(session, actor=as_lead, content=_excel(lines), now=NOW)
    assert _outcomes(judged) == {2: "create", 3: "employee.role_not_assignable"}
