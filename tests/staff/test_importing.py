"""Importing employees from CSV as a use case: a preview writes nothing, a confirmation keeps
exactly the accepted rows, and every rejection carries a stable code with Danish and English."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from carekey.domain import enums as e
from carekey.staff.importing import plan_import
from carekey.store import models as m
from tests.store.actors import administrator
from tests.store.factories import make_world

NOW = dt.datetime(2026, 11, 26, 7, 0, tzinfo=dt.UTC)
CSV = (
    "medarbejdernummer;navn;email;roller;distrikter\n"
    "X1;Anna Andersen;;plejemedarbejder;D01\n"
    "X2;Bo Bak;;trylleri;D01\n"
    "X3;Cia Cold;;plejemedarbejder;D99\n"
    "X1;Anna Igen;;plejemedarbejder;D01\n"
    "X4;Dan Dyr\n"
    "X5;;;plejemedarbejder;D01\n"
)


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine) as db:
        yield db


def _imported(db: Session) -> set[str]:
    return set(
        db.execute(
            select(m.Employee.employee_number).where(m.Employee.employee_number.like("X%"))
        ).scalars()
    )


def test_a_preview_writes_nothing_and_a_file_with_a_rejected_row_is_refused_whole(
    session: Session,
) -> None:
    world = make_world(session)
    actor = administrator(world, session)
    actions = session.execute(select(func.count()).select_from(m.AdminAction)).scalar_one()

    preview = plan_import(session, actor=actor, content=CSV.encode(), now=NOW)
    assert preview.problem is None
    assert preview.accepted == []
    rejected = {r.line: r.problem.code for r in preview.rejected if r.problem}
    assert rejected == {
        2: "import.duplicate_number",
        3: "import.unknown_role",
        4: "import.unknown_district",
        5: "import.duplicate_number",
        6: "import.no_role",  # a short line is padded (Excel leaves out empty fields at the end)
        7: "employee.bad_name",
    }
    by_line = {r.line: r.problem for r in preview.rejected if r.problem}
    assert by_line[3].message_da.startswith("Ukendt rolle: trylleri.")
    assert by_line[3].message_en.startswith("Unknown role: trylleri.")
    assert by_line[5].message_en.startswith("The employee number is also on line 2;")
    assert _imported(session) == set()

    refused = plan_import(
        session, actor=actor, content=CSV.encode(), now=NOW, commit_if=preview.digest
    )
    assert not refused.written
    assert _imported(session) == set()  # one rejected row keeps the whole file out

    clean = (
        "medarbejdernummer;navn;email;roller;distrikter\nX1;Anna Andersen;;plejemedarbejder;D01\n"
    )
    plan = plan_import(session, actor=actor, content=clean.encode(), now=NOW)
    wrong = plan_import(session, actor=actor, content=clean.encode(), now=NOW, commit_if="x")
    assert wrong.digest == plan.digest
    assert not wrong.written
    assert _imported(session) == set()  # a digest that does not match keeps nothing

    done = plan_import(session, actor=actor, content=clean.encode(), now=NOW, commit_if=plan.digest)
    assert done.written
    assert _imported(session) == {"X1"}
    after = session.execute(select(func.count()).select_from(m.AdminAction)).scalar_one()
    assert after == actions + 1
    again = plan_import(session, actor=actor, content=clean.encode(), now=NOW)
    assert again.accepted[0].action == "unchanged"
    assert again.digest != plan.digest  # what a confirmation promised no longer holds


def test_problems_with_the_whole_file_and_a_file_in_windows_1252(session: Session) -> None:
    world = make_world(session)
    actor = administrator(world, session)
    assert plan_import(session, actor=actor, content=b"", now=NOW).problem is not None
    headless = plan_import(session, actor=actor, content=b"a;b\n1;2\n", now=NOW)
    assert headless.problem is not None
    assert headless.problem.code == "import.no_header"
    windows = "medarbejdernummer;navn\nX9;Søren Sø\n".encode("cp1252")
    plan = plan_import(session, actor=actor, content=windows, now=NOW)
    assert plan.encoding == "cp1252"
    assert plan.encoding_label == "Windows-1252"
    assert plan.rows[0].full_name == "Søren Sø"
    hinted = plan_import(
        session, actor=actor, content=b"sep=,\r\nnavn,medarbejdernr\r\nOle,X6\r\n", now=NOW
    )
    assert [(r.line, r.employee_number, r.full_name) for r in hinted.rows] == [(3, "X6", "Ole")]
    too_long = "medarbejdernummer;navn\nX8;Ole;;overflødig\n".encode()
    assert plan_import(session, actor=actor, content=too_long, now=NOW).rows[0].problem


def test_an_existing_number_is_matched_in_any_case_and_kept_as_stored(session: Session) -> None:
    world = make_world(session)
    actor = administrator(world, session)
    session.add(
        m.Employee(
            municipality_id=world.municipality.id,
            employee_number="x300",
            full_name="Lille Bogstav",
            roles=[m.EmployeeRole(role=e.Role.CARE_WORKER)],
        )
    )
    session.flush()
    content = b"Medarbejdernr.;Navn\n X300 ;Lille Bogstav-Hansen\n"
    plan = plan_import(session, actor=actor, content=content, now=NOW)
    assert [(r.action, r.employee_number) for r in plan.rows] == [("update", "x300")]
    done = plan_import(session, actor=actor, content=content, now=NOW, commit_if=plan.digest)
    assert done.written
    numbers = session.execute(
        select(m.Employee.employee_number, m.Employee.full_name).where(
            func.lower(m.Employee.employee_number) == "x300"
        )
    ).all()
    assert [tuple(r) for r in numbers] == [("x300", "Lille Bogstav-Hansen")]
