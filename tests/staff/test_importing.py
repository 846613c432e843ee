"""Importing employees from CSV as a use case: a preview writes nothing, a confirmation keeps
exactly the accepted rows, and every rejection carries a stable code with Danish and English."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

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


def test_a_preview_writes_nothing_and_a_confirmation_keeps_exactly_the_accepted_rows(
    session: Session,
) -> None:
    world = make_world(session)
    actor = administrator(world, session)
    actions = session.execute(select(func.count()).select_from(m.AdminAction)).scalar_one()

    preview = plan_import(session, actor=actor, content=CSV.encode(), now=NOW)
    assert preview.problem is None
    assert [(r.line, r.action) for r in preview.accepted] == [(2, "create")]
    rejected = {r.line: r.problem.code for r in preview.rejected if r.problem}
    assert rejected == {
        3: "import.unknown_role",
        4: "import.unknown_district",
        5: "import.duplicate_number",
        6: "import.wrong_field_count",
        7: "employee.bad_name",
    }
    by_line = {r.line: r.problem for r in preview.rejected if r.problem}
    assert by_line[3].message_da == "Ukendt rolle: trylleri."
    assert by_line[3].message_en == "Unknown role: trylleri."
    assert by_line[5].message_en == "The employee number is also on line 2."
    assert _imported(session) == set()

    wrong = plan_import(session, actor=actor, content=CSV.encode(), now=NOW, commit_if="x")
    assert wrong.digest == preview.digest
    assert _imported(session) == set()  # a digest that does not match keeps nothing

    plan_import(session, actor=actor, content=CSV.encode(), now=NOW, commit_if=preview.digest)
    assert _imported(session) == {"X1"}
    after = session.execute(select(func.count()).select_from(m.AdminAction)).scalar_one()
    assert after == actions + 1
    again = plan_import(session, actor=actor, content=CSV.encode(), now=NOW)
    assert again.accepted[0].action == "unchanged"
    assert again.digest != preview.digest  # what a confirmation promised no longer holds


def test_problems_with_the_whole_file_and_a_file_not_in_utf8(session: Session) -> None:
    world = make_world(session)
    actor = administrator(world, session)
    assert plan_import(session, actor=actor, content=b"", now=NOW).problem is not None
    headless = plan_import(session, actor=actor, content=b"a;b\n1;2\n", now=NOW)
    assert headless.problem is not None
    assert headless.problem.code == "import.no_header"
    windows = "medarbejdernummer;navn\nX9;Søren Sø\n".encode("cp1252")
    plan = plan_import(session, actor=actor, content=windows, now=NOW)
    assert plan.warning is not None
    assert plan.warning.code == "import.not_utf8"
    assert plan.rows[0].full_name == "Søren Sø"
